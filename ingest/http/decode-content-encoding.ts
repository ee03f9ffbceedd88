/**
 * Undoes an HTTP Content-Encoding with a hard cap on the decoded size, so a gzip bomb costs at most
 * `maxDecodedBytes` of memory and the time to inflate that much before it is refused. The server uses the
 * async form: zlib inflates on libuv's thread pool in chunks, and the stream is stopped as soon as its output
 * passes the cap, so neither memory nor the event loop pays for the rest of the bomb.
 */
import { constants } from 'node:buffer';
import { createGunzip, gunzipSync } from 'node:zlib';
import { BodyError } from '../body-error.js';

export const ACCEPTED_ENCODINGS = ['gzip', 'x-gzip', 'identity'] as const;

/** Output chunk of the async inflate: large enough that a 64 MB body is a few hundred thread-pool tasks. */
const INFLATE_CHUNK_BYTES = 256 << 10;

/**
 * `contentEncoding` may list several codings (`gzip, identity`); they were applied in order, so they are undone
 * in reverse. Throws BodyError 415 for codings other than gzip/identity, 413 when the result would exceed
 * `maxDecodedBytes`, 400 for a truncated or corrupt gzip stream.
 */
export function decodeContentEncoding(
  body: Buffer,
  contentEncoding: string | undefined,
  maxDecodedBytes: number,
): Buffer {
  let out = body;
  for (let n = gzipLayers(contentEncoding); n > 0; n--) out = gunzipCapped(out, maxDecodedBytes);
  if (out.length > maxDecodedBytes) throw tooLarge(maxDecodedBytes);
  return out;
}

/** decodeContentEncoding without holding the event loop; `take` allocates the output (a request's lease). */
export async function decodeContentEncodingAsync(
  body: Buffer,
  contentEncoding: string | undefined,
  maxDecodedBytes: number,
  take: (size: number) => Buffer = Buffer.allocUnsafe,
): Promise<Buffer> {
  let out = body;
  for (let n = gzipLayers(contentEncoding); n > 0; n--)
    out = await gunzipCappedAsync(out, maxDecodedBytes, take);
  if (out.length > maxDecodedBytes) throw tooLarge(maxDecodedBytes);
  return out;
}

/** How many gzip codings to undo (identity needs nothing); throws 415 for anything not accepted. */
function gzipLayers(contentEncoding: string | undefined): number {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '');
  for (const coding of codings) {
    if (!(ACCEPTED_ENCODINGS as readonly string[]).includes(coding)) {
      throw new BodyError(
        415,
        `unsupported Content-Encoding ${JSON.stringify(coding)}: accepted encodings are gzip (or x-gzip) and identity`,
      );
    }
  }
  return codings.filter((c) => c !== 'identity').length;
}

function outputCap(maxDecodedBytes: number): number {
  return Math.min(Math.max(1, maxDecodedBytes), constants.MAX_LENGTH);
}

function gunzipCapped(buf: Buffer, maxDecodedBytes: number): Buffer {
  try {
    return gunzipSync(buf, { maxOutputLength: outputCap(maxDecodedBytes) });
  } catch (err) {
    throw gunzipError(err, maxDecodedBytes);
  }
}

/** Deflate cannot expand its input more than ~1032 times: no output buffer needs to be larger than this. */
const MAX_INFLATE_RATIO = 1032;

/** First output buffer when the gzip trailer gives no usable size. */
const MIN_OUTPUT_BYTES = 64 << 10;

/**
 * Each output chunk is copied into one buffer as it comes, instead of joining them all at the end (a 64 MB
 * Buffer.concat held the event loop ~40 ms). The buffer is sized from the gzip trailer's ISIZE, the decoded
 * size (mod 2^32) of the body's last member, which is exact for the one-member bodies Fluent Bit sends. It
 * used to be reserved at the largest size the input could inflate to (for a 60 KB body, the whole 64 MiB
 * cap): only the pages written became resident, but V8 counted every reservation as external memory, and
 * the garbage collections that forced took a third of the main thread's time under gzip'd intake
 * (bench:ingest c2). ISIZE is only a hint from the sender: a smaller one costs a copy as the buffer doubles, a
 * larger one is clipped to what the input can inflate to, and the cap applies to the bytes inflated.
 */
function gunzipCappedAsync(
  buf: Buffer,
  maxDecodedBytes: number,
  take: (size: number) => Buffer,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cap = outputCap(maxDecodedBytes);
    const bound = Math.min(cap + 1, buf.length * MAX_INFLATE_RATIO + 1024);
    let out = take(Math.min(bound, Math.max(MIN_OUTPUT_BYTES, trailerSize(buf))));
    let length = 0;
    const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES });
    gunzip.on('data', (chunk: Buffer) => {
      const needed = length + chunk.length;
      if (needed > cap || needed > bound) {
        gunzip.destroy();
        reject(tooLarge(maxDecodedBytes));
        return;
      }
      if (needed > out.length) {
        const grown = take(Math.min(bound, Math.max(needed, out.length * 2)));
        out.copy(grown, 0, 0, length);
        out = grown;
      }
      chunk.copy(out, length);
      length = needed;
    });
    gunzip.on('error', (err) => reject(gunzipError(err, maxDecodedBytes)));
    gunzip.on('end', () => resolve(out.subarray(0, length)));
    gunzip.end(buf);
  });
}

/** The gzip trailer's ISIZE (last 4 bytes, little-endian), plus one so an exact size needs no growth; 0 if absent. */
export function trailerSize(buf: Buffer): number {
  return buf.length >= 18 ? buf.readUInt32LE(buf.length - 4) + 1 : 0;
}

function gunzipError(err: unknown, maxDecodedBytes: number): BodyError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ERR_BUFFER_TOO_LARGE') return tooLarge(maxDecodedBytes);
  return new BodyError(400, `invalid gzip body: ${e.message}`);
}

function tooLarge(maxDecodedBytes: number): BodyError {
  return new BodyError(
    413,
    `decoded body exceeds ${maxDecodedBytes} bytes (limit ingest.maxDecodedBytes): send smaller bodies or raise it`,
  );
}
