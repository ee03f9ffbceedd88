/**
 * One dead_letters row as a JSONEachRow line that the store cannot refuse: the dead-letter insert is where
 * bad data ends up, so it must never fail for a data reason itself, or the batch carrying it would stop
 * intake the way a bad access_log row once did. Every string is made well-formed (an unpaired UTF-16
 * surrogate, which ClickHouse's JSON reader refuses as CANNOT_PARSE_ESCAPE_SEQUENCE, becomes U+FFFD) and
 * cut to a bound; every number is an integer its column (store/schema.ts) holds.
 */
import { toWellFormed } from '../store/well-formed-text.js';

/** The raw text kept per dead letter; longer lines keep their start and say how long they were. */
export const MAX_DEAD_RAW_CHARS = 1 << 20;
const MAX_REASON_CHARS = 4000;
const MAX_META_CHARS = 1000;

const UINT32_MAX = 4_294_967_295;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

export interface DeadLetter {
  source: string;
  origin: string;
  reason: string;
  /** Where in the line parsing stopped (UInt32). */
  offset: number;
  raw: string;
  namespace: string;
  pod: string;
  kafka?: { topic: string; partition: number; offset: string } | undefined;
}

/** `s` well-formed and at most `max` characters (a cut never splits a surrogate pair). */
function bounded(s: unknown, max: number): { text: string; cut: number } {
  const text = typeof s === 'string' ? s : String(s ?? '');
  if (text.length <= max) return { text: toWellFormed(text), cut: 0 };
  return { text: toWellFormed(text.slice(0, max)), cut: text.length };
}

function intIn(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) ? Math.min(max, Math.max(min, v)) : fallback;
}

/** Kafka offsets are Int64, carried as decimal text so no precision is lost. */
function int64Text(v: unknown): string {
  const text = String(v ?? '');
  return /^-?\d{1,18}$/.test(text) ? text : '-1';
}

export function deadLetterRow(d: DeadLetter): string {
  const raw = bounded(d.raw, MAX_DEAD_RAW_CHARS);
  let reason = bounded(d.reason, MAX_REASON_CHARS).text;
  if (raw.cut) reason += ` (raw cut to its first ${MAX_DEAD_RAW_CHARS} of ${raw.cut} characters)`;
  const row = {
    source: bounded(d.source, MAX_META_CHARS).text,
    origin: bounded(d.origin, MAX_META_CHARS).text,
    reason,
    offset: intIn(d.offset, 0, UINT32_MAX, 0),
    raw: raw.text,
    k8s_namespace: bounded(d.namespace, MAX_META_CHARS).text,
    k8s_pod: bounded(d.pod, MAX_META_CHARS).text,
    kafka_topic: bounded(d.kafka?.topic ?? '', MAX_META_CHARS).text,
    kafka_partition: intIn(d.kafka?.partition ?? -1, INT32_MIN, INT32_MAX, -1),
    kafka_offset: int64Text(d.kafka?.offset ?? '-1'),
  };
  return `${JSON.stringify(row)}\n`;
}
