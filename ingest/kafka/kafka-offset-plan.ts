/**
 * How Kafka offsets become deterministic store batches.
 *
 * Each batch the consumer hands to the store covers one offset range of one partition and carries the dedup
 * token `kafka:<topic>:<partition>:<first>-<last>`. A retry of the same range is dropped by ClickHouse, but
 * only if the retry cuts the messages into the *same* ranges, and fetch sizes differ between runs. So before a
 * range is inserted it is written down: the consumer commits the partition's first unstored offset (the
 * committed offset does not move past unstored data) with commit metadata listing the ranges in flight:
 *
 *   egresslens/1 1200-1899 1900-2400
 *
 * Whoever reads the partition next (this process after a restart, another group member after a rebalance)
 * finds that list next to the committed offset and cuts exactly those ranges again before cutting new ones.
 * Kafka keeps commit metadata up to `offset.metadata.max.bytes` (default 4096), far more than a few ranges.
 */

export interface OffsetRange {
  first: number;
  last: number;
}

const PREFIX = 'egresslens/1';

/** The dedup token of one range: the same range always gets the same token, in any process. */
export function rangeToken(topic: string, partition: number, range: OffsetRange): string {
  return `kafka:${topic}:${partition}:${range.first}-${range.last}`;
}

/** Commit metadata naming the ranges in flight (empty when none). */
export function encodePlan(ranges: readonly OffsetRange[]): string {
  if (ranges.length === 0) return '';
  return `${PREFIX} ${ranges.map((r) => `${r.first}-${r.last}`).join(' ')}`;
}

/** The ranges in commit metadata; anything not written by encodePlan (another tool's metadata) means none. */
export function decodePlan(metadata: string | null | undefined): OffsetRange[] {
  if (!metadata?.startsWith(`${PREFIX} `)) return [];
  const ranges: OffsetRange[] = [];
  for (const part of metadata.slice(PREFIX.length + 1).split(' ')) {
    const m = /^(\d+)-(\d+)$/.exec(part);
    if (!m) return [];
    const first = Number(m[1]);
    const last = Number(m[2]);
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) return [];
    const prev = ranges[ranges.length - 1];
    if (prev && first <= prev.last) return [];
    ranges.push({ first, last });
  }
  return ranges;
}
