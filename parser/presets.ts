/**
 * Access-log formats that Envoy and Istio write by default, generation by generation.
 * Strings are exact (see ../shared/notes/envoy-formats.md §1–2); the trailing `\n` is dropped because lines
 * reach the parser already split.
 */

export interface Preset {
  name: string;
  description: string;
  format: string;
}

const HEAD =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%';
const MIDDLE =
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"';
const ADDRESSES = '%UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%';
const MIXER = '"%DYNAMIC_METADATA(istio.mixer:status)%"';
const TRANSPORT = '"%UPSTREAM_TRANSPORT_FAILURE_REASON%"';

export const PRESETS: readonly Preset[] = [
  {
    name: 'istio',
    description: 'Istio 1.23+ default TEXT format (%UPSTREAM_CLUSTER_RAW%)',
    format: `${HEAD} %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ${TRANSPORT} ${MIDDLE} %UPSTREAM_CLUSTER_RAW% ${ADDRESSES} %REQUESTED_SERVER_NAME% %ROUTE_NAME%`,
  },
  {
    name: 'istio-1.9',
    description: 'Istio 1.9–1.22 default TEXT format (%UPSTREAM_CLUSTER%)',
    format: `${HEAD} %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ${TRANSPORT} ${MIDDLE} %UPSTREAM_CLUSTER% ${ADDRESSES} %REQUESTED_SERVER_NAME% %ROUTE_NAME%`,
  },
  {
    name: 'istio-1.8',
    description: 'Istio 1.8 (and 1.9–1.10 for older proxies): Mixer status gone',
    format: `${HEAD} ${TRANSPORT} ${MIDDLE} %UPSTREAM_CLUSTER% ${ADDRESSES} %REQUESTED_SERVER_NAME% %ROUTE_NAME%`,
  },
  {
    name: 'istio-1.3',
    description: 'Istio 1.3–1.7: Mixer status, transport failure reason, route name',
    format: `${HEAD} ${MIXER} ${TRANSPORT} ${MIDDLE} %UPSTREAM_CLUSTER% ${ADDRESSES} %REQUESTED_SERVER_NAME% %ROUTE_NAME%`,
  },
  {
    name: 'istio-1.2',
    description: 'Istio 1.2 (and 1.3–1.5 for older proxies): Mixer status and transport failure reason',
    format: `${HEAD} ${MIXER} ${TRANSPORT} ${MIDDLE} %UPSTREAM_CLUSTER% ${ADDRESSES} %REQUESTED_SERVER_NAME%`,
  },
  {
    name: 'istio-1.1',
    description: 'Istio 1.1: quoted Mixer status after the response flags',
    format: `${HEAD} ${MIXER} ${MIDDLE} %UPSTREAM_CLUSTER% ${ADDRESSES} %REQUESTED_SERVER_NAME%`,
  },
  {
    name: 'istio-1.1-pre',
    description:
      'Istio 1.0/1.1-era format ending in %REQUESTED_SERVER_NAME% (the "Accessing External Services" page)',
    format: `${HEAD} ${MIDDLE} %UPSTREAM_CLUSTER% ${ADDRESSES} %REQUESTED_SERVER_NAME%`,
  },
  {
    name: 'istio-1.0-http',
    description: 'Istio 1.0.3–1.0.9 HTTP listeners (no space between path and protocol, as shipped)',
    format:
      '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%%PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
      `${MIDDLE} %UPSTREAM_CLUSTER% ${ADDRESSES}`,
  },
  {
    name: 'istio-1.0-tcp',
    description: 'Istio 1.0.3–1.0.9 TCP listeners',
    format: `[%START_TIME%] %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% ${ADDRESSES}`,
  },
  {
    name: 'envoy',
    description: "Envoy's default format",
    format: `${HEAD} ${MIDDLE}`,
  },
];

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}
