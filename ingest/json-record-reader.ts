/**
 * The common Fluent Bit JSON record, a line in `log` (or `message`) plus the `kubernetes` map and a date key,
 * read without JSON.parse: the scanner unescapes the line straight into bytes for the parser, the kubernetes
 * map is decoded once per distinct map, and the date comes from the spans of the date keys. Kafka messages
 * and HTTP bodies both go through it; anything else is left to JSON.parse and entryFromRecord, which give
 * the same result more slowly.
 */
import { DATE_KEYS, type HintShape, JsonRecordScanner, type ScannedRecord } from './json-record-scan.js';
import { EMPTY_META, metaFromKubernetes } from './kubernetes-meta.js';
import { findRecordDate, timeValueToMs } from './record-time.js';
import { RepeatedMap } from './repeated-map.js';
import type { SourceMetaLike } from './row-sources.js';

export interface LineRecord {
  /** Bytes of the line in `reader.line`, without trailing `\n` or `\r\n`; 0 for an empty line. */
  length: number;
  /** From the record's kubernetes map; the same object for every record with the same map. */
  meta: SourceMetaLike;
  /** The record's date (entryFromRecord's rules), when it has one. */
  timeMs: number | undefined;
}

const MAX_CACHED_MAPS = 10_000;

/** A record read by readNext: where it ends in the body, and its line at `lineAt` in the buffer given. */
export interface NextLineRecord extends LineRecord {
  end: number;
}

export class JsonRecordReader {
  private readonly scanner = new JsonRecordScanner();
  private readonly metas = new Map<string, SourceMetaLike>();
  private readonly maps = new RepeatedMap<SourceMetaLike>();

  /**
   * `shapeOf` measures a new kubernetes map for the limits (HTTP bodies, whose records readNext takes without
   * scanning their map again); without it readNext only takes records without a kubernetes map.
   */
  constructor(private readonly shapeOf?: (map: Buffer) => HintShape | undefined) {}

  /** Where the last record's line was unescaped; overwritten by the next read. */
  get line(): Buffer {
    return this.scanner.line;
  }

  /**
   * What read and readNext return: one object, overwritten by the next read (the callers copy what they keep
   * at once), so a record costs no allocation.
   */
  private readonly result: NextLineRecord = { length: 0, meta: EMPTY_META, timeMs: undefined, end: 0 };

  /** The record that is all of `value`, or undefined when it needs the general path. */
  read(value: Buffer): LineRecord | undefined {
    const rec = this.scanner.scan(value);
    if (!rec || rec.lineLength < 0) return undefined;
    const meta =
      rec.kubernetesStart >= 0 ? this.metaOf(value, rec.kubernetesStart, rec.kubernetesEnd) : EMPTY_META;
    if (!meta) return undefined;
    const line = this.scanner.line;
    let length = rec.lineLength;
    while (length > 0 && (line[length - 1] === 10 || line[length - 1] === 13)) length--;
    const result = this.result;
    result.length = length;
    result.meta = meta;
    result.timeMs = recordTime(value, rec);
    result.end = rec.end;
    return result;
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
    if (rec.kubernetesStart >= 0) {
      // A map equal to the hint: the map of `last`, one level below the record.
      const last = this.maps.lastMeta;
      if (this.scanner.hintShape!.level + 1 >= limits.maxDepth || !last) return undefined;
      meta = last;
    }
    const from = lineAt;
    let length = rec.lineLength;
    while (length > 0 && (line[from + length - 1] === 10 || line[from + length - 1] === 13)) length--;
    const result = this.result;
    result.length = length;
    result.meta = meta;
    result.timeMs = recordTime(buf, rec);
    result.end = rec.end;
    return result;
  }

  /** Forgets the last body read, so the reader does not keep it alive (JsonRecordScanner.release). */
  release(): void {
    this.scanner.release();
  }

  /** The meta of the map at `value[start..end)`: the previous record's when the bytes are the same (RepeatedMap). */
  private metaOf(value: Buffer, start: number, end: number): SourceMetaLike | undefined {
    const same = this.maps.same(value, start, end);
    if (same) return same;
    const text = value.toString('utf8', start, end);
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
    const bytes = this.maps.remember(value, start, end, meta);
    this.scanner.kubernetesHint = bytes;
    this.scanner.hintShape = this.shapeOf?.(bytes);
    return meta;
  }
}

/** The record's date as entryFromRecord finds it (findRecordDate), from the spans of the candidate keys. */
function recordTime(value: Buffer, rec: ScannedRecord): number | undefined {
  // Usual case: the output's timestamp key first.
  if (rec.firstDateKey >= 0) {
    const ms = timeValueToMs(scalarAt(value, rec.firstStart, rec.firstEnd));
    if (ms !== undefined) return ms;
  }
  return recordTimeOtherwise(value, rec);
}

/** findRecordDate on the values JSON.parse would give the first key and the known date keys (their last). */
function recordTimeOtherwise(value: Buffer, rec: ScannedRecord): number | undefined {
  const firstKey = rec.firstKey(value);
  // Without a prototype, as JSON.parse's own keys: a first key `__proto__` is a key here too.
  const candidates: Record<string, unknown> = Object.create(null);
  candidates[firstKey] = scalarAt(value, rec.firstStart, rec.firstEnd);
  for (let d = 0; d < DATE_KEYS.length; d++) {
    const key = DATE_KEYS[d]!;
    if (rec.dateStarts[d]! >= 0 && key !== firstKey)
      candidates[key] = scalarAt(value, rec.dateStarts[d]!, rec.dateEnds[d]!);
  }
  return findRecordDate(candidates)?.ms;
}

/** A string, number or literal value (already checked by the scanner); null for objects and arrays. */
function scalarAt(value: Buffer, start: number, end: number): unknown {
  const c = value[start];
  if (c === 0x7b || c === 0x5b) return null;
  if (c === 0x22) return JSON.parse(value.toString('utf8', start, end));
  if (c === 0x74 || c === 0x66 || c === 0x6e) return c === 0x6e ? null : c === 0x74;
  return numberAt(value, start, end);
}

/** Powers of ten a double holds exactly. */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The JSON number at `value[start..end)` (already checked by the scanner), as Number() reads its text. A
 * number of at most 15 digits without exponent (epoch seconds with a fraction, Fluent Bit's `double`) is an
 * integer below 2^53 divided by an exact power of ten, which one IEEE division rounds correctly, as Number()
 * does; anything else goes through Number(), at the cost of a string.
 */
function numberAt(value: Buffer, start: number, end: number): number {
  let k = start;
  const negative = value[k] === 0x2d;
  if (negative) k++;
  let mantissa = 0;
  let digits = 0;
  let fraction = -1;
  for (; k < end; k++) {
    const c = value[k]!;
    if (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + (c - 0x30);
      digits++;
    } else if (c === 0x2e && fraction < 0) {
      fraction = k;
    } else {
      break;
    }
  }
  if (k !== end || digits > 15) return Number(value.toString('latin1', start, end));
  const n = fraction < 0 ? mantissa : mantissa / EXACT_POWERS_OF_TEN[end - fraction - 1]!;
  return negative ? -n : n;
}
