/**
 * Ingest over HTTP: Fluent Bit's `http` output and plain lines. A request is answered 2xx only once its
 * rows (and dead letters) are durable: stored, or with an intake journal, synced to it; when the queue is
 * full or the store (or journal) is down the answer is 429/503 with Retry-After, which Fluent Bit retries.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DecodedEntry } from '../ingest/decoded-entry.js';
import { BufferLease, BufferPool } from '../ingest/http/buffer-pool.js';
import { CriPartialCap } from '../ingest/http/cri-partial-cap.js';
import { BodyError, decodeBodySliced } from '../ingest/http/fluent-bit-body.js';
import { readBody } from '../ingest/http/read-body.js';
import { RecentRequests } from '../ingest/http/recent-requests.js';
import type { IngestPipeline, LineContext } from '../ingest/pipeline.js';
import { NO_META, RowSources } from '../ingest/row-sources.js';
import { Slicer, sliceBudget } from '../ingest/work-slices.js';
import type { Config } from '../schemas/config.js';
import { INGEST_DOCS } from '../schemas/openapi-ingest-docs.js';
import type { RowSource } from '../store/row-encoder.js';
import { HeapGuard } from './heap-guard.js';

export interface IngestRouteOptions {
  pipeline: IngestPipeline;
  limits: Config['ingest'];
  /** How long a request may wait for its batch to be stored before it is told to retry. */
  storeWaitMs?: number;
}

const RETRY_AFTER_S = '5';
const BUSY = {
  full: 'the intake queue is full; retry later',
  'store-down': 'the store is unavailable; retry later',
} as const;
const JOURNAL_FAILING = 'the intake journal cannot be written (see the server log); retry later';
/** Large buffers kept for reuse between requests, at most (BufferPool). */
const POOLED_IDLE_BYTES = 64 << 20;

export async function ingestRoutes(app: FastifyInstance, opts: IngestRouteOptions): Promise<void> {
  const { pipeline, limits } = opts;
  const recent = new RecentRequests();
  const sources = new RowSources();
  const storeWaitMs = opts.storeWaitMs ?? 30_000;
  const heap = new HeapGuard(limits.maxHeapUsedPercent);
  const budget = () => sliceBudget(limits.maxDecodeMs, heap.check);
  // A request's large buffers (body, inflated body, lines) are reused by later requests once it is done.
  const pool = new BufferPool(POOLED_IDLE_BYTES);
  const leases = new WeakMap<FastifyRequest, BufferLease>();
  const leaseOf = (req: FastifyRequest): BufferLease => {
    let lease = leases.get(req);
    if (!lease) leases.set(req, (lease = new BufferLease(pool)));
    return lease;
  };

  // Near the heap limit a body is refused before it is even read.
  app.addHook('onRequest', async (_req, reply) => {
    try {
      heap.check();
    } catch (err) {
      return refuse(reply, err as BodyError);
    }
  });

  // Bodies stay bytes: each route decodes by content type and encoding itself, with its own limits.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) =>
    readBody(payload, req.headers['content-length'], limits.maxBodyBytes, done, leaseOf(req).take),
  );

  const refuseIfBusy = (reply: FastifyReply): boolean => {
    const state = pipeline.state;
    if (state === 'ok') return false;
    reply
      .code(state === 'full' ? 429 : 503)
      .header('Retry-After', RETRY_AFTER_S)
      .send({ error: BUSY[state] });
    return true;
  };

  const handle = async (
    route: string,
    req: FastifyRequest,
    reply: FastifyReply,
    decode: (take: (size: number) => Buffer) => Promise<DecodedEntry[]>,
  ): Promise<unknown> => {
    const lease = leaseOf(req);
    const body = bodyOf(req.body);
    const key = recent.key(route, body);
    // From here on only decode() and the entries it returns refer to the body and the buffers it takes.
    req.body = undefined;
    try {
      return await store(key, lease, reply, decode, req.ip);
    } finally {
      lease.release();
    }
  };

  const store = async (
    key: string,
    lease: BufferLease,
    reply: FastifyReply,
    decode: (take: (size: number) => Buffer) => Promise<DecodedEntry[]>,
    origin: string,
  ): Promise<unknown> => {
    const earlier = recent.get(key);
    if (earlier) {
      lease.release();
      // A retry of a body already accepted: answer for it once the first copy is stored, within the same bound.
      const outcome = await waitStored(earlier, storeWaitMs);
      if (outcome instanceof BodyError) return refuse(reply, outcome);
      if (outcome !== 'stored') return slow(reply);
      return { accepted: 0, duplicate: true };
    }
    if (refuseIfBusy(reply)) return reply;
    // Claimed before decoding pauses, so a copy of this body arriving meanwhile waits on this one.
    const claim = deferred();
    recent.remember(key, claim.promise);
    let result: { accepted: number; parsed: number; deadLetters: number };
    try {
      // Every refusal comes from decode(), before any entry reaches the pipeline: a refused body stores nothing.
      const entries = await decode(lease.take);
      result = {
        accepted: entries.length,
        ...(await appendEntries(pipeline, entries, sources, origin, limits.maxRecordBytes)),
      };
    } catch (err) {
      claim.reject(err as Error);
      if (err instanceof BodyError) return refuse(reply, err);
      throw err;
    }
    // The entries are in the pipeline's batch (copied): the request's buffers can serve the next ones.
    lease.release();
    const stored = pipeline.currentBatchStored();
    const durable = pipeline.currentBatchDurable(); // `stored` itself without a journal
    // Should the journal fail, the rows are still in their batch: a retry of this body waits for it.
    durable.catch(() => stored).then(claim.resolve, claim.reject);
    // The rows stay queued and will be stored either way; a retry is recognised and not stored again.
    const outcome = await waitStored(durable, storeWaitMs);
    if (outcome === 'failed' && pipeline.journalFailing) return slow(reply, JOURNAL_FAILING);
    if (outcome !== 'stored') return slow(reply);
    return result;
  };

  // The bodies are bytes each route decodes itself, within its limits: the body schemas only document them.
  const documentOnly = { validatorCompiler: () => () => true };
  app.post(
    '/v1/ingest/fluent-bit',
    { ...documentOnly, schema: INGEST_DOCS.fluentBit },
    async (req, reply) => {
      const type = req.headers['content-type'];
      if (!type)
        return reply.code(415).send({
          error: 'a Content-Type is required (application/json, application/x-ndjson, application/msgpack)',
        });
      const body = bodyOf(req.body);
      return handle('fluent-bit', req, reply, (take) =>
        decodeBodySliced(body, {
          contentType: type,
          contentEncoding: req.headers['content-encoding'],
          limits,
          budget: budget(),
          take,
        }),
      );
    },
  );

  app.post('/v1/ingest/lines', { ...documentOnly, schema: INGEST_DOCS.lines }, async (req, reply) => {
    const type = req.headers['content-type'] ?? 'text/plain';
    if (!/^text\/plain\b/i.test(type))
      return reply.code(415).send({ error: 'lines must be sent as text/plain' });
    const body = bodyOf(req.body);
    return handle('lines', req, reply, (take) =>
      decodeBodySliced(body, {
        contentType: type,
        contentEncoding: req.headers['content-encoding'],
        format: 'lines',
        limits,
        budget: budget(),
        take,
      }),
    );
  });
}

/** `failed` for an outage; the BodyError itself when the awaited request was refused for its body. */
async function waitStored(
  stored: Promise<void>,
  ms: number,
): Promise<'stored' | 'waiting' | 'failed' | BodyError> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      stored.then(() => 'stored' as const),
      new Promise<'waiting'>((r) => {
        timer = setTimeout(r, ms, 'waiting');
      }),
    ]);
  } catch (err) {
    return err instanceof BodyError ? err : 'failed';
  } finally {
    clearTimeout(timer);
  }
}

function refuse(reply: FastifyReply, err: BodyError): FastifyReply {
  if (err.status === 503) reply.header('Retry-After', RETRY_AFTER_S);
  return reply.code(err.status).send({ error: err.message });
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function slow(reply: FastifyReply, error = 'the store is slow; retry later'): FastifyReply {
  return reply.code(503).header('Retry-After', RETRY_AFTER_S).send({ error });
}

function bodyOf(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

/**
 * Lines written back to UTF-8 in shared chunks of at least 1 MiB, so the pipeline scans bytes without a Buffer
 * per line, and no pass over every line is needed first to size one buffer (60 ms for 60 MB of lines).
 */
class LineBytes {
  buf = Buffer.allocUnsafe(0);
  /** Where the last line written starts and ends (its newline excluded) in `buf`. */
  start = 0;
  end = 0;

  write(line: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const room = line.length * 3 + 1;
    if (this.end + 1 + room > this.buf.length) {
      this.buf = Buffer.allocUnsafe(Math.max(LINE_CHUNK_BYTES, room));
      this.end = -1;
    }
    this.start = this.end + 1;
    this.end = this.start + this.buf.write(line, this.start);
    this.buf[this.end] = 10;
  }
}

const LINE_CHUNK_BYTES = 1 << 20;

/**
 * Lines reach the pipeline as bytes, so it scans them without a Buffer per line. The
 * appends (where lines are parsed) pause every few ms, so a body of many small records does not hold the
 * event loop. Returns this request's counts (other requests may append while it pauses).
 */
async function appendEntries(
  pipeline: IngestPipeline,
  entries: DecodedEntry[],
  sources: RowSources,
  origin: string,
  maxRecordBytes: number,
): Promise<{ parsed: number; deadLetters: number }> {
  const bytes = new LineBytes();
  // One context per source, so a CRI line split into P fragments is joined across the request's records.
  const contexts = new Map<RowSource, LineContext>();
  let lastMeta: DecodedEntry['meta'] | undefined;
  let source: RowSource | undefined;
  const slicer = new Slicer();
  const cri = new CriPartialCap(pipeline, maxRecordBytes);
  const counts = { parsed: 0, deadLetters: 0 };
  let mark = { parsed: pipeline.stats.parsed, dead: pipeline.stats.deadLetters };
  let appended = 0;
  for (const e of entries) {
    if ((++appended & 63) === 0 && slicer.due) {
      counts.parsed += pipeline.stats.parsed - mark.parsed;
      counts.deadLetters += pipeline.stats.deadLetters - mark.dead;
      await slicer.pause();
      mark = { parsed: pipeline.stats.parsed, dead: pipeline.stats.deadLetters };
    }
    // Records read without JSON.parse share one meta object per kubernetes map.
    if (!source || e.meta !== lastMeta) {
      lastMeta = e.meta;
      source = sources.get('http', e.meta ?? NO_META);
    }
    let ctx = contexts.get(source);
    if (!ctx) contexts.set(source, (ctx = { source, origin }));
    ctx.timeMs = e.timeMs;
    if (e.deadLetter) {
      pipeline.appendDeadLetter(e.deadLetter.reason, e.deadLetter.raw, ctx);
    } else if (e.bytes) {
      const start = e.start ?? 0;
      const end = e.end ?? e.bytes.length;
      if (end === start) pipeline.appendDeadLetter('empty log line', '', ctx);
      else if (!cri.skip(ctx, e.bytes, start, end)) pipeline.appendLine(e.bytes, start, end, ctx);
    } else if (e.line === '') {
      pipeline.appendDeadLetter('empty log line', '', ctx);
    } else if (e.line !== undefined) {
      bytes.write(e.line);
      if (!cri.skip(ctx, bytes.buf, bytes.start, bytes.end))
        pipeline.appendLine(bytes.buf, bytes.start, bytes.end, ctx);
    } else if (e.object) {
      pipeline.appendObject(e.object, ctx);
    }
    cri.check(ctx);
  }
  for (const ctx of contexts.values()) pipeline.endSource(ctx);
  counts.parsed += pipeline.stats.parsed - mark.parsed;
  counts.deadLetters += pipeline.stats.deadLetters - mark.dead;
  return counts;
}
