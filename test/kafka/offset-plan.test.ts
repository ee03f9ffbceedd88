/** Offset ranges, their commit metadata, and how a partition cuts fetched batches (no broker needed). */
import { describe, expect, it } from 'vitest';
import { decodePlan, encodePlan, rangeToken } from '../../ingest/kafka/kafka-offset-plan.js';
import { type PartitionMessage, PartitionState } from '../../ingest/kafka/kafka-partition.js';

const msgs = (from: number, to: number): PartitionMessage[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    offset: String(from + i),
    value: Buffer.from(String(from + i)),
  }));

describe('offset plan metadata', () => {
  it('round-trips ranges and ignores metadata it did not write', () => {
    const ranges = [
      { first: 0, last: 99 },
      { first: 100, last: 250 },
    ];
    expect(encodePlan(ranges)).toBe('egresslens/1 0-99 100-250');
    expect(decodePlan(encodePlan(ranges))).toEqual(ranges);
    expect(encodePlan([])).toBe('');
    for (const other of [
      null,
      undefined,
      '',
      'x',
      'egresslens/1',
      'egresslens/1 5-3',
      'egresslens/1 0-9 5-20',
      'egresslens/2 0-1',
    ]) {
      expect(decodePlan(other)).toEqual([]);
    }
    expect(rangeToken('t', 2, { first: 10, last: 19 })).toBe('kafka:t:2:10-19');
  });
});

describe('partition state', () => {
  it('commits the first unstored offset with the ranges in flight, and moves on once they are stored', () => {
    const p = new PartitionState('t', 0, undefined, null);
    expect(p.commitPoint()).toBeUndefined();
    const cut = p.cut(msgs(0, 9), 9);
    expect(cut).toMatchObject({ kind: 'fresh', range: { first: 0, last: 9 }, resolveTo: 9 });
    if (cut.kind !== 'fresh') throw new Error('unreachable');
    const a = p.begin(cut.range);
    expect(p.commitPoint()).toEqual({ offset: 0, metadata: 'egresslens/1 0-9' });
    p.handed(cut.resolveTo);
    const cut2 = p.cut(msgs(10, 14), 14);
    if (cut2.kind !== 'fresh') throw new Error('expected fresh');
    const b = p.begin(cut2.range);
    p.handed(cut2.resolveTo);
    expect(p.commitPoint()).toEqual({ offset: 0, metadata: 'egresslens/1 0-9 10-14' });
    p.stored(b); // out of order: the offset still may not pass range a
    expect(p.commitPoint()).toEqual({ offset: 0, metadata: 'egresslens/1 0-9' });
    p.stored(a);
    expect(p.commitPoint()).toEqual({ offset: 15, metadata: '' });
    expect(p.needsCommit()).toBe(true);
    p.acknowledge(p.commitPoint()!);
    expect(p.needsCommit()).toBe(false);
  });

  it('cuts the planned ranges again exactly, whatever the fetch sizes, before new ones', () => {
    const p = new PartitionState('t', 0, 100, 'egresslens/1 100-149 150-199');
    expect(p.replaying).toBe(true);
    expect(p.needsCommit()).toBe(false);
    // A smaller fetch: the first range is not complete yet, its messages are held.
    expect(p.cut(msgs(100, 129), 129)).toEqual({ kind: 'hold', resolveTo: 129 });
    // A larger one: completes range 1 and range 2, and reaches beyond; what lies beyond is read again.
    const cut = p.cut(msgs(130, 260), 260);
    expect(cut.kind).toBe('replay');
    if (cut.kind !== 'replay') throw new Error('unreachable');
    expect(cut.chunks.map((c) => [c.range, c.messages[0]?.offset, c.messages.length])).toEqual([
      [{ first: 100, last: 149 }, '100', 50],
      [{ first: 150, last: 199 }, '150', 50],
    ]);
    expect(cut.resolveTo).toBe(199);
    expect(p.replaying).toBe(false);
    expect(p.cut(msgs(200, 260), 260)).toMatchObject({ kind: 'fresh', range: { first: 200, last: 260 } });
  });

  it('keeps the plan in the commit metadata until the replayed ranges are stored', () => {
    const p = new PartitionState('t', 3, 100, 'egresslens/1 100-149 150-199');
    const cut = p.cut(msgs(100, 160), 160);
    if (cut.kind !== 'replay') throw new Error('expected replay');
    const first = p.begin(cut.chunks[0]!.range);
    expect(p.commitPoint()).toEqual({ offset: 100, metadata: 'egresslens/1 100-149 150-199' });
    p.stored(first);
    expect(p.commitPoint()).toEqual({ offset: 150, metadata: 'egresslens/1 150-199' });
  });

  it('ends a planned range at the batch end when its last offsets are gone (control records, compaction)', () => {
    const p = new PartitionState('t', 0, 10, 'egresslens/1 10-20');
    const cut = p.cut(msgs(10, 17), 20);
    expect(cut.kind).toBe('replay');
    if (cut.kind === 'replay') expect(cut.chunks[0]!.messages).toHaveLength(8);
  });

  it('skips messages before the read position and drops plans that end before the committed offset', () => {
    const p = new PartitionState('t', 0, 50, 'egresslens/1 10-20');
    expect(p.replaying).toBe(false);
    expect(p.cut(msgs(40, 60), 60)).toMatchObject({ kind: 'fresh', range: { first: 50, last: 60 } });
  });
});
