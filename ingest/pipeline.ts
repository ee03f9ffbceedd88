/**
 * From lines and records to stored rows. Sources append; rows collect in a batch until it holds enough
 * rows or bytes or has waited long enough; sealed batches wait in a bounded queue and are inserted one at a
 * time while the next one fills. When the store is slow or down the queue fills and intake slows
 * (waitForRoom) or is refused (`state`), instead of memory growing or data being dropped.
 *
 * Every batch carries a token derived from its content (or one the source gives, such as Kafka offsets), so
 * a batch retried after a timeout is stored once.
 *
 * With a journal (ingest/journal/), each batch's rows are also written to a file of its own as they arrive,
 * and a source may be answered once its rows are on disk (currentBatchDurable) rather than stored: HTTP
 * intake then no longer waits for inserts, and batches fill to batchRows. The file is removed once the batch
 * is stored; files left by a crash are stored at the next start (replayJournal), under the batch's token.
 *
 * A line whose values do not fit their columns is dead-lettered when it is encoded (store/row-encoder.ts).
 * Should the store still refuse a batch for a data reason (store/insert-error-kind.ts), the batch is split
 * in halves until the refused rows stand alone; they become dead letters with the engine's reason and the
 * rest is stored. Only outages are retried whole, so a bad row never stops intake.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { criPayloadStart, recordFromObject } from '../parser/index.js';
import type { AccessRecord } from '../parser/record.js';
import { engineReason, insertErrorKind } from '../store/insert-error-kind.js';
import { ROW_ADDED, ROW_REJECTED, type RowSource } from '../store/row-encoder.js';
import { ACCESS_LOG_INSERT_COLUMNS, DEAD_LETTER_INSERT_COLUMNS } from '../store/schema.js';
import { type Store, StoreConfigError } from '../store/store.js';
import { Batch } from './batch.js';
import { deadLetterRow } from './dead-letter-row.js';
import type { BatchJournal } from './journal/batch-journal.js';
import { JournalFile } from './journal/journal-file.js';
import { isFailure, isTextMatch, LineDecoder } from './line-decoder.js';

export interface PipelineOptions {
  /** Parser spec: `auto`, `json`, a preset name or an Envoy format string. */
  format: string;
  batchRows: number;
  batchBytes: number;
  flushIntervalMs: number;
  /** Sealed batches allowed to wait for the store before intake is refused or slowed. */
  maxPendingBatches: number;
  /** Keep every raw line in access_log.raw. */
  storeRaw: boolean;
  retryBaseMs: number;
  retryMaxMs: number;
  /**
   * Prefix of the dedup tokens of batches sealed without a token of their own: batch i gets `<prefix>:<i>`.
   * A file ingest derives it from the inputs, so re-running it after a crash repeats the same tokens and
   * ClickHouse drops the batches already stored; a server uses a random one, so two requests that happen to
   * carry identical lines are both stored (a retried request is recognised before it reaches a batch).
   */
  tokenPrefix?: string;
  /** Where each batch is written as it fills, so that sources can be answered before it is stored. */
  journal?: BatchJournal;
}

export const DEFAULT_PIPELINE_OPTIONS: PipelineOptions = {
  format: 'auto',
  batchRows: 50_000,
  batchBytes: 32 << 20,
  flushIntervalMs: 1000,
  maxPendingBatches: 4,
  storeRaw: false,
  retryBaseMs: 200,
  retryMaxMs: 5000,
};

/** Where a line came from, for its row and, if it fails, its dead letter. */
export interface LineContext {
  source: RowSource;
  /** File path, remote address, topic/partition: where to look for the original. */
  origin: string;
  /** The shipper's timestamp, for formats without START_TIME. */
  timeMs?: number;
  kafka?: { topic: string; partition: number; offset: string };
  /** CRI `P` fragments waiting for their final `F` piece. */
  partial?: Buffer[];
}

export interface PipelineStats {
  lines: number;
  parsed: number;
  deadLetters: number;
  batches: number;
  storedRows: number;
  insertErrors: number;
  lastInsertMs: number;
  /** Journal writes that failed (each answered 503; the rows stay queued in memory). */
  journalWriteErrors: number;
}

type IntakeState = 'ok' | 'full' | 'store-down';

const MIN_BATCH_BYTES = 1 << 20;

export class IngestPipeline {
  readonly stats: PipelineStats = {
    lines: 0,
    parsed: 0,
    deadLetters: 0,
    batches: 0,
    storedRows: 0,
    insertErrors: 0,
    lastInsertMs: 0,
    journalWriteErrors: 0,
  };
  private readonly decoder: LineDecoder;
  private current: Batch;
  private readonly queue: Batch[] = [];
  private draining = false;
  private timer: NodeJS.Timeout | undefined;
  /** The flush interval passed while an insert was running: seal once the store is free. */
  private sealWhenFree = false;
  private storeDown = false;
  private closed = false;
  private roomWaiters: Array<() => void> = [];
  private readonly tokenPrefix: string;
  private sealed = 0;
  /** Journal writes and removals, one at a time and in order: a sync that resolves covers all before it. */
  private journalChain: Promise<void> = Promise.resolve();
  /** The journal write queued and not yet begun, which later callers join (group commit). */
  private nextJournalWrite: Promise<void> | undefined;
  private journalDown = false;

  /**
   * The last journal write failed (disk full, I/O error). Requests are not refused for it up front: the next
   * one's write is the test, and answers 503 if it fails too.
   */
  get journalFailing(): boolean {
    return this.journalDown;
  }

  constructor(
    private readonly store: Store,
    private readonly opts: PipelineOptions,
    private readonly log?: Logger,
  ) {
    this.decoder = new LineDecoder(opts.format);
    this.tokenPrefix = opts.tokenPrefix ?? `run-${randomUUID()}`;
    this.current = this.newBatch(MIN_BATCH_BYTES);
  }

  private newBatch(initialBytes: number): Batch {
    const batch = new Batch(initialBytes);
    if (this.opts.journal) {
      // Named now, not when sealed: the journal holds the token the batch will be stored under.
      batch.journal = this.opts.journal.next();
      batch.token = `${this.tokenPrefix}:${this.sealed++}`;
    }
    return batch;
  }

  /** `ok`, or why a source that cannot wait (HTTP) should be told to come back later. */
  get state(): IntakeState {
    if (this.storeDown) return 'store-down';
    return this.queue.length >= this.opts.maxPendingBatches ? 'full' : 'ok';
  }

  get pendingBatches(): number {
    return this.queue.length;
  }

  /** Queued batches held only in the journal, left by an earlier process and not read back yet. */
  get batchesOnDisk(): number {
    return this.queue.reduce((n, b) => n + (b.onDisk ? 1 : 0), 0);
  }

  /** Resolves once the queue has room: sources that can wait (files, Kafka) call it between chunks. */
  waitForRoom(): Promise<void> {
    if (this.queue.length < this.opts.maxPendingBatches) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Parses and appends the line `buf[start..end)`; blank lines are skipped. */
  appendLine(buf: Buffer, start: number, end: number, ctx: LineContext): void {
    if (end > start && buf[end - 1] === 13) end--;
    if (end === start) return;
    const cri = criPayloadStart(buf, start, end);
    if (cri < 0) {
      (ctx.partial ??= []).push(Buffer.from(buf.subarray(-cri - 1, end)));
      return;
    }
    if (cri > 0) {
      start = cri;
      if (ctx.partial?.length) {
        const joined = Buffer.concat([...ctx.partial, buf.subarray(start, end)]);
        ctx.partial = undefined;
        this.appendLine(joined, 0, joined.length, ctx);
        return;
      }
    }
    this.stats.lines++;
    const batch = this.current;
    const result = this.decoder.decode(buf, start, end);
    const fallbackTime = this.decoder.wrapperTimeMs ?? ctx.timeMs ?? Date.now();
    if (isTextMatch(result)) {
      const outcome = batch.encoder.addScan(
        result,
        buf,
        result.state,
        ctx.source,
        this.opts.storeRaw,
        start,
        end,
        fallbackTime,
      );
      if (outcome === ROW_ADDED) this.stats.parsed++;
      else if (outcome === ROW_REJECTED)
        this.addDeadLetter(batch, batch.encoder.rejection, 0, rawText(buf, start, end), ctx);
      else {
        const record = result.parseBytes(buf, start, end);
        if (isFailure(record)) this.addDeadLetter(batch, record.error, record.offset, record.raw, ctx);
        else this.addRecordRow(batch, record, ctx, fallbackTime, buf, start, end);
      }
    } else if (isFailure(result)) {
      this.addDeadLetter(batch, result.error, result.offset, result.raw, ctx);
    } else {
      this.addRecordRow(batch, result, ctx, fallbackTime, buf, start, end);
    }
    this.afterAppend();
  }

  /** Appends each line of `buf`, a chunk of whole lines (the last one's newline may be missing). */
  appendLines(buf: Buffer, ctx: LineContext): void {
    let start = 0;
    while (start < buf.length) {
      let nl = buf.indexOf(10, start);
      if (nl < 0) nl = buf.length;
      this.appendLine(buf, start, nl, ctx);
      start = nl + 1;
    }
  }

  /**
   * A parsed record's row, or its dead letter when a value does not fit its column. `line` is the raw text,
   * or the buffer holding it at `start..end` (decoded only when it is kept or dead-lettered).
   */
  private addRecordRow(
    batch: Batch,
    record: AccessRecord,
    ctx: LineContext,
    fallbackTime: number,
    line: string | Buffer,
    start = 0,
    end = 0,
  ): void {
    const raw = this.opts.storeRaw ? lineText(line, start, end) : null;
    if (batch.encoder.addRecord(record, ctx.source, raw, fallbackTime)) this.stats.parsed++;
    else this.addDeadLetter(batch, batch.encoder.rejection, 0, raw ?? lineText(line, start, end), ctx);
  }

  /** Appends an access-log object a shipper already parsed (Fluent Bit's envoy parser, merged JSON logs). */
  appendObject(obj: Record<string, unknown>, ctx: LineContext): void {
    this.stats.lines++;
    const raw = JSON.stringify(obj);
    const record = recordFromObject(obj, raw);
    if (isFailure(record)) this.addDeadLetter(this.current, record.error, record.offset, raw, ctx);
    else this.addRecordRow(this.current, record, ctx, ctx.timeMs ?? Date.now(), raw);
    this.afterAppend();
  }

  /** Something that never reached the parser (undecodable message, over-long line): kept with its reason. */
  appendDeadLetter(reason: string, raw: string, ctx: LineContext): void {
    this.stats.lines++;
    this.addDeadLetter(this.current, reason, 0, raw, ctx);
    this.afterAppend();
  }

  /**
   * Resolves when everything appended so far is stored: the batch now taking rows, or, when that one is
   * still empty (the rows filled and sealed a batch, or nothing was appended), the last sealed one, since
   * batches are stored in order.
   */
  currentBatchStored(): Promise<void> {
    if (this.current.size > 0) {
      this.armTimer();
      return this.current.done;
    }
    return this.queue.length ? this.queue[this.queue.length - 1]!.done : Promise.resolve();
  }

  /**
   * Resolves when everything appended so far is durable: written to the journal and synced to disk, or,
   * without a journal, stored. Calls while a write is under way share the next one (group commit).
   */
  currentBatchDurable(): Promise<void> {
    if (!this.opts.journal) return this.currentBatchStored();
    if (this.nextJournalWrite) return this.nextJournalWrite;
    const write = this.journalChain.then(() => {
      this.nextJournalWrite = undefined;
      return this.writeJournals();
    });
    this.nextJournalWrite = write;
    this.journalChain = write.catch(() => {});
    return write;
  }

  /** Writes what each batch (sealed or filling) holds beyond its journal, one file after the other. */
  private async writeJournals(): Promise<void> {
    try {
      for (const batch of [...this.queue, this.current]) await batch.writeJournal();
      if (this.journalDown) this.log?.info('the intake journal takes writes again');
      this.journalDown = false;
    } catch (err) {
      this.stats.journalWriteErrors++;
      if (!this.journalDown) this.log?.error({ err }, 'the intake journal cannot be written');
      this.journalDown = true;
      throw err;
    }
  }

  /** Removes a stored batch's journal file, after any write to it still queued. */
  private removeJournal(batch: Batch): void {
    const file = batch.journal;
    if (!file) return;
    batch.journal = undefined;
    this.journalChain = this.journalChain.then(() =>
      file
        .remove()
        .catch((err) => this.log?.warn({ err, file: file.path }, "a stored batch's journal file stays")),
    );
  }

  /**
   * Queues the batches a journal holds from an earlier run (one that stopped before storing them), oldest
   * first, ahead of anything new. Each is read from its file when its turn comes and stored under its own
   * token, so a batch that was stored after all is dropped by the store as a repeat. Returns their number.
   */
  replayJournal(): number {
    const journal = this.opts.journal;
    if (!journal) return 0;
    const leftovers = journal.leftovers().map((path) => Batch.leftOver(new JournalFile(path)));
    this.queue.unshift(...leftovers);
    this.stats.batches += leftovers.length;
    if (leftovers.length) void this.drain();
    return leftovers.length;
  }

  /** CRI `P` fragments still waiting when their source ends can never be completed: kept as a dead letter. */
  endSource(ctx: LineContext): void {
    if (!ctx.partial?.length) return;
    const raw = Buffer.concat(ctx.partial).toString('utf8');
    ctx.partial = undefined;
    this.appendDeadLetter('CRI partial line (P) without its final piece (F)', raw, ctx);
  }

  /** Seals the current batch now (with the source's own dedup token, if given); resolves when it is stored. */
  seal(token?: string): Promise<void> {
    const batch = this.current;
    if (batch.size === 0)
      return this.queue.length ? this.queue[this.queue.length - 1]!.done : Promise.resolve();
    // The next encoder starts at this batch's size: growing from 1 MiB by doubling copied about as many bytes
    // as a full batch holds, for every batch.
    const nextBytes = Math.min(this.opts.batchBytes, Math.ceil(batch.encoder.bytes * 1.05));
    batch.seal(token ?? batch.token ?? `${this.tokenPrefix}:${this.sealed++}`);
    this.current = this.newBatch(Math.max(MIN_BATCH_BYTES, nextBytes));
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.sealWhenFree = false;
    this.queue.push(batch);
    this.stats.batches++;
    void this.drain();
    return batch.done;
  }

  /** Seals and waits until everything appended so far is stored. */
  async flush(): Promise<void> {
    this.seal();
    while (this.queue.length) await this.queue[this.queue.length - 1]!.done;
  }

  /** Stops taking batches after flushing what was accepted; gives up waiting after `timeoutMs`. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closed) return;
    const flushed = this.flush();
    const timeout = new Promise<'timeout'>((r) => setTimeout(r, timeoutMs, 'timeout').unref());
    const outcome = await Promise.race([flushed.then(() => 'ok' as const), timeout]);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (outcome === 'timeout') {
      const rows = this.queue.reduce((n, b) => n + b.size, 0);
      this.log?.error(
        { rows, batches: this.queue.length },
        'shutdown: the store did not take these rows in time',
      );
      for (const b of this.queue) b.reject(new Error('pipeline closed before the store accepted the batch'));
    }
    // Whatever was not stored stays in the journal for the next start.
    await this.journalChain;
    for (const b of [...this.queue, this.current]) await b.journal?.close();
    this.opts.journal?.release();
  }

  private afterAppend(): void {
    const batch = this.current;
    if (
      batch.encoder.rows >= this.opts.batchRows ||
      batch.encoder.bytes + batch.deadChars >= this.opts.batchBytes ||
      batch.dead.length >= this.opts.batchRows
    ) {
      this.seal();
    } else {
      this.armTimer();
    }
  }

  private armTimer(): void {
    if (this.timer || this.current.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Group commit: while the store is busy with an earlier batch, a batch sealed now would only wait behind
      // it, so the rows keep filling this one, which is sealed the moment the store is free (drain) or once it
      // is full (afterAppend). Its rows are stored no later, in fewer and larger inserts: at HTTP rates the
      // 250 ms timer made parts of a few thousand rows, each insert and the merges of its parts costing chDB
      // more per row than the file path's 50k-row batches (bench:ingest, CPU per million lines).
      if (this.queue.length > 0) this.sealWhenFree = true;
      else this.seal();
    }, this.opts.flushIntervalMs);
  }

  private addDeadLetter(batch: Batch, reason: string, offset: number, raw: string, ctx: LineContext): void {
    this.stats.deadLetters++;
    const row = deadLetterRow({
      source: ctx.source.source,
      origin: ctx.origin,
      reason,
      offset,
      raw,
      namespace: ctx.source.namespace,
      pod: ctx.source.pod,
      kafka: ctx.kafka,
    });
    batch.dead.push(row);
    batch.deadChars += row.length;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length && !this.closed) {
        const batch = this.queue[0]!;
        if (!(await this.loadFromJournal(batch))) continue;
        await this.insertWithRetry(batch);
        if (this.closed) break;
        this.queue.shift();
        this.removeJournal(batch);
        batch.resolve();
        if (this.queue.length === 0 && this.sealWhenFree) {
          this.sealWhenFree = false;
          this.seal();
        }
        const waiters = this.roomWaiters;
        this.roomWaiters = [];
        for (const w of waiters) w();
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Reads a left-over batch from its journal; false (after a pause) when the file cannot be read now, for
   * drain to try again.
   */
  private async loadFromJournal(batch: Batch): Promise<boolean> {
    if (!batch.onDisk) return true;
    try {
      await batch.load();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.log?.error(
          { file: batch.journal?.path },
          "a queued batch's journal file is gone: its rows cannot be stored",
        );
        batch.onDisk = false;
        batch.rowsBody = Buffer.alloc(0);
        return true;
      }
      this.log?.error(
        { err, file: batch.journal?.path },
        'cannot read a batch back from the intake journal; retrying',
      );
      await new Promise((r) => setTimeout(r, this.opts.retryMaxMs));
      return false;
    }
  }

  private async insertWithRetry(batch: Batch): Promise<void> {
    // Every insert carries a token: without one, non_replicated_deduplication_window would drop a batch
    // merely because its content equals an earlier one's.
    const rowsToken = `${batch.token}:rows`;
    const deadToken = `${batch.token}:dead`;
    for (let attempt = 0; !this.closed; attempt++) {
      const started = performance.now();
      try {
        // Rows the store refused, found again on every attempt: the split is deterministic, and the halves
        // stored by an attempt that an outage interrupted are dropped as repeats by their tokens.
        const refused: string[] = [];
        if (batch.rowsBody?.length) await this.insertRows(batch, batch.rowsBody, 0, rowsToken, refused);
        if (batch.deadBody) {
          await this.store.insert({
            table: 'dead_letters',
            body: batch.deadBody,
            format: 'JSONEachRow',
            columns: DEAD_LETTER_INSERT_COLUMNS,
            dedupToken: deadToken,
          });
        }
        if (refused.length) {
          await this.store.insert({
            table: 'dead_letters',
            body: Buffer.from(refused.join('')),
            format: 'JSONEachRow',
            columns: DEAD_LETTER_INSERT_COLUMNS,
            dedupToken: `${batch.token}:refused`,
          });
          this.log?.warn(
            { rows: batch.sealedRows, refused: refused.length, token: batch.token },
            'the store refused rows for a data reason; they are in dead_letters and the rest is stored',
          );
        }
        this.stats.storedRows += batch.sealedRows - refused.length;
        this.stats.deadLetters += refused.length;
        this.stats.lastInsertMs = performance.now() - started;
        if (this.storeDown) this.log?.info('the store accepts rows again');
        this.storeDown = false;
        return;
      } catch (err) {
        this.stats.insertErrors++;
        this.storeDown = true;
        const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(attempt, 10));
        const level = err instanceof StoreConfigError ? 'error' : 'warn';
        this.log?.[level](
          { err, attempt, delayMs: delay, rows: batch.sealedRows },
          'insert failed; retrying',
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /**
   * Inserts `body` (rows `first`.. of the batch); when the store refuses it for a data reason, inserts each
   * half under a token of its own (`<batch>:rows:<first>+<count>`, the same on every attempt) until the
   * refused rows stand alone, and adds their dead letters to `refused`. Anything else (an outage) is
   * thrown, for insertWithRetry to wait and retry the batch. A refused insert stores nothing: a batch is far
   * below min_insert_block_size_rows, so it is one block, written only once all of it parsed.
   */
  private async insertRows(
    batch: Batch,
    body: Buffer,
    first: number,
    token: string,
    refused: string[],
  ): Promise<void> {
    let err = await this.tryInsertRows(body, token);
    if (err === undefined) return;
    const starts = rowStarts(body);
    if (starts.length <= 1) {
      // Asked once more before it is given up: a body cut short in transit also reads as a data error
      // (ATTEMPT_TO_READ_AFTER_EOF), and a good row must not become a dead letter because of it.
      err = await this.tryInsertRows(body, token);
      if (err !== undefined) refused.push(refusedRowLetter(batch.token ?? '', first, body, err));
      return;
    }
    const half = starts.length >> 1;
    const cut = starts[half]!;
    const second = first + half;
    await this.insertRows(
      batch,
      body.subarray(0, cut),
      first,
      `${batch.token}:rows:${first}+${half}`,
      refused,
    );
    const rest = `${batch.token}:rows:${second}+${starts.length - half}`;
    await this.insertRows(batch, body.subarray(cut), second, rest, refused);
  }

  /** Undefined once stored; the error when the store refused the rows for a data reason; throws otherwise. */
  private async tryInsertRows(body: Buffer, token: string): Promise<unknown> {
    try {
      await this.store.insert({
        table: 'access_log',
        body,
        format: 'JSONCompactEachRow',
        columns: ACCESS_LOG_INSERT_COLUMNS,
        dedupToken: token,
      });
      return undefined;
    } catch (err) {
      if (insertErrorKind(err) !== 'data') throw err;
      return err;
    }
  }
}

/** Where each row of a JSONCompactEachRow body starts: rows are single lines (strings escape newlines). */
function rowStarts(body: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at < body.length; ) {
    starts.push(at);
    const nl = body.indexOf(10, at);
    at = nl < 0 ? body.length : nl + 1;
  }
  return starts;
}

const SOURCE_COLUMN = ACCESS_LOG_INSERT_COLUMNS.indexOf('source');
const NAMESPACE_COLUMN = ACCESS_LOG_INSERT_COLUMNS.indexOf('k8s_namespace');
const POD_COLUMN = ACCESS_LOG_INSERT_COLUMNS.indexOf('k8s_pod');
const RAW_COLUMN = ACCESS_LOG_INSERT_COLUMNS.indexOf('raw');

/**
 * The dead letter of one row the store refused. The line itself is gone by now, so `raw` is the row as
 * encoded (or the line, when storeRaw kept it in the row) and `origin` names the batch and row.
 */
function refusedRowLetter(token: string, index: number, row: Buffer, err: unknown): string {
  const text = row.toString('utf8').replace(/\n$/, '');
  let values: unknown[] = [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed)) values = parsed;
  } catch {
    // Not JSON after all: the text alone is the dead letter.
  }
  const str = (i: number) => (typeof values[i] === 'string' ? (values[i] as string) : '');
  return deadLetterRow({
    source: str(SOURCE_COLUMN),
    origin: `batch ${token}, row ${index}`,
    reason: `the store refused the row: ${engineReason(err)}`,
    offset: 0,
    raw: str(RAW_COLUMN) || text,
    namespace: str(NAMESPACE_COLUMN),
    pod: str(POD_COLUMN),
  });
}

function rawText(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

function lineText(line: string | Buffer, start: number, end: number): string {
  return typeof line === 'string' ? line : rawText(line, start, end);
}
