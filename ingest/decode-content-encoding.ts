/**
 * Undoes an HTTP Content-Encoding with a hard cap on the decoded size, so a gzip bomb costs at most
 * `maxDecodedBytes` of memory and the time to inflate that much before it is refused.
 */
import { constants } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { BodyError } from './body-error.js';

export const ACCEPTED_ENCODINGS = ['gzip', 'x-gzip', 'identity'] as const;

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
  let out = body;
  for (let i = codings.length - 1; i >= 0; i--) {
    if (codings[i] === 'identity') continue;
    out = gunzipCapped(out, maxDecodedBytes);
  }
  if (out.length > maxDecodedBytes) throw tooLarge(maxDecodedBytes);
  return out;
}

function gunzipCapped(buf: Buffer, maxDecodedBytes: number): Buffer {
  try {
    return gunzipSync(buf, { maxOutputLength: Math.min(Math.max(1, maxDecodedBytes), constants.MAX_LENGTH) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxDecodedBytes);
    throw new BodyError(400, `invalid gzip body: ${e.message}`);
  }
}

function tooLarge(maxDecodedBytes: number): BodyError {
  return new BodyError(413, `decoded body exceeds ${maxDecodedBytes} bytes`);
}
