/**
 * A CRI line split into `P` pieces is joined by the pipeline until its `F` piece comes. One body can hold
 * 64 MB of `P` pieces: joined, that is one 64 MB line, concatenated and parsed in one go (measured: 60 k pieces
 * of 1 KB held the event loop 341 ms and became a 60 MB dead letter). This cap keeps the joined line within
 * maxRecordBytes: past it, what was joined becomes a dead letter (its first 64 KiB kept), and the rest of
 * that line's pieces, up to and including its `F` piece, are dropped, counted in the reason.
 */
import { criPayloadStart } from '../../parser/index.js';
import type { IngestPipeline, LineContext } from '../pipeline.js';

const KEPT_RAW_BYTES = 64 << 10;

interface Partial {
  /** Pieces of ctx.partial already counted. */
  pieces: number;
  bytes: number;
  /** Set once the line was dead-lettered: its remaining pieces are skipped. */
  skipping: boolean;
}

export class CriPartialCap {
  private readonly state = new Map<LineContext, Partial>();

  constructor(
    private readonly pipeline: IngestPipeline,
    private readonly maxBytes: number,
  ) {}

  /** True when `buf[start..end)` is a piece of a line already dead-lettered: the caller must not append it. */
  skip(ctx: LineContext, buf: Uint8Array, start: number, end: number): boolean {
    const s = this.state.get(ctx);
    if (!s?.skipping) return false;
    const cri = criPayloadStart(buf, start, end);
    if (cri === 0) {
      s.skipping = false; // not CRI: the over-long line never got its F piece
      return false;
    }
    if (cri > 0) s.skipping = false; // its F piece: dropped too, the line ends here
    return true;
  }

  /** After an append: dead-letters the joined pieces once they pass maxBytes. */
  check(ctx: LineContext): void {
    const partial = ctx.partial;
    let s = this.state.get(ctx);
    if (!partial?.length) {
      if (s && !s.skipping) this.state.delete(ctx);
      return;
    }
    if (!s) this.state.set(ctx, (s = { pieces: 0, bytes: 0, skipping: false }));
    if (s.pieces > partial.length) s.pieces = s.bytes = 0; // a new line started
    for (; s.pieces < partial.length; s.pieces++) s.bytes += partial[s.pieces]!.length;
    if (s.bytes <= this.maxBytes) return;
    const kept = Buffer.concat(partial).subarray(0, KEPT_RAW_BYTES);
    this.pipeline.appendDeadLetter(
      `CRI line of ${partial.length} P pieces is over ingest.maxRecordBytes (${this.maxBytes}) before its F piece; ` +
        `its first ${kept.length} bytes are kept, the rest of its pieces dropped`,
      kept.toString('utf8'),
      ctx,
    );
    ctx.partial = undefined;
    s.pieces = s.bytes = 0;
    s.skipping = true;
  }
}
