/**
 * Envoy/Istio JSON access logs, both the all-strings style (`"-"` for unset, Istio ≤1.7) and the typed style
 * (numbers, null; Istio ≥1.8), keys in any order. Also the records Fluent Bit's envoy regex parsers emit,
 * whose keys differ slightly (`code`, `x_envoy_upstream_service_time`).
 */
import { splitFlags } from './flags.js';
import { jsonErrorOffset } from './json-error-offset.js';
import { type AccessRecord, emptyRecord, INT_FIELDS, ParseFailure, STRING_FIELDS } from './record.js';
import { isoTextToMs } from './time.js';

const ALIASES: Record<string, string> = {
  code: 'response_code',
  x_envoy_upstream_service_time: 'upstream_service_time',
  x_request_id: 'request_id',
  ':authority': 'authority',
  'x-request-id': 'request_id',
  'x-forwarded-for': 'x_forwarded_for',
  'user-agent': 'user_agent',
  ':method': 'method',
  ':path': 'path',
  response_flags_long: 'response_flags',
};

const INTS = new Set<string>(INT_FIELDS);
const STRINGS = new Set<string>(STRING_FIELDS);

/** Keys that mark an object as an access-log entry rather than some other JSON. */
const EVIDENCE = [
  'response_code',
  'response_flags',
  'upstream_cluster',
  'upstream_host',
  'duration',
  'bytes_sent',
];

export function parseJsonLine(line: string): AccessRecord | ParseFailure {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return new ParseFailure(`invalid JSON: ${(err as Error).message}`, jsonErrorOffset(line, err), line);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new ParseFailure('a JSON access-log line must be an object', 0, line);
  }
  return recordFromObject(value as Record<string, unknown>, line);
}

/** Maps an already-decoded access-log object to a record; `raw` is kept for the failure case. */
export function recordFromObject(obj: Record<string, unknown>, raw: string): AccessRecord | ParseFailure {
  const record = emptyRecord('json');
  const target = record as unknown as Record<string, unknown>;
  let evidence = 0;
  for (const key of Object.keys(obj)) {
    const name = ALIASES[key] ?? key;
    const value = obj[key];
    if (name === 'start_time') {
      const text = unset(value) ? null : String(value);
      record.start_time = text;
      if (text !== null) {
        const ms = timeMs(text);
        if (Number.isNaN(ms))
          return new ParseFailure(`start_time is not a valid time: ${JSON.stringify(text)}`, 0, raw);
        record.start_time_ms = ms;
      }
    } else if (INTS.has(name)) {
      const n = toInt(value);
      if (n === undefined)
        return new ParseFailure(`${name} is not an integer: ${JSON.stringify(value)}`, 0, raw);
      target[name] = n;
    } else if (STRINGS.has(name)) {
      let text = unset(value) ? null : typeof value === 'string' ? value : JSON.stringify(value);
      if (name === 'upstream_cluster' && text?.endsWith(';')) text = text.slice(0, -1);
      target[name] = text;
    } else {
      // defineProperty, not assignment: a `__proto__` key in the log must stay data, not become a prototype.
      Object.defineProperty((record.extra ??= {}), key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      continue;
    }
    if (EVIDENCE.includes(name)) evidence++;
  }
  if (record.start_time === null) return new ParseFailure('the JSON object has no start_time', 0, raw);
  if (evidence === 0) return new ParseFailure('the JSON object has none of the access-log keys', 0, raw);
  record.response_flags_list = splitFlags(record.response_flags);
  if (record.response_flags !== null) record.response_flags = record.response_flags_list.join(',') || null;
  return record;
}

function unset(value: unknown): boolean {
  return value === null || value === undefined || value === '-' || value === '';
}

function toInt(value: unknown): number | null | undefined {
  if (unset(value)) return null;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

function timeMs(text: string): number {
  const ms = isoTextToMs(text);
  if (!Number.isNaN(ms)) return ms;
  const fallback = Date.parse(text);
  return Number.isNaN(fallback) ? Number.NaN : fallback;
}
