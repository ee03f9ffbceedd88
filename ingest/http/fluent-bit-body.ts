/**
 * Request bodies from Fluent Bit's `http` output (formats json, json_lines, json_stream, msgpack; gzip or not),
 * plus plain text access-log lines, to entries for the parser: a raw line, or an access-log object Fluent Bit
 * already parsed, with the pod it came from and Fluent Bit's timestamp.
 *
 *   const entries = decodeBody(req.body, { contentType, contentEncoding, limits });
 *   for (const e of entries) {
 *     const r = e.line !== undefined ? parser.parse(e.line) : recordFromObject(e.object!, JSON.stringify(e.object));
 *   }
 *
 * Every refusal is a BodyError carrying the HTTP status: 400 malformed, 413 over a limit, 415 unsupported
 * type or encoding. Limits are checked before values are built wherever the format allows it.
 */
import { BodyError } from '../body-error.js';
import type { DecodedEntry } from '../decoded-entry.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_RECORD_BYTES } from '../decoded-entry.js';
import { decodeMsgpackValue, fluentMsgpackEvents } from '../fluent-msgpack.js';
import { JsonRecordReader } from '../json-record-reader.js';
import { EMPTY_META } from '../kubernetes-meta.js';
import { MsgpackRecordReader } from '../msgpack-record-reader.js';
import { entryFromRecord, stripLineEnd } from '../record-entry.js';
import { runSliced, runToEnd, type SliceBudget, type Sliced } from '../work-slices.js';
import { decodeContentEncoding, decodeContentEncodingAsync } from './decode-content-encoding.js';
import { type JsonRecordLimits, JsonRecordSpans, jsonShape, parseJsonRecord } from './json-records.js';

export { BodyError } from '../body-error.js';
export { metaFromKubernetes, workloadFromPodName } from '../kubernetes-meta.js';

/** Where a record came from, from the kubernetes filter's metadata; '' when unknown. */
export type BodyFormat = 'json' | 'json_lines' | 'json_stream' | 'msgpack' | 'lines';

export const BODY_FORMATS: readonly BodyFormat[] = ['json', 'json_lines', 'json_stream', 'msgpack', 'lines'];

export interface BodyLimits {
  /** Body size after Content-Encoding is undone (also applies to unencoded bodies); over it → 413. */
  maxDecodedBytes: number;
  /** Records (or lines) per body; over it → 413. */
  maxRecords: number;
  /** Map keys at any depth plus array elements in one record; over it → 400. */
  maxKeysPerRecord: number;
  /** Nesting of objects/arrays in one record; over it → 400. Default 64. */
  maxDepth?: number;
  /** A record (or line) longer than this is not decoded but kept as a dead letter with its start. Default 1 MiB. */
  maxRecordBytes?: number;
}

/** How much of an over-long record its dead letter keeps. */
const KEPT_RAW_BYTES = 64 << 10;

/** The dead-letter entry for record `index` of `bytes` bytes starting at `data[start]`. */
function oversizeEntry(
  data: Uint8Array,
  start: number,
  bytes: number,
  index: number,
  max: number,
): DecodedEntry {
  const kept = Buffer.from(data.buffer, data.byteOffset + start, Math.min(bytes, KEPT_RAW_BYTES));
  return {
    meta: { ...EMPTY_META },
    deadLetter: {
      reason: `record ${index} is ${bytes} bytes, over ingest.maxRecordBytes (${max}); its first ${kept.length} bytes are kept`,
      raw: kept.toString('utf8'),
    },
  };
}

const CONTENT_TYPES: Readonly<Record<string, BodyFormat>> = {
  'application/json': 'json',
  'application/x-ndjson': 'json_lines',
  'application/jsonlines': 'json_lines',
  'application/json-lines': 'json_lines',
  'application/msgpack': 'msgpack',
  'application/x-msgpack': 'msgpack',
  'text/plain': 'lines',
};

/**
 * The body format for a Content-Type (parameters such as `; charset=utf-8` ignored), or `override` when given
 * (one of BODY_FORMATS). `application/json` covers both Fluent Bit's json (an array) and json_stream
 * (concatenated objects): decodeBody tells them apart by the first byte. Unknown types → BodyError 415.
 */
export function formatFromContentType(contentType: string | undefined, override?: string): BodyFormat {
  if (override !== undefined && override !== '') {
    if ((BODY_FORMATS as readonly string[]).includes(override)) return override as BodyFormat;
    throw new BodyError(
      415,
      `unknown body format ${JSON.stringify(override)}: accepted formats are ${BODY_FORMATS.join(', ')}`,
    );
  }
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const format = Object.hasOwn(CONTENT_TYPES, type) ? CONTENT_TYPES[type] : undefined;
  if (format) return format;
  const accepted = Object.keys(CONTENT_TYPES).join(', ');
  throw new BodyError(
    415,
    type === ''
      ? `missing Content-Type: accepted types are ${accepted}`
      : `unsupported Content-Type ${JSON.stringify(type)}: accepted types are ${accepted}`,
  );
}

/**
 * Entries in body order, in one go (tests, tools). `format` overrides the Content-Type. For the JSON formats a
 * body whose first non-blank byte is `[` is an array of records, anything else a sequence of records
 * (json_stream, json_lines).
 */
export function decodeBody(
  body: Buffer,
  opts: { contentType?: string; contentEncoding?: string; format?: BodyFormat; limits: BodyLimits },
): DecodedEntry[] {
  const format = opts.format ?? formatFromContentType(opts.contentType);
  const data = decodeContentEncoding(body, opts.contentEncoding, opts.limits.maxDecodedBytes);
  return runToEnd(decodeBodySteps(data, format, opts.limits));
}

/**
 * decodeBody for a server: the Content-Encoding is undone off the event loop (zlib's thread pool), stopping
 * as soon as the output passes maxDecodedBytes, and the records are decoded in slices of a few ms. Throws
 * BodyError 413 past the budget's deadline, 503 when the budget's heap check refuses to go on. Every
 * refusal comes before any entry is returned, so nothing of a refused body is ever stored.
 */
export async function decodeBodySliced(
  body: Buffer,
  opts: {
    contentType?: string;
    contentEncoding?: string;
    format?: BodyFormat;
    limits: BodyLimits;
    budget: SliceBudget;
    /**
     * Allocates the large buffers (inflated body, unescaped lines): a request's BufferLease, released once
     * the entries are appended, since they refer to those buffers.
     */
    take?: (size: number) => Buffer;
  },
): Promise<DecodedEntry[]> {
  const format = opts.format ?? formatFromContentType(opts.contentType);
  const take = opts.take ?? Buffer.allocUnsafe;
  const data = await decodeContentEncodingAsync(
    body,
    opts.contentEncoding,
    opts.limits.maxDecodedBytes,
    take,
  );
  opts.budget.checkHeap?.();
  return runSliced(decodeBodySteps(data, format, opts.limits, take), opts.budget);
}

/** The record decoding behind both, on a body whose Content-Encoding is undone, pausing at each `yield`. */
export function* decodeBodySteps(
  data: Buffer,
  format: BodyFormat,
  limits: BodyLimits,
  take: (size: number) => Buffer = Buffer.allocUnsafe,
): Sliced<DecodedEntry[]> {
  const recordLimits = {
    maxRecords: limits.maxRecords,
    maxKeysPerRecord: limits.maxKeysPerRecord,
    maxDepth: limits.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxRecordBytes: limits.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
  };
  switch (format) {
    case 'lines':
      return yield* decodeLines(data, recordLimits);
    case 'msgpack':
      return yield* fluentMsgpackEvents(
        data,
        recordLimits,
        (e, index) =>
          e.tooLarge
            ? oversizeEntry(data, e.tooLarge.start, e.tooLarge.bytes, index, recordLimits.maxRecordBytes)
            : entryFromRecord(e.record, e.timeMs),
        (_, start, end, scanner) => msgpackReader.read(data, start, end, scanner),
      );
    case 'json':
    case 'json_lines':
    case 'json_stream':
      return yield* decodeJsonEntries(data, recordLimits, take);
    default:
      throw new BodyError(
        415,
        `unknown body format ${JSON.stringify(format)}: accepted formats are ${BODY_FORMATS.join(', ')}`,
      );
  }
}

/** Records above this size take the general path, so the reader's line buffer stays small. */
const FAST_RECORD_MAX_BYTES = 1 << 20;
const reader = new JsonRecordReader(jsonShape);
const msgpackReader = new MsgpackRecordReader(decodeMsgpackValue);
/** Bytes of input, or items, between pauses of a sliced decode. */
const SLICE_BYTES = 256 << 10;
const SLICE_ITEMS = 256;

/**
 * JSON records in body order: the usual record with a line is read without JSON.parse (its line lands in one
 * buffer for the whole body), anything else is parsed and handed to entryFromRecord. Each record is scanned
 * for structure and limits before it is read.
 */
function* decodeJsonEntries(
  data: Buffer,
  limits: JsonRecordLimits & { maxRecordBytes: number },
  take: (size: number) => Buffer,
): Sliced<DecodedEntry[]> {
  const decoder = new JsonEntries(data, limits, take);
  try {
    while (!decoder.step()) yield;
  } finally {
    reader.release();
  }
  return decoder.entries;
}

/** The work between two pauses lives in plain methods: V8 optimizes them better than generator bodies. */
class JsonEntries {
  readonly entries: DecodedEntry[] = [];
  private readonly records: JsonRecordSpans;
  private lines: Buffer | undefined;
  private pos = 0;
  /**
   * The body up to a bound at most 2 × maxRecordBytes past the record being read, so reading a record
   * (unescaping its line) never runs far past maxRecordBytes before it is found too long.
   */
  private view: Buffer;

  private readonly maxRecordBytes: number;

  constructor(
    private readonly data: Buffer,
    private readonly limits: JsonRecordLimits & { maxRecordBytes: number },
    private readonly take: (size: number) => Buffer,
  ) {
    this.records = new JsonRecordSpans(data, limits);
    this.maxRecordBytes = limits.maxRecordBytes;
    this.view = data;
    this.viewAt(0);
  }

  /** Decodes up to a slice's worth of records; true when the body is done. */
  step(): boolean {
    const { data, records, entries } = this;
    let work = 0;
    for (let items = 0; items < SLICE_ITEMS && work < SLICE_BYTES; items++) {
      if (records.skipGap(SLICE_BYTES)) return false;
      // The usual record is read in one pass: its limits follow from its flat shape (readNext).
      const start = records.nextStart();
      if (start !== undefined && this.readFlat(start)) {
        work += this.lastBytes;
        continue;
      }
      const span = records.next();
      if (!span) return true;
      const bytes = span.end - span.start;
      work += bytes;
      if (bytes > this.maxRecordBytes) {
        entries.push(oversizeEntry(data, span.start, bytes, entries.length, this.maxRecordBytes));
        continue;
      }
      const rec =
        span.end - span.start <= FAST_RECORD_MAX_BYTES
          ? reader.read(data.subarray(span.start, span.end))
          : undefined;
      if (!rec) {
        entries.push(entryFromRecord(parseJsonRecord(data, span, entries.length)));
        continue;
      }
      // Copied at once: another request's decode may use the shared reader after this slice.
      reader.line.copy(this.linesBuffer(), this.pos, 0, rec.length);
      this.pushLine(rec.length, rec.meta, rec.timeMs);
    }
    return false;
  }

  private lastBytes = 0;

  /** The record at `start` read in one pass, when it is flat and short enough; false to read it the general way. */
  private readFlat(start: number): boolean {
    this.viewAt(start);
    const rec = reader.readNext(this.view, start, this.linesBuffer(), this.pos, this.limits);
    if (!rec || rec.end - start > this.maxRecordBytes) return false;
    this.records.accept(rec.end);
    this.lastBytes = rec.end - start;
    this.pushLine(rec.length, rec.meta, rec.timeMs);
    return true;
  }

  /** A view that holds a record of maxRecordBytes from `start`, and ends within 2 × maxRecordBytes of it. */
  private viewAt(start: number): void {
    const { data, maxRecordBytes } = this;
    const bound = start + 2 * maxRecordBytes + 1;
    if (this.view.length >= Math.min(data.length, start + maxRecordBytes + 1) && this.view.length <= bound)
      return;
    this.view = data.subarray(0, Math.min(data.length, bound));
  }

  /** Unescaped, a line is never longer than its JSON text, so the body's size bounds them all. */
  private linesBuffer(): Buffer {
    this.lines ??= this.take(this.data.length);
    return this.lines;
  }

  private pushLine(length: number, meta: DecodedEntry['meta'], timeMs: number | undefined): void {
    const start = this.pos;
    const end = start + length;
    // One literal per shape: a property added later would cost every entry a second allocation.
    const entry: DecodedEntry =
      timeMs === undefined
        ? { bytes: this.lines!, start, end, meta }
        : { bytes: this.lines!, start, end, meta, timeMs };
    this.pos = end;
    this.entries.push(entry);
  }
}

/** Plain text: one entry per non-empty line, `\r` before `\n` dropped; invalid UTF-8 becomes U+FFFD. */
function* decodeLines(
  data: Buffer,
  limits: { maxRecords: number; maxRecordBytes: number },
): Sliced<DecodedEntry[]> {
  const entries: DecodedEntry[] = [];
  let start = 0;
  while (start < data.length) {
    start = splitLines(data, start, entries, limits);
    yield;
  }
  return entries;
}

/** Lines from `start` for one slice of work; returns where it stopped. */
function splitLines(
  data: Buffer,
  start: number,
  entries: DecodedEntry[],
  { maxRecords, maxRecordBytes }: { maxRecords: number; maxRecordBytes: number },
): number {
  let budget = SLICE_BYTES * 4;
  for (let items = 0; items < SLICE_ITEMS && start < data.length; items++) {
    // A run of empty lines is crossed byte by byte, never one indexOf and string per newline.
    if (data[start] === 10) {
      const from = start;
      const end = Math.min(data.length, start + budget);
      while (start < end && data[start] === 10) start++;
      budget -= start - from;
      if (budget <= 0) return start;
      continue;
    }
    let nl = data.indexOf(10, start);
    if (nl < 0) nl = data.length;
    const lineStart = start;
    budget -= nl - start;
    start = nl + 1;
    const entry: DecodedEntry =
      nl - lineStart > maxRecordBytes
        ? oversizeEntry(data, lineStart, nl - lineStart, entries.length, maxRecordBytes)
        : { line: stripLineEnd(data.toString('utf8', lineStart, nl)), meta: { ...EMPTY_META } };
    if (entry.line === '') continue;
    if (entries.length >= maxRecords)
      throw new BodyError(413, `body has more than ${maxRecords} lines (limit ingest.maxRecords)`);
    entries.push(entry);
    if (budget <= 0) return start;
  }
  return start;
}
