/**
 * One Fluent Bit record to a DecodedEntry: the raw access-log line from `log` (tail, docker, cri multiline
 * parser) or `message` (legacy cri parser); else the access-log object Fluent Bit already parsed; else the whole
 * record as JSON text, so the parser refuses it and it is kept as a dead letter rather than dropped.
 */
import { findAccessLogObject, isPlainObject } from './access-log-object.js';
import type { DecodedEntry } from './decoded-entry.js';
import { EMPTY_META, metaFromKubernetes } from './kubernetes-meta.js';
import { findRecordDate } from './record-time.js';

/** Keys the kubernetes filter adds; never part of an access-log object. */
const KUBERNETES_KEYS = ['kubernetes', 'kubernetes_namespace'];

/** `eventTimeMs`: the msgpack event time; without it the time comes from the record's date key. */
export function entryFromRecord(record: unknown, eventTimeMs?: number): DecodedEntry {
  if (!isPlainObject(record)) {
    const entry: DecodedEntry = {
      line: typeof record === 'string' ? stripLineEnd(record) : String(JSON.stringify(record)),
      meta: { ...EMPTY_META },
    };
    if (eventTimeMs !== undefined) entry.timeMs = eventTimeMs;
    return entry;
  }
  const entry: DecodedEntry = { meta: metaFromKubernetes(record['kubernetes']) };
  const omit = [...KUBERNETES_KEYS];
  if (eventTimeMs !== undefined) {
    entry.timeMs = eventTimeMs;
  } else {
    const date = findRecordDate(record);
    if (date) {
      entry.timeMs = date.ms;
      omit.push(date.key);
    }
  }
  const raw = stringField(record, 'log') ?? stringField(record, 'message');
  if (raw !== undefined) {
    entry.line = stripLineEnd(raw);
    return entry;
  }
  const object = findAccessLogObject(record, omit);
  if (object) entry.object = object;
  else entry.line = JSON.stringify(record);
  return entry;
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = Object.hasOwn(record, key) ? record[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

export function stripLineEnd(text: string): string {
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== 10 && c !== 13) break;
    end--;
  }
  return end === text.length ? text : text.slice(0, end);
}
