/** A real store with faults injected in front of it: stalls, outages, and inserts whose reply is lost. */

import type { MigrateSettings } from '../../store/schema.js';
import type { InsertRequest, QueryOptions, ReadOnlyLimits, Store } from '../../store/store.js';
import { StoreUnavailableError } from '../../store/store.js';

export class FaultyStore implements Store {
  readonly kind: Store['kind'];
  /** While set, inserts wait for it to be released. */
  stall: { promise: Promise<void>; release: () => void } | null = null;
  /** While true, inserts fail as if the store were down. */
  down = false;
  /** The next N inserts are written, then fail as if the reply had been lost. */
  loseReplies = 0;
  inserts = 0;

  constructor(private readonly inner: Store) {
    this.kind = inner.kind;
  }

  startStall(): void {
    let release!: () => void;
    const promise = new Promise<void>((r) => {
      release = r;
    });
    this.stall = { promise, release };
  }

  endStall(): void {
    this.stall?.release();
    this.stall = null;
  }

  async insert(req: InsertRequest): Promise<void> {
    if (this.stall) await this.stall.promise;
    if (this.down) throw new StoreUnavailableError('injected outage');
    this.inserts++;
    await this.inner.insert(req);
    if (this.loseReplies > 0) {
      this.loseReplies--;
      throw new StoreUnavailableError('injected: the insert was written but its reply was lost');
    }
  }

  migrate(settings?: MigrateSettings): Promise<void> {
    return this.inner.migrate(settings);
  }
  query<T>(sql: string, opts?: QueryOptions): Promise<T[]> {
    return this.inner.query<T>(sql, opts);
  }
  queryReadOnly(sql: string, limits: ReadOnlyLimits): Promise<Record<string, unknown>[]> {
    return this.inner.queryReadOnly(sql, limits);
  }
  command(sql: string): Promise<void> {
    return this.inner.command(sql);
  }
  ping(): Promise<boolean> {
    return this.down ? Promise.resolve(false) : this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
