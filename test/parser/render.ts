/**
 * Test helper: renders an Envoy TEXT format string with chosen field values, the way Envoy would (values
 * inserted verbatim, unset as `-`), and checks parsed records against those values.
 *
 * It deliberately has its own small format-string tokenizer instead of reusing the parser's, so a bug in
 * the parser's tokenizer cannot hide itself.
 */
import { expect } from 'vitest';
import type { AccessRecord, ParseFailure } from '../../parser/index.js';
import { isParseFailure, PRESETS } from '../../parser/index.js';

/** A value per field key; `null` renders as `-` (unset). Integers may be numbers or strings. */
export type FieldValue = string | number | null;
export type Values = Record<string, FieldValue>;

export interface FormatOperator {
  name: string;
  arg: string | undefined;
  text: string;
}

export type FormatPart = { literal: string } | { operator: FormatOperator };

/** Splits an Envoy format string into literal text and operators (`%%` is a literal `%`). */
export function splitFormat(format: string): FormatPart[] {
  const parts: FormatPart[] = [];
  let literal = '';
  let i = 0;
  while (i < format.length) {
    if (format[i] !== '%') {
      literal += format[i];
      i++;
      continue;
    }
    if (format[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    let j = i + 1;
    while (j < format.length && /[A-Z0-9_]/.test(format[j]!)) j++;
    const name = format.slice(i + 1, j);
    let arg: string | undefined;
    if (format[j] === '(') {
      let depth = 0;
      let k = j;
      for (; k < format.length; k++) {
        if (format[k] === '(') depth++;
        else if (format[k] === ')' && --depth === 0) break;
      }
      arg = format.slice(j + 1, k);
      j = k + 1;
    }
    if (format[j] === ':') {
      j++;
      while (j < format.length && /[0-9]/.test(format[j]!)) j++;
    }
    if (format[j] !== '%') throw new Error(`test renderer: cannot read the operator at ${i} of ${format}`);
    if (literal) parts.push({ literal });
    literal = '';
    parts.push({ operator: { name, arg, text: format.slice(i, j + 1) } });
    i = j + 1;
  }
  if (literal) parts.push({ literal });
  return parts;
}

const HEADER_KEYS: Record<string, string> = {
  ':METHOD': 'method',
  ':PATH': 'path',
  'X-ENVOY-ORIGINAL-PATH?:PATH': 'path',
  'X-FORWARDED-FOR': 'x_forwarded_for',
  'USER-AGENT': 'user_agent',
  'X-REQUEST-ID': 'request_id',
  ':AUTHORITY': 'authority',
};

/**
 * The value key an operator renders from: Istio's JSON key names for the well-known operators,
 * `istio_policy_status` for Mixer's status, otherwise the operator text without its `%` signs.
 */
export function operatorKey(op: FormatOperator): string {
  if (op.name === 'REQ' && op.arg !== undefined && HEADER_KEYS[op.arg]) return HEADER_KEYS[op.arg]!;
  if (op.name === 'RESP' && op.arg === 'X-ENVOY-UPSTREAM-SERVICE-TIME') return 'upstream_service_time';
  if (op.name === 'DYNAMIC_METADATA' && op.arg === 'istio.mixer:status') return 'istio_policy_status';
  if (op.name === 'UPSTREAM_CLUSTER_RAW') return 'upstream_cluster';
  if (op.name === 'START_TIME') return 'start_time';
  if (op.arg === undefined && /^[A-Z_]+$/.test(op.name) && CANONICAL_OPERATORS.has(op.name)) {
    return op.name.toLowerCase();
  }
  return op.text.slice(1, -1);
}

const CANONICAL_OPERATORS = new Set([
  'START_TIME',
  'PROTOCOL',
  'RESPONSE_CODE',
  'RESPONSE_FLAGS',
  'RESPONSE_CODE_DETAILS',
  'CONNECTION_TERMINATION_DETAILS',
  'UPSTREAM_TRANSPORT_FAILURE_REASON',
  'BYTES_RECEIVED',
  'BYTES_SENT',
  'DURATION',
  'UPSTREAM_HOST',
  'UPSTREAM_CLUSTER',
  'UPSTREAM_LOCAL_ADDRESS',
  'DOWNSTREAM_LOCAL_ADDRESS',
  'DOWNSTREAM_REMOTE_ADDRESS',
  'REQUESTED_SERVER_NAME',
  'ROUTE_NAME',
]);

/** The value keys a format uses, in order (a key used twice appears twice). */
export function formatKeys(format: string): string[] {
  return splitFormat(format).flatMap((p) => ('operator' in p ? [operatorKey(p.operator)] : []));
}

/** Renders `format` with `values` (throws if the test forgot a value: that is a test bug, not a parser bug). */
export function render(format: string, values: Values): string {
  return splitFormat(format)
    .map((p) => {
      if ('literal' in p) return p.literal;
      const key = operatorKey(p.operator);
      if (!(key in values)) throw new Error(`test renderer: no value for ${key} (${p.operator.text})`);
      const v = values[key];
      return v === null || v === undefined ? '-' : String(v);
    })
    .join('');
}

export function presetFormat(name: string): string {
  const preset = PRESETS.find((p) => p.name === name);
  if (!preset) throw new Error(`test: no preset ${name}`);
  return preset.format;
}

export const INT_KEYS = new Set([
  'response_code',
  'bytes_received',
  'bytes_sent',
  'duration',
  'upstream_service_time',
]);

/** Epoch ms of an ISO start time as Envoy writes it (independent of the parser's own time code). */
export function isoMs(text: string): number {
  return Date.parse(text);
}

/** Asserts the parse succeeded, with the failure in the message if not. */
export function ok(result: AccessRecord | ParseFailure): AccessRecord {
  if (isParseFailure(result)) {
    throw new Error(
      `expected a record, got ParseFailure: ${result.error} at ${result.offset} of ${result.raw}`,
    );
  }
  return result;
}

/** Short flag names, for expectations on `response_flags_list`. */
export function flagList(flags: FieldValue): string[] {
  if (flags === null || flags === '-' || flags === '') return [];
  return String(flags).split(',');
}

/**
 * What the record must hold for each key of `format` rendered with `values`: integers as numbers, `-` as
 * null, a trailing `;` stripped from the cluster, Mixer status and other operators in `extra`.
 */
export function expectRecord(
  record: AccessRecord,
  format: string,
  values: Values,
  only: (key: string) => boolean = () => true,
): void {
  const seen = new Set<string>();
  for (const key of formatKeys(format)) {
    if (seen.has(key) || !only(key)) continue;
    seen.add(key);
    const raw = values[key] ?? null;
    const text = raw === null || raw === '-' ? null : String(raw);
    if (key === 'start_time') {
      expect(record.start_time, 'start_time').toBe(text);
      continue;
    }
    if (INT_KEYS.has(key)) {
      expect(record[key as 'duration'], key).toBe(text === null ? null : Number(text));
      continue;
    }
    if (key === 'upstream_cluster') {
      expect(record.upstream_cluster, key).toBe(text?.endsWith(';') ? text.slice(0, -1) : text);
      continue;
    }
    if (key === 'response_flags') {
      expect(record.response_flags, key).toBe(text);
      expect(record.response_flags_list, 'response_flags_list').toEqual(flagList(text));
      continue;
    }
    // Anything else lives in extra under its derived name; the callers check those names explicitly.
    if (key in record && key !== 'extra' && key !== 'format') {
      expect(record[key as 'method'], key).toBe(text);
    }
  }
}

/** A full set of values for every operator the presets use: a plain in-mesh HTTP request. */
export function httpValues(overrides: Values = {}): Values {
  return {
    start_time: '2024-03-05T07:08:09.123Z',
    method: 'POST',
    path: '/api/v1/items?page=2&size=50',
    protocol: 'HTTP/1.1',
    response_code: 201,
    response_flags: null,
    response_code_details: 'via_upstream',
    connection_termination_details: null,
    upstream_transport_failure_reason: null,
    istio_policy_status: null,
    bytes_received: 154,
    bytes_sent: 2381,
    duration: 12,
    upstream_service_time: 11,
    x_forwarded_for: '203.0.113.7, 10.0.0.1',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)',
    request_id: '17fde8f7-fa62-9b39-8999-302324e6def2',
    authority: 'reviews.shop:9080',
    upstream_host: '10.244.7.21:9080',
    upstream_cluster: 'outbound|9080|v1|reviews.shop.svc.cluster.local',
    upstream_local_address: '10.244.3.4:40118',
    downstream_local_address: '10.96.12.13:9080',
    downstream_remote_address: '10.244.3.4:40116',
    requested_server_name: 'outbound_.9080_.v1_.reviews.shop.svc.cluster.local',
    route_name: 'default',
    ...overrides,
  };
}

/** Every field unset except the start time (Envoy always has one). */
export function dashValues(overrides: Values = {}): Values {
  const v: Values = {};
  for (const key of Object.keys(httpValues())) v[key] = null;
  v.start_time = '2024-03-05T07:08:09.000Z';
  return { ...v, ...overrides };
}

/** A TCP connection as Istio logs it: `"- - -" 0 ...`. */
export function tcpValues(overrides: Values = {}): Values {
  return dashValues({
    start_time: '2019-01-24T12:48:54.977Z',
    response_code: 0,
    bytes_received: 601,
    bytes_sent: 17766,
    duration: 1289,
    upstream_host: '172.217.161.36:443',
    upstream_cluster: 'outbound|443||www.google.com',
    upstream_local_address: '172.30.109.82:59480',
    downstream_local_address: '172.217.161.36:443',
    downstream_remote_address: '172.30.109.82:59478',
    requested_server_name: 'www.google.com',
    ...overrides,
  });
}
