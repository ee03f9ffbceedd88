/**
 * Cuts a byte stream into buffers of whole lines, without copying lines or decoding text: consumers walk
 * each buffer with indexOf(10). A line longer than `maxLineBytes` is not allowed to grow memory without
 * bound: it is handed on cut short, flagged, so it can be kept as a dead letter.
 */

import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

export interface LineChunk {
  /** Whole lines, each ending in `\n` (the last one may lack it at end of input). */
  buf: Buffer;
  /** Set when `buf` holds a single line that was cut at `maxLineBytes`. */
  truncated: boolean;
}

export async function* lineChunks(
  source: AsyncIterable<Buffer | string>,
  maxLineBytes = 8 << 20,
): AsyncGenerator<LineChunk> {
  let carry: Buffer | null = null;
  let skipping = false;
  for await (const piece of source) {
    let chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    if (skipping) {
      // The rest of an over-long line: drop it up to its newline.
      const nl = chunk.indexOf(10);
      if (nl < 0) continue;
      skipping = false;
      chunk = chunk.subarray(nl + 1);
    }
    const buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = null;
    const lastNl = buf.lastIndexOf(10);
    if (lastNl < 0) {
      if (buf.length > maxLineBytes) {
        yield { buf: buf.subarray(0, maxLineBytes), truncated: true };
        skipping = true;
      } else {
        carry = buf;
      }
      continue;
    }
    if (lastNl + 1 < buf.length) carry = Buffer.from(buf.subarray(lastNl + 1));
    yield* splitLongLines(buf.subarray(0, lastNl + 1), maxLineBytes);
  }
  if (carry && carry.length > 0) yield* splitLongLines(carry, maxLineBytes);
}

/** Whole-line buffers rarely hold an over-long line; when one does, it is split out and cut. */
function* splitLongLines(buf: Buffer, maxLineBytes: number): Generator<LineChunk> {
  if (buf.length <= maxLineBytes) {
    yield { buf, truncated: false };
    return;
  }
  let start = 0;
  let runStart = 0;
  while (start < buf.length) {
    let nl = buf.indexOf(10, start);
    if (nl < 0) nl = buf.length;
    if (nl - start > maxLineBytes) {
      if (start > runStart) yield { buf: buf.subarray(runStart, start), truncated: false };
      yield { buf: buf.subarray(start, start + maxLineBytes), truncated: true };
      runStart = nl + 1;
    }
    start = nl + 1;
  }
  if (runStart < buf.length) yield { buf: buf.subarray(runStart), truncated: false };
}

/** Gunzips a stream when it starts with the gzip magic bytes; passes it through otherwise. */
export async function* maybeGunzip(source: Readable): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const head = first.value as Buffer;
  const rest = (async function* () {
    yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value as Buffer;
    }
  })();
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    Readable.from(rest).pipe(gunzip);
    yield* gunzip;
  } else {
    yield* rest;
  }
}
