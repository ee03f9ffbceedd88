/**
 * Request bodies as Fluent Bit's `http` output writes them, built independently of the decoder under test:
 * `format json` (one array), `json_lines` (NDJSON), `json_stream` (objects back to back), `msgpack` (legacy
 * `[ts, record]` and v2 `[[EventTime, meta], record]` events, EventTime being msgpack ext type 0).
 */
import { gzipSync } from 'node:zlib';
import { ExtData, encode } from '@msgpack/msgpack';

export type FluentFormat = 'json' | 'json_lines' | 'json_stream' | 'msgpack_legacy' | 'msgpack_v2';

export const FLUENT_FORMATS: readonly FluentFormat[] = [
  'json',
  'json_lines',
  'json_stream',
  'msgpack_legacy',
  'msgpack_v2',
];

/** One record before Fluent Bit serialises it: its event time (epoch seconds, with fraction) and its map. */
export interface FluentEvent {
  time: number;
  record: Record<string, unknown>;
}

export interface FluentBody {
  body: Buffer;
  headers: Record<string, string>;
}

/** Fluent Bit's EventTime: big-endian uint32 seconds, uint32 nanoseconds, as msgpack extension type 0. */
export function eventTime(seconds: number, nanoseconds = 0): ExtData {
  const data = new Uint8Array(8);
  const view = new DataView(data.buffer);
  view.setUint32(0, seconds >>> 0);
  view.setUint32(4, nanoseconds >>> 0);
  return new ExtData(0, data);
}

/** For the JSON formats the http output inserts `json_date_key` (default `date`, format double) first. */
function withDate(e: FluentEvent): Record<string, unknown> {
  return { date: e.time, ...e.record };
}

export function fluentBody(
  events: FluentEvent[],
  format: FluentFormat,
  opts: { gzip?: boolean; groups?: boolean } = {},
): FluentBody {
  let body: Buffer;
  let type: string;
  switch (format) {
    case 'json':
      body = Buffer.from(JSON.stringify(events.map(withDate)));
      type = 'application/json';
      break;
    case 'json_lines':
      body = Buffer.from(events.map((e) => `${JSON.stringify(withDate(e))}\n`).join(''));
      type = 'application/x-ndjson';
      break;
    case 'json_stream':
      body = Buffer.from(events.map((e) => JSON.stringify(withDate(e))).join(''));
      type = 'application/json';
      break;
    case 'msgpack_legacy':
      // Integer seconds for even events, float seconds for odd ones: both occur in the wild.
      body = Buffer.concat(
        events.map((e, i) => encode([i % 2 === 0 ? Math.floor(e.time) : e.time, e.record])),
      );
      type = 'application/msgpack';
      break;
    case 'msgpack_v2': {
      const parts = events.map((e) => {
        const s = Math.floor(e.time);
        return encode([[eventTime(s, Math.round((e.time - s) * 1e9)), {}], e.record]);
      });
      if (opts.groups) {
        // OpenTelemetry group markers (seconds -1 / -2) around the events: not records.
        parts.unshift(encode([[eventTime(-1), { otlp: {} }], { resource: { attributes: {} } }]));
        parts.push(encode([[eventTime(-2), {}], {}]));
      }
      body = Buffer.concat(parts);
      type = 'application/msgpack';
      break;
    }
  }
  const headers: Record<string, string> = { 'content-type': type };
  if (opts.gzip) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  return { body, headers };
}

/** The `kubernetes` map the kubernetes filter adds (the keys egresslens reads plus some it must ignore). */
export function kubernetesMeta(m: {
  namespace: string;
  pod: string;
  container?: string;
  node?: string;
  labels?: Record<string, string>;
  ownerReferences?: Array<{ kind: string; name: string }>;
}): Record<string, unknown> {
  const k: Record<string, unknown> = {
    pod_name: m.pod,
    namespace_name: m.namespace,
    pod_id: '3f1c0d8e-9a2b-4c6d-8e0f-1a2b3c4d5e6f',
    host: m.node ?? 'node-a',
    pod_ip: '10.244.1.7',
    container_name: m.container ?? 'istio-proxy',
    docker_id: 'abc123',
    container_hash: 'docker.io/istio/proxyv2@sha256:0123',
    container_image: 'docker.io/istio/proxyv2:1.22.0',
    annotations: { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' },
  };
  if (m.labels) k['labels'] = m.labels;
  if (m.ownerReferences) k['ownerReferences'] = m.ownerReferences;
  return k;
}

/** `tail` + docker parser + kubernetes filter: the raw line in `log` with its newline. */
export function tailDockerRecord(line: string, kubernetes: Record<string, unknown>): Record<string, unknown> {
  return { log: `${line}\n`, stream: 'stdout', time: '2026-11-01T00:00:00.003456789Z', kubernetes };
}

/** `tail` + the legacy cri parser + kubernetes filter: the raw line in `message`. */
export function tailCriRecord(line: string, kubernetes: Record<string, unknown>): Record<string, unknown> {
  return { time: '2026-11-01T00:00:00.1Z', stream: 'stdout', logtag: 'F', message: line, kubernetes };
}
