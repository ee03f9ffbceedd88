/**
 * One Kafka message from Fluent Bit's `kafka` output (or any producer) into the pipeline:
 *
 * - `format json`: a JSON record map, timestamp key (`@timestamp`) first, the raw Envoy line in `log` (or
 *   `message`), the `kubernetes` map; or a record Fluent Bit already parsed into access-log fields
 * - `format msgpack`: the same record as a msgpack map (Fluent Bit event arrays are accepted too)
 * - `format raw`, or any producer of plain text: the payload is the line (several lines split on `\n`)
 *
 * The format is told from the first byte, so one topic may mix them. A message that cannot be decoded
 * (invalid JSON or msgpack, empty, over the size limit, a record without a line) becomes a dead letter
 * carrying its topic, partition and offset; it never stops consumption.
 */
import type { RowSource } from '../../store/row-encoder.js';
import { isPlainObject } from '../access-log-object.js';
import { BodyError } from '../body-error.js';
import { DEFAULT_MAX_DEPTH } from '../decoded-entry.js';
import { decodeFluentMsgpack } from '../fluent-msgpack.js';
import { JsonRecordReader } from '../json-record-reader.js';
import type { IngestPipeline, LineContext } from '../pipeline.js';
import { entryFromRecord } from '../record-entry.js';
import { NO_META, RowSources, type SourceMetaLike } from '../row-sources.js';

export interface MessageLimits {
  /** Messages larger than this are dead letters (only their start is kept). */
  maxMessageBytes: number;
  maxKeysPerRecord: number;
  maxRecordsPerMessage: number;
  /** Nesting a msgpack record may have (config ingest.maxDepth, as for HTTP intake). */
  maxDepth: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = {
  maxMessageBytes: 1 << 20,
  maxKeysPerRecord: 1000,
  maxRecordsPerMessage: 10_000,
  maxDepth: DEFAULT_MAX_DEPTH,
};

/** How much of an undecodable message a dead letter keeps. */
export const DEAD_LETTER_RAW_BYTES = 64 << 10;

export interface MessagePosition {
  topic: string;
  partition: number;
  offset: string;
}

const LF = 10;
const NO_SOURCE: RowSource = {
  source: 'kafka',
  namespace: '',
  pod: '',
  container: '',
  workload: '',
  node: '',
};
const LBRACE = 0x7b;

function isMsgpackStart(b: number): boolean {
  // fixmap, fixarray, array16/32, map16/32: never the first byte of a text access-log line.
  return (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

export class KafkaMessageDecoder {
  private readonly sources = new RowSources();
  private scratch = Buffer.allocUnsafe(1 << 16);
  private readonly reader = new JsonRecordReader();
  private readonly plainSource: RowSource;
  private last: { meta: SourceMetaLike; source: RowSource } | undefined;

  constructor(
    private readonly pipeline: IngestPipeline,
    private readonly limits: MessageLimits = DEFAULT_MESSAGE_LIMITS,
  ) {
    this.plainSource = this.sources.get('kafka', NO_META);
  }

  private readonly origins = new Map<string, string[]>();
  /** One context, refilled for each message: nothing keeps it past the append. */
  private readonly ctx: LineContext & { kafka: MessagePosition } = {
    source: NO_SOURCE,
    origin: '',
    timeMs: undefined,
    partial: undefined,
    kafka: { topic: '', partition: 0, offset: '' },
  };

  /** `topic/partition`, made once per partition. */
  private origin(topic: string, partition: number): string {
    let list = this.origins.get(topic);
    if (!list) this.origins.set(topic, (list = []));
    return (list[partition] ??= `${topic}/${partition}`);
  }

  /** Keeps a message as a dead letter with `reason`. */
  deadLetter(reason: string, value: Buffer | null, topic: string, partition: number, offset: string): void {
    const at = { topic, partition, offset };
    const ctx: LineContext = { source: this.plainSource, origin: this.origin(topic, partition), kafka: at };
    this.pipeline.appendDeadLetter(reason, value ? keep(value) : '', ctx);
  }

  /** Appends the rows (or dead letters) of the message at `offset` (kafkajs' offset text). */
  append(value: Buffer | null, topic: string, partition: number, offset: string): void {
    const ctx = this.ctx;
    ctx.source = this.plainSource;
    ctx.origin = this.origin(topic, partition);
    ctx.timeMs = undefined;
    ctx.partial = undefined;
    ctx.kafka.topic = topic;
    ctx.kafka.partition = partition;
    ctx.kafka.offset = offset;
    if (!value || value.length === 0) {
      this.pipeline.appendDeadLetter('empty Kafka message', '', ctx);
      return;
    }
    let i = 0;
    while (i < value.length && isSpace(value[i]!)) i++;
    if (i === value.length) {
      this.pipeline.appendDeadLetter('empty Kafka message (only whitespace)', keep(value), ctx);
      return;
    }
    if (value.length > this.limits.maxMessageBytes) {
      this.pipeline.appendDeadLetter(
        `Kafka message of ${value.length} bytes is over the ${this.limits.maxMessageBytes}-byte limit (first ${DEAD_LETTER_RAW_BYTES} bytes kept)`,
        keep(value),
        ctx,
      );
      return;
    }
    const first = value[i]!;
    if (first === LBRACE) this.appendJson(value, ctx);
    else if (isMsgpackStart(first)) this.appendMsgpack(value, ctx);
    else this.appendText(value, ctx);
  }

  private appendJson(value: Buffer, ctx: LineContext): void {
    if (this.appendJsonLine(value, ctx)) return;
    let record: unknown;
    try {
      record = JSON.parse(value.toString('utf8'));
    } catch (err) {
      this.pipeline.appendDeadLetter(`invalid JSON: ${(err as Error).message}`, keep(value), ctx);
      return;
    }
    if (!isPlainObject(record)) {
      this.pipeline.appendDeadLetter('JSON message is not a record (object)', keep(value), ctx);
      return;
    }
    this.appendRecord(record, undefined, ctx, value);
  }

  /** The common record (a line in `log` or `message`) without JSON.parse; false when it needs the general path. */
  private appendJsonLine(value: Buffer, ctx: LineContext): boolean {
    const rec = this.reader.read(value);
    if (!rec) return false;
    ctx.source = this.sourceOf(rec.meta);
    if (rec.timeMs !== undefined) ctx.timeMs = rec.timeMs;
    if (rec.length === 0) {
      this.pipeline.appendDeadLetter('Kafka record has an empty line', '', ctx);
      return true;
    }
    this.pipeline.appendLine(this.reader.line, 0, rec.length, ctx);
    this.unfinishedPartial(ctx);
    return true;
  }

  /** The reader returns one meta object per distinct kubernetes map, so its row source is found by identity. */
  private sourceOf(meta: SourceMetaLike): RowSource {
    if (this.last?.meta === meta) return this.last.source;
    const source = this.sources.get('kafka', meta);
    this.last = { meta, source };
    return source;
  }

  private appendMsgpack(value: Buffer, ctx: LineContext): void {
    let events: ReturnType<typeof decodeFluentMsgpack>;
    try {
      events = decodeFluentMsgpack(value, {
        maxRecords: this.limits.maxRecordsPerMessage,
        maxKeysPerRecord: this.limits.maxKeysPerRecord,
        maxDepth: this.limits.maxDepth,
      });
    } catch (err) {
      if (!(err instanceof BodyError) && !(err instanceof RangeError)) throw err;
      this.pipeline.appendDeadLetter(
        `invalid msgpack: ${(err as Error).message} (raw kept as base64)`,
        keepBase64(value),
        ctx,
      );
      return;
    }
    if (!events.length) {
      this.pipeline.appendDeadLetter('msgpack message holds no record', keepBase64(value), ctx);
      return;
    }
    for (const e of events) {
      if (!isPlainObject(e.record)) {
        this.pipeline.appendDeadLetter(
          'msgpack event record is not a map',
          JSON.stringify(e.record) ?? '',
          ctx,
        );
        continue;
      }
      this.appendRecord(e.record, e.timeMs, ctx, undefined);
    }
  }

  private appendRecord(
    record: Record<string, unknown>,
    eventTimeMs: number | undefined,
    base: LineContext,
    value: Buffer | undefined,
  ): void {
    const entry = entryFromRecord(record, eventTimeMs);
    const ctx: LineContext = {
      source: this.sources.get('kafka', entry.meta),
      origin: base.origin,
      kafka: base.kafka,
    };
    if (entry.timeMs !== undefined) ctx.timeMs = entry.timeMs;
    if (entry.object) {
      this.pipeline.appendObject(entry.object, ctx);
      return;
    }
    if (typeof record['log'] !== 'string' && typeof record['message'] !== 'string') {
      this.pipeline.appendDeadLetter(
        'Kafka record has no "log" or "message" line and no access-log fields',
        value ? keep(value) : (entry.line ?? ''),
        ctx,
      );
      return;
    }
    this.appendString(entry.line ?? '', ctx);
  }

  /** A line held as a string: copied into a reused buffer, since the pipeline scans bytes. */
  private appendString(line: string, ctx: LineContext): void {
    if (line.length === 0) {
      this.pipeline.appendDeadLetter('Kafka record has an empty line', '', ctx);
      return;
    }
    let buf = this.scratch;
    if (line.length * 3 > buf.length) {
      const need = Buffer.byteLength(line);
      if (need > buf.length) {
        if (need <= 1 << 20) this.scratch = buf = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
        else buf = Buffer.from(line);
      }
    }
    const end = buf === this.scratch ? buf.write(line, 0) : buf.length;
    this.pipeline.appendLine(buf, 0, end, ctx);
    this.unfinishedPartial(ctx);
  }

  /** Plain text (`format raw`, kcat, other shippers): one line or several, separated by `\n`. */
  private appendText(value: Buffer, ctx: LineContext): void {
    let start = 0;
    const lineCtx: LineContext = { ...ctx };
    while (start < value.length) {
      let nl = value.indexOf(LF, start);
      if (nl < 0) nl = value.length;
      this.pipeline.appendLine(value, start, nl, lineCtx);
      start = nl + 1;
    }
    this.unfinishedPartial(lineCtx);
  }

  /** A CRI `P` fragment whose final piece is not in the same message cannot be joined: kept as a dead letter. */
  private unfinishedPartial(ctx: LineContext): void {
    if (!ctx.partial?.length) return;
    const rest = Buffer.concat(ctx.partial);
    ctx.partial = undefined;
    this.pipeline.appendDeadLetter(
      'CRI partial line without its final fragment in the same message',
      rest.toString('utf8'),
      ctx,
    );
  }
}

function keep(value: Buffer): string {
  return value.toString('utf8', 0, Math.min(value.length, DEAD_LETTER_RAW_BYTES));
}

function keepBase64(value: Buffer): string {
  return value.subarray(0, Math.min(value.length, (DEAD_LETTER_RAW_BYTES / 4) * 3)).toString('base64');
}
