/** Response flags: Envoy's long (PascalCase) names mapped to the short ones reports group by. */

const LONG_TO_SHORT: Record<string, string> = {
  NoHealthyUpstream: 'UH',
  UpstreamConnectionFailure: 'UF',
  UpstreamOverflow: 'UO',
  NoRouteFound: 'NR',
  UpstreamRetryLimitExceeded: 'URX',
  NoClusterFound: 'NC',
  DurationTimeout: 'DT',
  DownstreamConnectionTermination: 'DC',
  FailedLocalHealthCheck: 'LH',
  UpstreamRequestTimeout: 'UT',
  LocalReset: 'LR',
  UpstreamRemoteReset: 'UR',
  UpstreamConnectionTermination: 'UC',
  DelayInjected: 'DI',
  FaultInjected: 'FI',
  RateLimited: 'RL',
  UnauthorizedExternalService: 'UAEX',
  RateLimitServiceError: 'RLSE',
  InvalidEnvoyRequestHeaders: 'IH',
  StreamIdleTimeout: 'SI',
  DownstreamProtocolError: 'DPE',
  UpstreamProtocolError: 'UPE',
  UpstreamMaxStreamDurationReached: 'UMSDR',
  ResponseFromCacheFilter: 'RFCF',
  NoFilterConfigFound: 'NFCF',
  OverloadManagerTerminated: 'OM',
  DnsResolutionFailed: 'DF',
  DropOverload: 'DO',
  DownstreamRemoteReset: 'DR',
  UnconditionalDropOverload: 'UDO',
};

/** Splits `UF,URX` into its flags; long names become short ones; unknown (custom) flags are kept. */
export function splitFlags(flags: string | null): string[] {
  if (flags === null || flags === '' || flags === '-') return [];
  return flags.split(',').map((f) => LONG_TO_SHORT[f.trim()] ?? f.trim());
}

/** The short form of a flags string, so `response_flags` compares the same whichever operator wrote it. */
export function shortFlags(flags: string): string {
  return splitFlags(flags).join(',');
}
