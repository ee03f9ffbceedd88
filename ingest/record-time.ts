/**
 * The timestamp Fluent Bit puts in each record it serialises as JSON: the http output's `json_date_key` (default
 * `date`) and the kafka output's `timestamp_key` (default `@timestamp`) are inserted as the first key, formatted as
 * `double` (epoch seconds with fraction), `epoch`, `epoch_ms`, `iso8601`, `iso8601_ns` or `java_sql_timestamp`
 * (`2018-05-30 09:39:52.000681`, UTC).
 */
import { INT_FIELDS, STRING_FIELDS } from '../parser/index.js';
import { isoTextToMs } from '../parser/time.js';

/** Names tried, in order, when the first key is not a timestamp (e.g. `json_date_key false` and a docker `time`). */
export const KNOWN_DATE_KEYS = ['date', '@timestamp', 'timestamp', 'time'] as const;

/** Keys that are never the Fluent Bit date key even when first and time-like. */
const NEVER_DATE = new Set<string>([
  'start_time',
  ...STRING_FIELDS,
  ...INT_FIELDS,
  'code',
  'x_envoy_upstream_service_time',
  'log',
  'message',
  'stream',
  'kubernetes',
]);

// A date key under another name is only believed when its value falls in [2000-01-01, 2100-01-01).
const PLAUSIBLE_FROM_MS = 946_684_800_000;
const PLAUSIBLE_TO_MS = 4_102_444_800_000;

export interface RecordDate {
  key: string;
  ms: number;
}

/** The record's date key and its time in epoch ms, or undefined when it has none. */
export function findRecordDate(record: Record<string, unknown>): RecordDate | undefined {
  let first: string | undefined;
  for (const key in record) {
    if (Object.hasOwn(record, key)) {
      first = key;
      break;
    }
  }
  if (first !== undefined && !NEVER_DATE.has(first)) {
    const ms = timeValueToMs(record[first]);
    const known = (KNOWN_DATE_KEYS as readonly string[]).includes(first);
    if (ms !== undefined && (known || (ms >= PLAUSIBLE_FROM_MS && ms < PLAUSIBLE_TO_MS)))
      return { key: first, ms };
  }
  for (const key of KNOWN_DATE_KEYS) {
    if (key === first || !Object.hasOwn(record, key)) continue;
    const ms = timeValueToMs(record[key]);
    if (ms !== undefined) return { key, ms };
  }
  return undefined;
}

/**
 * Epoch ms of a timestamp value: a number (or numeric string) of epoch seconds, ms, µs or ns told apart by
 * magnitude, or ISO 8601 / `YYYY-MM-DD HH:MM:SS[.f]` text (UTC when it has no offset).
 */
export function timeValueToMs(value: unknown): number | undefined {
  if (typeof value === 'number') return epochNumberToMs(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d{1,20}(\.\d+)?$/.test(text)) return epochNumberToMs(Number(text));
  const ms = isoTextToMs(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function epochNumberToMs(n: number): number | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  if (n < 1e11) return Math.round(n * 1000); // seconds (until year 5138)
  if (n < 1e14) return Math.round(n); // milliseconds
  if (n < 1e17) return Math.round(n / 1e3); // microseconds
  return Math.round(n / 1e6); // nanoseconds
}
