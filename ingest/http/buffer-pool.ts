/**
 * Large buffers of HTTP intake (a body, its inflated bytes, its unescaped lines) reused from one request to
 * the next instead of allocated fresh for each: a fresh buffer of a megabyte costs its page faults, and V8
 * counts it as external memory, whose growth starts full garbage collections, which showed in a CPU profile
 * of HTTP intake (bench:ingest c1). Buffers come in power-of-two sizes from MIN_POOLED_BYTES; smaller
 * requests are plain allocations. At most `maxIdleBytes` wait in the pool; beyond that a buffer given back
 * is left to the garbage collector.
 *
 * A request takes its buffers through a BufferLease and gives them all back at once when nothing refers to
 * them any more (its entries are appended to the pipeline, or it was refused). A lease never released only
 * means its buffers are collected instead of reused.
 */

/** Below this a buffer is not pooled: Node's own pool serves small ones, and they cost little. */
export const MIN_POOLED_BYTES = 64 << 10;

export class BufferPool {
  /** Free buffers by size class (log2 of their length). */
  private readonly free = new Map<number, Buffer[]>();
  private idleBytes = 0;

  constructor(private readonly maxIdleBytes: number) {}

  /** A buffer of at least `size` bytes (its whole length is the size class), or a plain one when small. */
  take(size: number): Buffer {
    if (size < MIN_POOLED_BYTES) return Buffer.allocUnsafe(size);
    const log2 = Math.ceil(Math.log2(size));
    const list = this.free.get(log2);
    const buf = list?.pop();
    if (buf) {
      this.idleBytes -= buf.length;
      return buf;
    }
    return Buffer.allocUnsafeSlow(2 ** log2);
  }

  /** Gives back a buffer from take() that nothing refers to any more. */
  give(buf: Buffer): void {
    const len = buf.length;
    if (len < MIN_POOLED_BYTES || (len & (len - 1)) !== 0 || buf.byteOffset !== 0) return;
    if (this.idleBytes + len > this.maxIdleBytes) return;
    const log2 = Math.log2(len);
    let list = this.free.get(log2);
    if (!list) this.free.set(log2, (list = []));
    list.push(buf);
    this.idleBytes += len;
  }

  /** Bytes waiting in the pool. */
  get idle(): number {
    return this.idleBytes;
  }
}

/** The buffers one request took, given back together. */
export class BufferLease {
  private readonly taken: Buffer[] = [];

  constructor(private readonly pool: BufferPool) {}

  /** `size` bytes (a view of a pooled buffer when large), held until release(). */
  take = (size: number): Buffer => {
    const buf = this.pool.take(size);
    if (buf.length >= MIN_POOLED_BYTES) this.taken.push(buf);
    return buf.length === size ? buf : buf.subarray(0, size);
  };

  /** Gives every buffer taken back to the pool: the caller no longer refers to any of them. */
  release(): void {
    for (const buf of this.taken) this.pool.give(buf);
    this.taken.length = 0;
  }
}
