/**
 * Offset commits, one at a time. Each commit sends the current commit point (offset + plan metadata) of every
 * partition whose point changed, computed when the commit is sent, so commits never go out of order and never
 * carry a stale view. A caller that must know its change is durable (a new range's plan, before the range
 * is inserted) awaits `commit()`, which settles with the first commit sent after the call.
 */
import type { Logger } from 'pino';
import type { CommitPoint, PartitionState } from './kafka-partition.js';

export interface CommitEntry {
  topic: string;
  partition: number;
  offset: string;
  metadata: string | null;
}

export interface CommitterOptions {
  /** The partitions of the current generation. */
  partitions: () => Iterable<PartitionState>;
  /** False while the group rebalances or the consumer stops: nothing may be committed then. */
  canCommit: () => boolean;
  /** Sends one OffsetCommit request (no retries: a retry could land in a later generation). */
  send: (entries: CommitEntry[]) => Promise<void>;
  log?: Logger;
  retryMs?: number;
}

/** The group is rebalancing or the consumer is stopping; the commit was not sent. */
export class CommitRefusedError extends Error {
  override name = 'CommitRefusedError';
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class OffsetCommitter {
  private waiters: Waiter[] = [];
  private busy = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  commits = 0;
  failures = 0;

  constructor(private readonly opts: CommitterOptions) {}

  /** Commits what changed; resolves once a commit sent after this call succeeded. */
  commit(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.busy) void this.loop();
    });
  }

  /** Commits in the background; a failure is retried later as long as the generation lasts. */
  commitSoon(): void {
    this.commit().catch((err: Error) => {
      if (err instanceof CommitRefusedError || this.closed) return;
      this.opts.log?.warn({ err }, 'offset commit failed; retrying');
      if (!this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (!this.closed) this.commitSoon();
        }, this.opts.retryMs ?? 1000);
        this.retryTimer.unref();
      }
    });
  }

  /** Resolves when no commit is running or queued. */
  async idle(): Promise<void> {
    while (this.busy) await new Promise((r) => setTimeout(r, 5));
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private async loop(): Promise<void> {
    this.busy = true;
    try {
      while (this.waiters.length) {
        const waiting = this.waiters;
        this.waiters = [];
        try {
          await this.sendOnce();
          for (const w of waiting) w.resolve();
        } catch (err) {
          for (const w of waiting) w.reject(err as Error);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async sendOnce(): Promise<void> {
    // Checked and built in one synchronous step: the request carries the generation it was computed in.
    if (!this.opts.canCommit()) throw new CommitRefusedError('the consumer group is rebalancing or stopping');
    const points: Array<{ state: PartitionState; point: CommitPoint }> = [];
    for (const state of this.opts.partitions()) {
      if (!state.needsCommit()) continue;
      points.push({ state, point: state.commitPoint()! });
    }
    if (!points.length) return;
    const entries = points.map(({ state, point }) => ({
      topic: state.topic,
      partition: state.partition,
      offset: String(point.offset),
      metadata: point.metadata || null,
    }));
    try {
      await this.opts.send(entries);
    } catch (err) {
      this.failures++;
      throw err;
    }
    this.commits++;
    for (const { state, point } of points) state.acknowledge(point);
  }
}
