/**
 * Encodes parsed lines as JSONCompactEachRow rows for ACCESS_LOG_INSERT_COLUMNS, straight from the
 * scanner's offsets into the source bytes: no string per field, no object per line. Records that came
 * another way (JSON logs, Fluent Bit-parsed objects) take the slower object path into the same rows.
 *
 * Every value is checked against what its column holds (store/column-limits.ts) before the row is kept:
 * ClickHouse would store 70000 in a UInt16 as 4464, and text it cannot parse (1e+300, -1, 1.5, an unpaired
 * \ud800) fails the whole insert. A row that does not fit is not written; the add says so and `rejection`
 * names the field, the value and the range, for the line's dead letter. On the fast path the checks are
 * compares on numbers already in the scan state: nothing is allocated unless a row is refused.
 */
import type { AccessRecord } from '../parser/record.js';
import type { ScanState } from '../parser/scan-state.js';
import type { TextParser } from '../parser/text-parser.js';
import { ACCESS_LOG_LIMITS, type ColumnLimit, describeLimit, isoOrMs } from './column-limits.js';
import { ACCESS_LOG_INSERT_COLUMNS } from './schema.js';
import { isWellFormed, toWellFormed } from './well-formed-text.js';

/** Where a row came from; encoded once and appended to every row from that source. */
export interface RowSource {
  source: string;
  namespace: string;
  pod: string;
  container: string;
  workload: string;
  node: string;
}

/** The canonical columns: the first 24 of ACCESS_LOG_INSERT_COLUMNS, up to `format`. */
const FIELD_COLUMNS = ACCESS_LOG_INSERT_COLUMNS.slice(0, ACCESS_LOG_INSERT_COLUMNS.indexOf('format'));
const LIMITS: ColumnLimit[] = FIELD_COLUMNS.map((col) => ACCESS_LOG_LIMITS.get(col)!);
const INT_COLUMNS = new Set(FIELD_COLUMNS.filter((_, c) => LIMITS[c]!.kind === 'int'));
const START_TIME = LIMITS[0]!;
if (FIELD_COLUMNS[0] !== 'start_time' || START_TIME.kind !== 'time')
  throw new Error('row-encoder.ts expects start_time, a time column, as the first insert column');
const TIME_MIN_MS = START_TIME.minMs;
const TIME_MAX_MS = START_TIME.maxMs;
/** Per column: the largest integer it holds (Infinity for the others); text-path integers are never negative. */
const INT_MAX = Float64Array.from(LIMITS, (l) => (l.kind === 'int' ? l.max : Number.POSITIVE_INFINITY));

/** What addScan did with a line. */
export const ROW_ADDED = 0;
/** The format needs the record path (addRecord): nothing was written. */
export const NEEDS_RECORD_PATH = 1;
/** A value does not fit its column: nothing was written, `rejection` says why. */
export const ROW_REJECTED = 2;
export type ScanOutcome = typeof ROW_ADDED | typeof NEEDS_RECORD_PATH | typeof ROW_REJECTED;

enum Kind {
  Str = 0,
  Int = 1,
  Time = 2,
  Cluster = 3,
  Absent = 4,
  AbsentInt = 5,
}

/** How one format's fields map onto the insert columns; computed once per format. */
interface ColumnPlan {
  field: Int32Array;
  kind: Uint8Array;
  /** `,"<format>"` */
  formatBytes: Buffer;
  /** Fields that are not columns, kept in `extra` as JSON. */
  extraFields: Array<{ name: string; index: number }>;
  /** RESPONSE_FLAGS_LONG must be mapped to short flags, which the fast path does not do. */
  needsRecordPath: boolean;
}

const plans = new WeakMap<TextParser, ColumnPlan>();

function planFor(parser: TextParser): ColumnPlan {
  let plan = plans.get(parser);
  if (plan) return plan;
  const fields = parser.compiled.fields;
  const field = new Int32Array(FIELD_COLUMNS.length);
  const kind = new Uint8Array(FIELD_COLUMNS.length);
  FIELD_COLUMNS.forEach((col, c) => {
    const i = fields.findIndex((f) => f.name === col);
    field[c] = i;
    if (i < 0) kind[c] = INT_COLUMNS.has(col) ? Kind.AbsentInt : Kind.Absent;
    else if (fields[i]!.type === 'time') kind[c] = Kind.Time;
    else if (fields[i]!.type === 'int') kind[c] = Kind.Int;
    else if (col === 'upstream_cluster') kind[c] = Kind.Cluster;
    else kind[c] = Kind.Str;
  });
  const canonical = new Set<string>(FIELD_COLUMNS);
  const extraFields = fields
    .map((f, index) => ({ name: f.name, index }))
    .filter((f) => !canonical.has(f.name) && f.name !== 'response_flags_long');
  plan = {
    field,
    kind,
    formatBytes: Buffer.from(`,${JSON.stringify(parser.name)}`),
    extraFields,
    needsRecordPath: fields.some((f) => f.name === 'response_flags_long'),
  };
  plans.set(parser, plan);
  return plan;
}

const HEX = Buffer.from('0123456789abcdef');

export class RowEncoder {
  private out: Buffer;
  private pos = 0;
  rows = 0;
  /** The encoded source columns, or why they cannot be stored. */
  private readonly sources = new WeakMap<RowSource, Buffer | string>();
  /** Why the last addScan/addRecord refused its row. */
  rejection = '';

  constructor(private readonly initialBytes = 1 << 20) {
    this.out = Buffer.allocUnsafe(initialBytes);
  }

  get bytes(): number {
    return this.pos;
  }

  /**
   * The rows encoded from byte `from` on, as a view: rows are only ever appended, so the bytes it shows stay
   * as they are (a growing encoder copies them to a new buffer and leaves the old one alone).
   */
  encodedFrom(from: number): Buffer {
    return this.out.subarray(from, this.pos);
  }

  /**
   * The rows so far. The encoder goes on in a fresh buffer of `nextBytes` (grown on demand; 0 when it will
   * not be used again), so the returned one stays untouched while stored.
   */
  take(nextBytes = Math.max(this.initialBytes, this.pos)): Buffer {
    const body = this.out.subarray(0, this.pos);
    this.out = Buffer.allocUnsafe(nextBytes);
    this.pos = 0;
    this.rows = 0;
    return body;
  }

  /** A row from a successful scan of `buf[start..end)`; `raw` keeps the line itself. */
  addScan(
    parser: TextParser,
    buf: Uint8Array,
    st: ScanState,
    source: RowSource,
    raw: boolean,
    start: number,
    end: number,
    fallbackTimeMs: number,
  ): ScanOutcome {
    const plan = planFor(parser);
    if (plan.needsRecordPath) return NEEDS_RECORD_PATH;
    const sourceBytes = this.sourceBytes(source);
    if (typeof sourceBytes === 'string') return this.rejectScan(sourceBytes);
    // Every field lies inside the line, so six bytes per line byte (a \u00XX escape) bound the whole row.
    this.reserve((end - start) * 6 + 1024);
    const { off, num } = st;
    const out = this.out;
    let pos = this.pos;
    out[pos++] = 91; // [
    for (let c = 0; c < plan.kind.length; c++) {
      if (c > 0) out[pos++] = 44; // ,
      const i = plan.field[c]!;
      switch (plan.kind[c]) {
        case Kind.Time: {
          const v = num[i]!;
          if (!(v >= TIME_MIN_MS && v <= TIME_MAX_MS && Math.floor(v) === v))
            return this.rejectScan(timeReason(FIELD_COLUMNS[c]!, fieldText(buf, off, i), v));
          pos = writeTime(out, pos, v);
          break;
        }
        case Kind.Int: {
          const v = num[i]!;
          if (v > INT_MAX[c]!) return this.rejectScan(intReason(c, shown(fieldText(buf, off, i))));
          pos = Number.isNaN(v) ? writeNull(out, pos) : writeUint(out, pos, v);
          break;
        }
        case Kind.Str:
        case Kind.Cluster: {
          const a = off[2 * i]!;
          let b = off[2 * i + 1]!;
          if (b - a === 1 && buf[a] === 45) {
            out[pos++] = 34;
            out[pos++] = 34;
            break;
          }
          if (plan.kind[c] === Kind.Cluster && b > a && buf[b - 1] === 59) b--; // Istio 1.24 alt_stat_name `;`
          pos = writeJsonBytes(out, pos, buf, a, b);
          break;
        }
        case Kind.AbsentInt:
          pos = writeNull(out, pos);
          break;
        default:
          if (c === 0) {
            const v = fallbackTimeMs;
            if (!(v >= TIME_MIN_MS && v <= TIME_MAX_MS && Math.floor(v) === v))
              return this.rejectScan(timeReason('start_time', null, v));
            pos = writeTime(out, pos, v);
          } else {
            out[pos++] = 34;
            out[pos++] = 34;
          }
      }
    }
    this.pos = pos;
    this.appendBytes(plan.formatBytes);
    this.appendBytes(sourceBytes);
    this.out[this.pos++] = 44;
    if (plan.extraFields.length) this.appendJsonString(extraJson(plan, buf, st));
    else this.appendBytes(EMPTY_STRING);
    this.out[this.pos++] = 44;
    if (raw) {
      this.reserve((end - start) * 6 + 8);
      this.pos = writeJsonBytes(this.out, this.pos, buf, start, end);
    } else this.appendBytes(EMPTY_STRING);
    this.out[this.pos++] = 93; // ]
    this.out[this.pos++] = 10;
    this.rows++;
    return ROW_ADDED;
  }

  /**
   * A row from a record object (JSON logs, Fluent Bit-parsed records, formats the fast path skips).
   * False, with nothing written and `rejection` set, when a value does not fit its column.
   */
  addRecord(record: AccessRecord, source: RowSource, raw: string | null, fallbackTimeMs: number): boolean {
    const values: unknown[] = new Array(FIELD_COLUMNS.length);
    for (let c = 0; c < FIELD_COLUMNS.length; c++) {
      const col = FIELD_COLUMNS[c]!;
      const limit = LIMITS[c]!;
      if (c === 0) {
        const given = record.start_time_ms;
        const v = given ?? fallbackTimeMs;
        if (!(typeof v === 'number' && v >= TIME_MIN_MS && v <= TIME_MAX_MS && Math.floor(v) === v))
          return this.rejectRecord(timeReason(col, given === null ? null : record.start_time, v));
        values[c] = v;
        continue;
      }
      const v = (record as unknown as Record<string, unknown>)[col] ?? null;
      if (limit.kind === 'int') {
        if (v !== null && !(typeof v === 'number' && Number.isInteger(v) && v >= limit.min && v <= limit.max))
          return this.rejectRecord(intReason(c, typeof v === 'number' ? String(v) : shown(v)));
        values[c] = v;
      } else {
        if (v !== null && !(typeof v === 'string' && isWellFormed(v)))
          return this.rejectRecord(
            typeof v === 'string'
              ? `${col} ${shown(v)} holds an unpaired UTF-16 surrogate, which its column (${limit.type}, UTF-8) cannot carry`
              : `${col} ${shown(v)} is not a string (column ${limit.type})`,
          );
        values[c] = v ?? '';
      }
    }
    const sourceBytes = this.sourceBytes(source);
    if (typeof sourceBytes === 'string') return this.rejectRecord(sourceBytes);
    if (raw !== null && !isWellFormed(raw))
      return this.rejectRecord(
        'the line holds an unpaired UTF-16 surrogate, which the raw column (UTF-8) cannot carry',
      );
    let extra = '';
    if (record.extra) {
      try {
        extra = JSON.stringify(record.extra);
      } catch (err) {
        return this.rejectRecord(`extra fields cannot be written as JSON: ${(err as Error).message}`);
      }
    }
    const text = `${JSON.stringify(values).slice(0, -1)},${JSON.stringify(record.format)}`;
    this.appendString(text);
    this.appendBytes(sourceBytes);
    this.appendString(`,${JSON.stringify(extra)},${JSON.stringify(raw ?? '')}]\n`);
    this.rows++;
    return true;
  }

  private rejectScan(reason: string): ScanOutcome {
    this.rejection = reason;
    return ROW_REJECTED;
  }

  private rejectRecord(reason: string): false {
    this.rejection = reason;
    return false;
  }

  private sourceBytes(source: RowSource): Buffer | string {
    let b = this.sources.get(source);
    if (b === undefined) {
      const { source: s, namespace, pod, container, workload, node } = source;
      const values = [s, namespace, pod, container, workload, node];
      const bad = values.findIndex((v) => typeof v !== 'string' || !isWellFormed(v));
      b =
        bad < 0
          ? Buffer.from(`,${JSON.stringify(values).slice(1, -1)}`)
          : `${SOURCE_COLUMNS[bad]} ${shown(values[bad])} is not a well-formed string (an unpaired UTF-16 surrogate or not text)`;
      this.sources.set(source, b);
    }
    return b;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.out.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + n));
    this.out.copy(next, 0, 0, this.pos);
    this.out = next;
  }

  private appendBytes(b: Buffer): void {
    this.reserve(b.length);
    if (b.length < 64) for (let k = 0; k < b.length; k++) this.out[this.pos++] = b[k]!;
    else this.pos += b.copy(this.out, this.pos);
  }

  private appendString(s: string): void {
    this.reserve(Buffer.byteLength(s));
    this.pos += this.out.write(s, this.pos);
  }

  private appendJsonString(s: string): void {
    this.appendString(JSON.stringify(s));
  }
}

const EMPTY_STRING = Buffer.from('""');

/** The k8s columns a RowSource fills, in its field order, for reasons. */
const SOURCE_COLUMNS = ['source', 'k8s_namespace', 'k8s_pod', 'k8s_container', 'k8s_workload', 'k8s_node'];

/** At most this many characters of a value are quoted in a reason. */
const SHOWN_CHARS = 120;

/** A value for a reason: JSON, cut at SHOWN_CHARS; always one line, and well-formed. */
function shown(v: unknown): string {
  let text: string;
  try {
    text = typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v));
  } catch {
    text = String(v);
  }
  return text.length > SHOWN_CHARS ? `${toWellFormed(text.slice(0, SHOWN_CHARS))}…` : text;
}

/** Field i's text in the line, for a reason (rare: only when the row is refused). */
function fieldText(buf: Uint8Array, off: Int32Array, i: number): string {
  const a = off[2 * i]!;
  const b = Math.min(off[2 * i + 1]!, a + SHOWN_CHARS);
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8', a, b);
}

function timeReason(col: string, text: string | null, ms: number): string {
  const value =
    text === null ? `(the shipper's timestamp, ${isoOrMs(ms)})` : `${shown(text)} (${isoOrMs(ms)})`;
  return `${col} ${value} is outside its column's range (${describeLimit(START_TIME)})`;
}

function intReason(c: number, value: string): string {
  const limit = LIMITS[c]!;
  return `${FIELD_COLUMNS[c]} ${value} is outside its column's range (${describeLimit(limit)}${limit.kind === 'int' ? ', integers only' : ''})`;
}

/** `"…"` with JSON escapes for quotes, backslashes and control bytes; other bytes are copied as they are. */
function writeJsonBytes(out: Buffer, pos: number, src: Uint8Array, a: number, b: number): number {
  out[pos++] = 34;
  for (let k = a; k < b; k++) {
    const c = src[k]!;
    if (c === 34 || c === 92) {
      out[pos++] = 92;
      out[pos++] = c;
    } else if (c < 32) {
      out[pos++] = 92;
      out[pos++] = 117; // u
      out[pos++] = 48;
      out[pos++] = 48;
      out[pos++] = HEX[c >> 4]!;
      out[pos++] = HEX[c & 15]!;
    } else {
      out[pos++] = c;
    }
  }
  out[pos++] = 34;
  return pos;
}

/** An integer time in epoch ms, negative before 1970. */
function writeTime(out: Buffer, pos: number, v: number): number {
  if (v >= 0) return writeUint(out, pos, v);
  out[pos] = 45; // -
  return writeUint(out, pos + 1, -v);
}

function writeNull(out: Buffer, pos: number): number {
  out[pos] = 110;
  out[pos + 1] = 117;
  out[pos + 2] = 108;
  out[pos + 3] = 108;
  return pos + 4;
}

/** A non-negative integer below 2^53 as decimal digits. */
function writeUint(out: Buffer, pos: number, v: number): number {
  if (v < 10) {
    out[pos] = 48 + v;
    return pos + 1;
  }
  let digits = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
  let p = pos + digits - 1;
  let t = v;
  while (t >= 10) {
    const q = Math.floor(t / 10);
    out[p--] = 48 + (t - q * 10);
    t = q;
  }
  out[p] = 48 + t;
  return pos + digits;
}

function extraJson(plan: ColumnPlan, buf: Uint8Array, st: ScanState): string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const obj: Record<string, string | null> = {};
  for (const { name, index } of plan.extraFields) {
    const a = st.off[2 * index]!;
    const e = st.off[2 * index + 1]!;
    obj[name] = e - a === 1 && b[a] === 45 ? null : b.toString('utf8', a, e);
  }
  return JSON.stringify(obj);
}
