/**
 * The common Fluent Bit JSON record, a line in `log` (or `message`) plus the `kubernetes` map and a date key,
 * read without JSON.parse: the scanner unescapes the line straight into bytes for the parser, the kubernetes
 * map is decoded once per distinct map, and the date comes from the spans of the date keys. Kafka messages
 * and HTTP bodies both go through it; anything else is left to JSON.parse and entryFromRecord, which give
 * the same result more slowly.
 */
import { type HintShape, JsonRecordScanner, type ScannedRecord, type ValueSpan } from './json-record-scan.js';
import { EMPTY_META, metaFromKubernetes } from './kubernetes-meta.js';
import { findRecordDate, KNOWN_DATE_KEYS, timeValueToMs } from './record-time.js';
import type { SourceMetaLike } from './row-sources.js';

export interface LineRecord {
  /** Bytes of the line in `reader.line`, without trailing `\n` or `\r\n`; 0 for an empty line. */
  length: number;
  /** From the record's kubernetes map; the same object for every record with the same map. */
  meta: SourceMetaLike;
  /** The record's date (entryFromRecord's rules), when it has one. */
  timeMs: number | undefined;
}

const DATE_KEYS = new Set<string>(KNOWN_DATE_KEYS);
const MAX_CACHED_MAPS = 10_000;

/** A record read by readNext: where it ends in the body, and its line at `lineAt` in the buffer given. */
export interface NextLineRecord extends LineRecord {
  end: number;
}

export class JsonRecordReader {
  private readonly scanner = new JsonRecordScanner();
  private readonly metas = new Map<string, SourceMetaLike>();
  private last: { bytes: Buffer; meta: SourceMetaLike } | undefined;

  /**
   * `shapeOf` measures a new kubernetes map for the limits (HTTP bodies, whose records readNext takes without
   * scanning their map again); without it readNext only takes records without a kubernetes map.
   */
  constructor(private readonly shapeOf?: (map: Buffer) => HintShape | undefined) {}

  /** Where the last record's line was unescaped; overwritten by the next read. */
  get line(): Buffer {
    return this.scanner.line;
  }

  /** The record that is all of `value`, or undefined when it needs the general path. */
  read(value: Buffer): LineRecord | undefined {
    const rec = this.scanner.scan(value);
    if (!rec || rec.lineLength < 0) return undefined;
    const meta = rec.kubernetes ? this.metaOf(value, rec.kubernetes) : EMPTY_META;
    if (!meta) return undefined;
    const line = this.scanner.line;
    let length = rec.lineLength;
    while (length > 0 && (line[length - 1] === 10 || line[length - 1] === 13)) length--;
    return { length, meta, timeMs: recordTime(value, rec) };
  }

  /**
   * The record starting at `buf[start]` of a body of records back to back, when it is a flat one within the
   * limits (JsonRecordScanner.scanNext): its line is unescaped into `line` at `lineAt`. Undefined for
   * anything else, which the caller scans for its limits and reads the general way (that read, through
   * read(), makes a new kubernetes map the hint for the records after it).
   */
  readNext(
    buf: Buffer,
    start: number,
    line: Buffer,
    lineAt: number,
    limits: { maxKeysPerRecord: number; maxDepth: number },
  ): NextLineRecord | undefined {
    const rec = this.scanner.scanNext(buf, start, line, lineAt, limits.maxKeysPerRecord);
    if (!rec || rec.lineLength < 0 || rec.keys > limits.maxKeysPerRecord) return undefined;
    let meta: SourceMetaLike = EMPTY_META;
    if (rec.kubernetes) {
      // A map equal to the hint: the map of `last`, one level below the record.
      if (this.scanner.hintShape!.level + 1 >= limits.maxDepth || !this.last) return undefined;
      meta = this.last.meta;
    }
    const from = lineAt;
    let length = rec.lineLength;
    while (length > 0 && (line[from + length - 1] === 10 || line[from + length - 1] === 13)) length--;
    return { length, meta, timeMs: recordTime(buf, rec), end: rec.end };
  }

  /** Forgets the last body read, so the reader does not keep it alive (JsonRecordScanner.release). */
  release(): void {
    this.scanner.release();
  }

  /** Consecutive records of one pod repeat their map byte for byte: compared, not parsed again. */
  private metaOf(value: Buffer, span: ValueSpan): SourceMetaLike | undefined {
    const last = this.last;
    if (
      last &&
      last.bytes.length === span.end - span.start &&
      value.compare(last.bytes, 0, last.bytes.length, span.start, span.end) === 0
    ) {
      return last.meta;
    }
    const text = value.toString('utf8', span.start, span.end);
    let meta = this.metas.get(text);
    if (!meta) {
      let k8s: unknown;
      try {
        k8s = JSON.parse(text);
      } catch {
        return undefined;
      }
      meta = metaFromKubernetes(k8s);
      if (this.metas.size >= MAX_CACHED_MAPS) this.metas.clear();
      this.metas.set(text, meta);
    }
    const bytes = Buffer.from(value.subarray(span.start, span.end));
    this.last = { bytes, meta };
    this.scanner.kubernetesHint = bytes;
    this.scanner.hintShape = this.shapeOf?.(bytes);
    return meta;
  }
}

/** The record's date as entryFromRecord finds it (findRecordDate), from the spans of the candidate keys. */
function recordTime(value: Buffer, rec: ScannedRecord): number | undefined {
  // Usual case: the output's timestamp key first.
  if (rec.firstKey !== undefined && rec.first && DATE_KEYS.has(rec.firstKey)) {
    const ms = timeValueToMs(scalarAt(value, rec.first));
    if (ms !== undefined) return ms;
  }
  const candidates: Record<string, unknown> = {};
  if (rec.firstKey !== undefined && rec.first) candidates[rec.firstKey] = scalarAt(value, rec.first);
  for (const d of rec.dates ?? []) if (d.key !== rec.firstKey) candidates[d.key] = scalarAt(value, d.value);
  return findRecordDate(candidates)?.ms;
}

/** A string, number or literal value (already checked by the scanner); null for objects and arrays. */
function scalarAt(value: Buffer, span: ValueSpan): unknown {
  const c = value[span.start];
  if (c === 0x7b || c === 0x5b) return null;
  if (c === 0x22) return JSON.parse(value.toString('utf8', span.start, span.end));
  if (c === 0x74 || c === 0x66 || c === 0x6e) return c === 0x6e ? null : c === 0x74;
  return Number(value.toString('latin1', span.start, span.end));
}
