/**
 * One assigned partition, as this consumer sees it during one group generation: which offset ranges were
 * handed to the store and not yet stored, which ranges the committed metadata says must be cut again
 * (kafka-offset-plan.ts), and what the committed offset and metadata should say now.
 *
 * The committed offset never passes a range that is not stored: it is the first offset of the oldest range
 * still in flight (or still to be replayed), else the offset after everything stored.
 */
import { decodePlan, encodePlan, type OffsetRange } from './kafka-offset-plan.js';

/** A message as kafkajs hands it over (the offset as decimal text). */
export interface PartitionMessage {
  offset: string;
  value: Buffer | null;
}

/** A range handed to the pipeline, until its batch is stored. */
export interface InFlightRange {
  range: OffsetRange;
  stored: boolean;
}

export interface CommitPoint {
  offset: number;
  metadata: string;
}

/** What to do with one fetched batch. */
export type BatchCut =
  /** Ranges from the committed plan, complete now: store each as its own batch; resolve through `resolveTo`. */
  | { kind: 'replay'; chunks: Array<{ range: OffsetRange; messages: PartitionMessage[] }>; resolveTo: number }
  /** Messages of a planned range that is not complete yet: they are held; resolve through `resolveTo`. */
  | { kind: 'hold'; resolveTo: number }
  /** New messages: one new range. */
  | { kind: 'fresh'; range: OffsetRange; messages: PartitionMessage[]; resolveTo: number }
  /** Nothing new (everything before the read position). */
  | { kind: 'none'; resolveTo: number };

export class PartitionState {
  /** The next offset to read: everything before it was handed to the pipeline, or is held. */
  private next: number | undefined;
  /** Ranges named in the committed metadata, not yet cut again. */
  private readonly replay: OffsetRange[];
  /** Messages read so far of replay[0]. */
  private held: PartitionMessage[] = [];
  private readonly inFlight: InFlightRange[] = [];
  /** The commit point last acknowledged by the broker (`offset metadata`), to skip commits that change nothing. */
  private acknowledged: string;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** The group's committed offset, or undefined when it has none. */
    committed: number | undefined,
    metadata: string | null | undefined,
  ) {
    this.next = committed;
    this.replay = committed === undefined ? [] : decodePlan(metadata).filter((r) => r.last >= committed);
    this.acknowledged = committed === undefined ? '' : `${committed} ${metadata ?? ''}`;
  }

  get replaying(): boolean {
    return this.replay.length > 0;
  }

  get pendingRanges(): number {
    return this.inFlight.length + this.replay.length;
  }

  /** Splits a fetched batch; `batchLast` is the batch's last offset, control records included. */
  cut(messages: readonly PartitionMessage[], batchLast: number): BatchCut {
    const from = this.next;
    let msgs: readonly PartitionMessage[] = messages;
    if (from !== undefined && msgs.length && Number(msgs[0]!.offset) < from) {
      msgs = msgs.filter((m) => Number(m.offset) >= from);
    }
    if (this.replay.length) return this.cutReplay(msgs, batchLast);
    if (!msgs.length) {
      if (from === undefined || batchLast >= from) this.next = batchLast + 1;
      return { kind: 'none', resolveTo: batchLast };
    }
    const range = { first: Number(msgs[0]!.offset), last: Number(msgs[msgs.length - 1]!.offset) };
    return {
      kind: 'fresh',
      range,
      messages: msgs as PartitionMessage[],
      resolveTo: Math.max(batchLast, range.last),
    };
  }

  private cutReplay(msgs: readonly PartitionMessage[], batchLast: number): BatchCut {
    const chunks: Array<{ range: OffsetRange; messages: PartitionMessage[] }> = [];
    for (const m of msgs) {
      const offset = Number(m.offset);
      while (this.replay.length && offset > this.replay[0]!.last) {
        chunks.push({ range: this.replay.shift()!, messages: this.held });
        this.held = [];
      }
      if (!this.replay.length) break;
      this.held.push(m);
    }
    // The batch reached the end of the current range (its last offsets may be control records or deleted).
    while (this.replay.length && batchLast >= this.replay[0]!.last) {
      chunks.push({ range: this.replay.shift()!, messages: this.held });
      this.held = [];
    }
    if (chunks.length) {
      // Messages past the last complete range are read again with the next fetch.
      this.held = [];
      const resolveTo = chunks[chunks.length - 1]!.range.last;
      this.next = resolveTo + 1;
      return { kind: 'replay', chunks, resolveTo };
    }
    this.next = batchLast + 1;
    return { kind: 'hold', resolveTo: batchLast };
  }

  /** A new range goes in flight (before its plan is committed); `resolveTo` becomes the read position. */
  begin(range: OffsetRange): InFlightRange {
    const entry = { range, stored: false };
    this.inFlight.push(entry);
    return entry;
  }

  /** The plan commit failed: the range is read again later. */
  abandon(entry: InFlightRange): void {
    const i = this.inFlight.indexOf(entry);
    if (i >= 0) this.inFlight.splice(i, 1);
  }

  /** The range was handed to the pipeline; reading continues after `resolveTo`. */
  handed(resolveTo: number): void {
    this.next = resolveTo + 1;
  }

  stored(entry: InFlightRange): void {
    entry.stored = true;
    while (this.inFlight.length && this.inFlight[0]!.stored) this.inFlight.shift();
  }

  /** What the committed offset and metadata should say now; undefined when nothing is known yet. */
  commitPoint(): CommitPoint | undefined {
    const open = [...this.inFlight.filter((e) => !e.stored).map((e) => e.range), ...this.replay];
    const offset = open[0]?.first ?? this.next;
    if (offset === undefined) return undefined;
    return { offset, metadata: encodePlan(open) };
  }

  /** True when the commit point differs from the last one the broker acknowledged. */
  needsCommit(): boolean {
    const p = this.commitPoint();
    return p !== undefined && `${p.offset} ${p.metadata}` !== this.acknowledged;
  }

  acknowledge(p: CommitPoint): void {
    this.acknowledged = `${p.offset} ${p.metadata}`;
  }
}
