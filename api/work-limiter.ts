/**
 * A concurrency cap with its own bounded queue, for analytic work (user SQL, reports). Each running job may
 * hold a thread of libuv's pool for as long as the engine computes, so without a cap a handful of slow
 * queries takes every thread and probes, ingest and file I/O wait behind them.
 *
 * A slot is held until the work ends, not until the client goes away: chDB cannot interrupt a running query,
 * so freeing the slot at disconnect would let a client that fires and hangs up run any number at once.
 * A request that is still queued when its client disconnects leaves the queue at once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface WorkLimits {
  /** Jobs running at once. */
  maxConcurrent: number;
  /** Jobs waiting for a slot; one more is refused at once. */
  maxQueued: number;
  /** How long a job may wait for a slot before it is refused. */
  queueTimeoutMs: number;
}

/** Why a job was not started, with the status and Retry-After to answer with. */
export class WorkRefusedError extends Error {
  override name = 'WorkRefusedError';
  constructor(
    message: string,
    readonly statusCode: 429 | 503,
    readonly retryAfterS: number,
  ) {
    super(message);
  }
}

interface Waiter {
  grant: (release: () => void) => void;
  fail: (err: Error) => void;
}

export class WorkLimiter {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  /** Started, refused and timed-out jobs since start, for /readyz and tests. */
  readonly counts = { started: 0, refusedFull: 0, refusedTimeout: 0, abandoned: 0 };

  constructor(readonly limits: WorkLimits) {
    if (!(limits.maxConcurrent >= 1)) throw new Error('maxConcurrent must be at least 1');
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Seconds a refused client should wait: about one queue timeout, at least 1 s, at most 60 s. */
  get retryAfterS(): number {
    return Math.min(60, Math.max(1, Math.ceil(this.limits.queueTimeoutMs / 1000)));
  }

  /**
   * Resolves with a release function once a slot is free (call it exactly when the work ends; later calls do
   * nothing). Rejects with WorkRefusedError when the queue is full or the wait exceeds `timeoutMs`, and with
   * the signal's reason when `signal` aborts while waiting.
   */
  acquire(opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<() => void> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.active < this.limits.maxConcurrent) return Promise.resolve(this.take());
    if (this.waiting.length >= this.limits.maxQueued) {
      this.counts.refusedFull++;
      return Promise.reject(
        new WorkRefusedError(
          `too many queries: ${this.active} running and ${this.waiting.length} waiting (limits.maxConcurrentQueries, limits.maxQueuedQueries); retry in ${this.retryAfterS} s`,
          429,
          this.retryAfterS,
        ),
      );
    }
    const timeoutMs = opts.timeoutMs ?? this.limits.queueTimeoutMs;
    return new Promise((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
      };
      const waiter: Waiter = {
        grant: (release) => {
          leave();
          resolve(release);
        },
        fail: (err) => {
          leave();
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.counts.refusedTimeout++;
        waiter.fail(
          new WorkRefusedError(
            `waited ${timeoutMs} ms for a query slot (${this.active} running, limits.queueTimeoutMs); retry in ${this.retryAfterS} s`,
            503,
            this.retryAfterS,
          ),
        );
      }, timeoutMs);
      const onAbort = () => {
        this.counts.abandoned++;
        waiter.fail(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Runs `work` in a slot. */
  async run<T>(work: () => Promise<T>, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<T> {
    const release = await this.acquire(opts);
    try {
      return await work();
    } finally {
      release();
    }
  }

  private take(): () => void {
    this.active++;
    this.counts.started++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      const next = this.waiting[0];
      if (next) next.grant(this.take());
    };
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the request was abandoned');
}

/**
 * Puts every route registered in `scope` (and its children) under `limiter`: a slot is taken after auth,
 * parsing and validation (a malformed request never waits) and released when the reply is sent, whether
 * the handler succeeded or failed. Refusals are answered here with Retry-After and a one-line reason.
 */
export function limitRoutes(scope: FastifyInstance, limiter: WorkLimiter): void {
  const releases = new WeakMap<FastifyRequest, () => void>();
  const releaseOf = (req: FastifyRequest) => {
    releases.get(req)?.();
    releases.delete(req);
  };
  scope.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
    // The client leaving while queued gives the place up; once running, the slot is kept until the work ends.
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort(new Error('the client closed the connection'));
    };
    reply.raw.once('close', onClose);
    try {
      releases.set(req, await limiter.acquire({ signal: gone.signal }));
    } catch (err) {
      if (err instanceof WorkRefusedError) {
        return reply
          .code(err.statusCode)
          .header('Retry-After', String(err.retryAfterS))
          .send({ error: err.message });
      }
      if (gone.signal.aborted) return reply.hijack(); // nobody is listening: nothing to answer
      throw err;
    } finally {
      reply.raw.removeListener('close', onClose);
    }
  });
  // onSend runs once the handler has produced its answer (or its error); onResponse and onRequestAbort are
  // the fallbacks when the reply ends some other way. Releasing twice does nothing.
  scope.addHook('onSend', async (req, _reply, payload) => {
    releaseOf(req);
    return payload;
  });
  scope.addHook('onResponse', async (req) => releaseOf(req));
}
