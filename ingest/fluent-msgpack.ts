/**
 * Fluent Bit's msgpack: events back to back, each `[timestamp, record]` (legacy/forward) or
 * `[[timestamp, metadata], record]` (Fluent Bit 2.1+), the timestamp an integer, a float or the EventTime
 * extension (type 0: big-endian uint32 seconds, uint32 nanoseconds). A bare record map (kafka output
 * `format msgpack`, timestamp inside the record) is accepted too. Group markers (timestamp seconds -1 / -2,
 * OpenTelemetry groups) are skipped.
 *
 * Binary map keys and binary values are decoded as UTF-8 text (invalid sequences become U+FFFD).
 */
import { DecodeError, Decoder, ExtData, ExtensionCodec } from '@msgpack/msgpack';
import { BodyError } from './body-error.js';
import { type MsgpackScanLimits, MsgpackScanner } from './msgpack-scan.js';
import { runToEnd, type Sliced } from './work-slices.js';

export interface FluentEvent {
  /** Event time in epoch ms; absent for bare record maps. */
  timeMs?: number;
  record: unknown;
  /** Set, with `record` undefined, for an event over maxRecordBytes: left undecoded, where it is in the body. */
  tooLarge?: { start: number; bytes: number };
}

export interface MsgpackLimits {
  maxRecords: number;
  /** Map keys at any depth plus array elements inside one record. */
  maxKeysPerRecord: number;
  /** Deepest nesting of maps and arrays inside one record. */
  maxDepth: number;
  /** Events longer than this are not decoded (see FluentEvent.tooLarge); unlimited when absent. */
  maxRecordBytes?: number;
}

/** Fluent Bit's EventTime, as decoded from extension type 0. */
export class EventTime {
  constructor(
    /** Unsigned 32-bit; group markers are -1 and -2 written as uint32 (0xffffffff, 0xfffffffe). */
    readonly seconds: number,
    readonly nanoseconds: number,
  ) {}

  get isGroupMarker(): boolean {
    const s = this.seconds >>> 0;
    return s === 0xffffffff || s === 0xfffffffe;
  }

  toMs(): number {
    return this.seconds * 1000 + Math.floor(this.nanoseconds / 1e6);
  }
}

export const EVENT_TIME_EXT_TYPE = 0;
const GROUP_START = -1;
const GROUP_END = -2;

const extensionCodec = new ExtensionCodec();
extensionCodec.register({
  type: EVENT_TIME_EXT_TYPE,
  encode: (input) => {
    if (!(input instanceof EventTime)) return null;
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, input.seconds >>> 0);
    view.setUint32(4, input.nanoseconds);
    return out;
  },
  decode: (data) => {
    if (data.byteLength !== 8)
      throw new DecodeError(`EventTime extension must be 8 bytes, got ${data.byteLength}`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new EventTime(view.getUint32(0), view.getUint32(4));
  },
});

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function mapKey(key: unknown): string | number {
  if (typeof key === 'string' || typeof key === 'number') return key;
  if (key instanceof Uint8Array) {
    const text = utf8.decode(key);
    // The library refuses `__proto__` only for str keys; the same key as bin would replace the map's prototype.
    if (text === '__proto__') throw new DecodeError('The key __proto__ is not allowed');
    return text;
  }
  throw new DecodeError(`map keys must be strings, got ${key === null ? 'nil' : typeof key}`);
}

/** Every event of `buf` at once (Kafka messages, which are small). */
export function decodeFluentMsgpack(buf: Uint8Array, limits: MsgpackLimits): FluentEvent[] {
  return runToEnd(fluentMsgpackEvents(buf, limits, (e) => e));
}

/** Bytes of input between pauses of the sliced decode. */
const SLICE_BYTES = 256 << 10;
const SLICE_EVENTS = 256;

/**
 * Each event of `buf`, handed to `map` as soon as it is decoded (so the decoded record can be dropped), in a
 * Sliced run that pauses every few hundred KB. Each event's headers are scanned for depth and size before
 * the decoder builds it; any refusal throws a BodyError and nothing of the body is returned.
 */
export function* fluentMsgpackEvents<T>(
  buf: Uint8Array,
  limits: MsgpackLimits,
  map: (e: FluentEvent, index: number) => T,
  fast?: FastEvent<T>,
): Sliced<T[]> {
  const events = new MsgpackEvents(buf, limits, map, fast);
  while (!events.step()) yield;
  return events.out;
}

/**
 * Reads the event `buf[start..end)` (within the limits, as the header scanner found) without decoding it,
 * when it can; undefined to decode it the general way (MsgpackRecordReader).
 */
export type FastEvent<T> = (
  buf: Uint8Array,
  start: number,
  end: number,
  scanner: MsgpackScanner,
) => T | undefined;

const unlimited = new Decoder({ extensionCodec, mapKeyConverter: mapKey });
const NO_LIMITS: MsgpackLimits = {
  maxRecords: Number.POSITIVE_INFINITY,
  maxKeysPerRecord: Number.POSITIVE_INFINITY,
  maxDepth: Number.POSITIVE_INFINITY,
};

/** One value (a record's kubernetes map), decoded and normalized as records are; its limits already checked. */
export function decodeMsgpackValue(bytes: Uint8Array): unknown {
  return normalize(unlimited.decode(bytes), NO_LIMITS, 0);
}

/** The work between two pauses lives in plain methods: V8 optimizes them better than generator bodies. */
class MsgpackEvents<T> {
  readonly out: T[] = [];
  private readonly scanner: MsgpackScanner;
  private readonly limits: MsgpackScanLimits;
  private readonly decoder: Decoder;
  private index = 0;
  private records = 0;
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly opts: MsgpackLimits,
    private readonly map: (e: FluentEvent, index: number) => T,
    private readonly fast?: FastEvent<T>,
  ) {
    this.scanner = new MsgpackScanner(buf);
    this.limits = { maxDepth: opts.maxDepth, maxElements: opts.maxKeysPerRecord };
    this.decoder = new Decoder({
      extensionCodec,
      mapKeyConverter: mapKey,
      maxMapLength: opts.maxKeysPerRecord,
      maxArrayLength: Math.max(2, opts.maxKeysPerRecord),
    });
  }

  /** Decodes up to a slice's worth of events; true when the body is done. */
  step(): boolean {
    const { buf, scanner, limits, opts } = this;
    let work = 0;
    for (let items = 0; items < SLICE_EVENTS && work < SLICE_BYTES; items++) {
      if (this.pos >= buf.length) return true;
      const start = this.pos;
      const index = this.index;
      // [header, record]: the header ([time, metadata] or time) and the record each within the record limits.
      this.pos =
        buf[start] === 0x92
          ? scanner.valueEnd(scanner.valueEnd(start + 1, index, limits), index, limits)
          : scanner.valueEnd(start, index, limits);
      work += this.pos - start;
      if (this.pos - start > (opts.maxRecordBytes ?? Number.POSITIVE_INFINITY)) {
        if (this.records >= opts.maxRecords) throw tooManyRecords(opts);
        this.out.push(
          this.map({ record: undefined, tooLarge: { start, bytes: this.pos - start } }, this.records),
        );
        this.records++;
        this.index++;
        continue;
      }
      const quick = this.fast?.(buf, start, this.pos, scanner);
      if (quick !== undefined) {
        if (this.records >= opts.maxRecords) throw tooManyRecords(opts);
        this.out.push(quick);
        this.records++;
        this.index++;
        continue;
      }
      let item: unknown;
      try {
        item = this.decoder.decode(buf.subarray(start, this.pos));
      } catch (err) {
        throw decodeError(err, index, opts);
      }
      const event = toEvent(item, index);
      if (event) {
        if (this.records >= opts.maxRecords) throw tooManyRecords(opts);
        event.record = normalize(event.record, opts, index);
        this.out.push(this.map(event, this.records));
        this.records++;
      }
      this.index++;
    }
    return this.pos >= buf.length;
  }
}

function tooManyRecords(limits: MsgpackLimits): BodyError {
  return new BodyError(413, `body has more than ${limits.maxRecords} records (limit ingest.maxRecords)`);
}

function decodeError(err: unknown, index: number, limits: MsgpackLimits): Error {
  if (err instanceof BodyError) return err;
  const message = (err as Error).message;
  if (/^Max length exceeded: (map|array) length/.test(message)) return tooManyKeys(limits, index);
  if (err instanceof RangeError || err instanceof DecodeError) {
    return new BodyError(400, `invalid msgpack in event ${index}: ${message}`);
  }
  return err as Error;
}

/** The event's time and record; undefined for group markers. */
function toEvent(item: unknown, index: number): FluentEvent | undefined {
  if (Array.isArray(item)) {
    if (item.length !== 2) throw notAnEvent(index);
    const head: unknown = item[0];
    const ts: unknown = Array.isArray(head) ? head[0] : head;
    if (ts instanceof EventTime) {
      if (ts.isGroupMarker) return undefined;
      return { timeMs: ts.toMs(), record: item[1] };
    }
    if (typeof ts === 'number' && Number.isFinite(ts)) {
      if (ts === GROUP_START || ts === GROUP_END) return undefined;
      return { timeMs: Math.round(ts * 1000), record: item[1] };
    }
    throw new BodyError(400, `msgpack event ${index} has no valid timestamp`);
  }
  if (item !== null && typeof item === 'object' && Object.getPrototypeOf(item) === Object.prototype) {
    return { record: item };
  }
  throw notAnEvent(index);
}

function notAnEvent(index: number): BodyError {
  return new BodyError(
    400,
    `msgpack event ${index} is not [timestamp, record], [[timestamp, metadata], record] or a record map`,
  );
}

/**
 * Binary strings to text, EventTime to epoch seconds, Date (ext -1) to ISO text, other extensions to
 * `{ext, data}` with base64 data; counts keys and depth against the limits. Maps are updated in place.
 */
function normalize(value: unknown, limits: MsgpackLimits, index: number): unknown {
  let keys = 0;
  const visit = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (v instanceof Uint8Array) return utf8.decode(v);
    if (v instanceof EventTime) return v.seconds + v.nanoseconds / 1e9;
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
    if (v instanceof ExtData) {
      const data = v.data instanceof Uint8Array ? v.data : new Uint8Array(0);
      return {
        ext: v.type,
        data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
      };
    }
    if (depth >= limits.maxDepth) {
      throw new BodyError(
        400,
        `record ${index} is nested more than ${limits.maxDepth} levels deep (limit ingest.maxDepth)`,
      );
    }
    if (Array.isArray(v)) {
      keys += v.length;
      if (keys > limits.maxKeysPerRecord) throw tooManyKeys(limits, index);
      for (let i = 0; i < v.length; i++) v[i] = visit(v[i], depth + 1);
      return v;
    }
    const obj = v as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (++keys > limits.maxKeysPerRecord) throw tooManyKeys(limits, index);
      obj[key] = visit(obj[key], depth + 1);
    }
    return obj;
  };
  return visit(value, 0);
}

function tooManyKeys(limits: MsgpackLimits, index: number): BodyError {
  return new BodyError(
    400,
    `record ${index} has more than ${limits.maxKeysPerRecord} keys (limit ingest.maxKeysPerRecord)`,
  );
}
