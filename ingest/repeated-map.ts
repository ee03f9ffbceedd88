/**
 * Consecutive records of one pod repeat their kubernetes map byte for byte. The last map's bytes (a copy: a
 * body's buffer is reused) and what they meant are kept, so the next record's map is compared, not decoded
 * again. Shared by the JSON and msgpack record readers.
 */
export class RepeatedMap<M> {
  private last: { bytes: Buffer; meta: M } | undefined;

  /** The meaning of the map at `buf[start..end)` when it has the last map's bytes. */
  same(buf: Buffer, start: number, end: number): M | undefined {
    const last = this.last;
    if (
      last &&
      last.bytes.length === end - start &&
      buf.compare(last.bytes, 0, last.bytes.length, start, end) === 0
    )
      return last.meta;
    return undefined;
  }

  /** Keeps the map at `buf[start..end)` and its meaning as the last one; the copy of its bytes. */
  remember(buf: Buffer, start: number, end: number, meta: M): Buffer {
    const bytes = Buffer.from(buf.subarray(start, end));
    this.last = { bytes, meta };
    return bytes;
  }

  /** The last map's meaning, if any. */
  get lastMeta(): M | undefined {
    return this.last?.meta;
  }
}
