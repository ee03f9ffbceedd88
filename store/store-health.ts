/**
 * The store's health as last seen by a background check, so /readyz answers from memory at once instead of
 * queueing a query behind user SQL and reports. The check runs `probe` (the store's ping, which on chDB has
 * a Session of its own) every `intervalMs`; a probe slower than `timeoutMs` counts as failed. Only one probe
 * is in flight at a time: a stuck one is not joined by more, which would only pile up on the thread pool.
 */

export interface StoreHealthOptions {
  /** Time between the end of one probe and the start of the next. */
  intervalMs: number;
  /** A probe that has not answered by then is a failure (it keeps running; no new one starts until it ends). */
  timeoutMs: number;
  /** Not ready once no probe has succeeded for this long. */
  staleAfterMs: number;
}

export const DEFAULT_STORE_HEALTH: StoreHealthOptions = {
  intervalMs: 2_000,
  timeoutMs: 2_000,
  staleAfterMs: 10_000,
};

export interface StoreHealthSnapshot {
  /** A probe succeeded within staleAfterMs. */
  up: boolean;
  /** Age of the last successful probe, or null when none has succeeded yet. */
  lastOkAgeMs: number | null;
  /** Age of the last probe that finished (or timed out), or null before the first. */
  lastCheckAgeMs: number | null;
  /** The last probe's failure, when it failed. */
  lastError: string | null;
  staleAfterMs: number;
}

export class StoreHealth {
  private lastOkAt: number | null = null;
  private lastCheckAt: number | null = null;
  private lastError: string | null = null;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly probe: () => Promise<boolean>,
    readonly opts: StoreHealthOptions = DEFAULT_STORE_HEALTH,
    private readonly now: () => number = Date.now,
    /** Told when checks start failing (with the reason) and when they succeed again (null), for the log. */
    private readonly onChange?: (failure: string | null) => void,
  ) {}

  /** Checks now, then every intervalMs until stop(). Resolves after the first check. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.checkNow();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  snapshot(): StoreHealthSnapshot {
    const now = this.now();
    const lastOkAgeMs = this.lastOkAt === null ? null : now - this.lastOkAt;
    return {
      up: lastOkAgeMs !== null && lastOkAgeMs <= this.opts.staleAfterMs,
      lastOkAgeMs,
      lastCheckAgeMs: this.lastCheckAt === null ? null : now - this.lastCheckAt,
      lastError: this.lastError,
      staleAfterMs: this.opts.staleAfterMs,
    };
  }

  /**
   * One probe; resolves once its outcome is recorded, at most timeoutMs later. While a probe is in flight
   * (even one that timed out) no other starts: callers get the in-flight one's recorded outcome.
   */
  checkNow(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const timedOut = `the store check took over ${this.opts.timeoutMs} ms`;
    const settled = this.probe().then(
      (ok) => (ok ? null : 'the store did not answer SELECT 1'),
      (err: unknown) => `the store check failed: ${(err as Error).message?.split('\n')[0] ?? String(err)}`,
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(resolve, this.opts.timeoutMs, timedOut);
    });
    const recorded = Promise.race([settled, timeout]).then((failure) => {
      clearTimeout(timer);
      this.record(failure);
      return failure;
    });
    const entry = recorded.then(() => {});
    this.inFlight = entry;
    // A timed-out probe still holds its Session and a pool thread: no new probe until it ends. A late success
    // counts as the store answering (slowly); the timeout stays the last error.
    void Promise.all([recorded, settled]).then(([failure, late]) => {
      if (failure === timedOut && late === null) this.lastOkAt = this.now();
      if (this.inFlight === entry) this.inFlight = null;
    });
    return entry;
  }

  private record(failure: string | null): void {
    const now = this.now();
    const changed = this.lastCheckAt !== null && (failure === null) !== (this.lastError === null);
    this.lastCheckAt = now;
    this.lastError = failure;
    if (failure === null) this.lastOkAt = now;
    if (changed || (this.lastOkAt === null && failure !== null)) this.onChange?.(failure);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.checkNow().finally(() => this.schedule());
    }, this.opts.intervalMs);
    this.timer.unref();
  }
}
