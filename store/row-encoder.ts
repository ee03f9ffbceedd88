/**
 * Encodes parsed lines as JSONCompactEachRow rows for ACCESS_LOG_INSERT_COLUMNS, straight from the
 * scanner's offsets into the source bytes: no string per field, no object per line. Records that came
 * another way (JSON logs, Fluent Bit-parsed objects) take the slower object path into the same rows.
 */
import type { AccessRecord } from '../parser/record.js';
import type { ScanState } from '../parser/scan-state.js';
import type { TextParser } from '../parser/text-parser.js';
import { ACCESS_LOG_INSERT_COLUMNS } from './schema.js';

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
const INT_COLUMNS = new Set([
  'response_code',
  'bytes_received',
  'bytes_sent',
  'duration',
  'upstream_service_time',
]);

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
  private readonly sources = new WeakMap<RowSource, Buffer>();

  constructor(private readonly initialBytes = 1 << 20) {
    this.out = Buffer.allocUnsafe(initialBytes);
  }

  get bytes(): number {
    return this.pos;
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
  ): boolean {
    const plan = planFor(parser);
    if (plan.needsRecordPath) return false;
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
        case Kind.Time:
          pos = writeUint(out, pos, num[i]!);
          break;
        case Kind.Int: {
          const v = num[i]!;
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
          if (c === 0) pos = writeUint(out, pos, fallbackTimeMs);
          else {
            out[pos++] = 34;
            out[pos++] = 34;
          }
      }
    }
    this.pos = pos;
    this.appendBytes(plan.formatBytes);
    this.appendBytes(this.sourceBytes(source));
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
    return true;
  }

  /** A row from a record object (JSON logs, Fluent Bit-parsed records, formats the fast path skips). */
  addRecord(record: AccessRecord, source: RowSource, raw: string | null, fallbackTimeMs: number): void {
    const values: unknown[] = FIELD_COLUMNS.map((col) => {
      if (col === 'start_time') return record.start_time_ms ?? fallbackTimeMs;
      const v = (record as unknown as Record<string, unknown>)[col];
      if (INT_COLUMNS.has(col)) return v ?? null;
      return v ?? '';
    });
    const extra = record.extra ? JSON.stringify(record.extra) : '';
    const text = `${JSON.stringify(values).slice(0, -1)},${JSON.stringify(record.format)}`;
    this.appendString(text);
    this.appendBytes(this.sourceBytes(source));
    this.appendString(`,${JSON.stringify(extra)},${JSON.stringify(raw ?? '')}]\n`);
    this.rows++;
  }

  private sourceBytes(source: RowSource): Buffer {
    let b = this.sources.get(source);
    if (!b) {
      const { source: s, namespace, pod, container, workload, node } = source;
      b = Buffer.from(`,${JSON.stringify([s, namespace, pod, container, workload, node]).slice(1, -1)}`);
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
