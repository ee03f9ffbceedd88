/**
 * A request body read straight into one buffer, for the ingest routes (a fastify content-type parser).
 * fastify's own `parseAs: 'buffer'` keeps every chunk and joins them at the end, a second copy of the body
 * into a second fresh buffer, which shows in a CPU profile of HTTP intake (bench:ingest c1). Here the chunks are copied as they
 * come into a buffer sized from Content-Length (growing by doubling when there is none, as with chunked
 * transfer encoding). The refusals are fastify's, with its errors: 413 before reading anything when
 * Content-Length is over the limit and as soon as the bytes received pass it, 400 when the body ends short of
 * its Content-Length or the stream fails.
 */
import type { Readable } from 'node:stream';
import { errorCodes } from 'fastify';

/** First buffer of a body without Content-Length; it doubles from there, up to the limit. */
const FIRST_CHUNKED_BYTES = 64 << 10;

/** What fastify hands a content-type parser; a preParsing hook's stream may report its encoded length. */
type BodyStream = Readable & { receivedEncodedLength?: number };

/** `take` allocates the buffers (a request's BufferLease, so they are reused once the request is done). */
export function readBody(
  payload: BodyStream,
  contentLengthHeader: string | undefined,
  limit: number,
  done: (err: Error | null, body?: Buffer) => void,
  take: (size: number) => Buffer = Buffer.allocUnsafe,
): void {
  const contentLength = Number(contentLengthHeader);
  if (contentLength > limit) {
    done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  const sized =
    contentLengthHeader !== undefined && Number.isSafeInteger(contentLength) && contentLength >= 0;
  let buf = take(sized ? contentLength : Math.min(limit, FIRST_CHUNKED_BYTES));
  let received = 0;

  const stop = () => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
  };

  function onData(data: Buffer | string): void {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    const end = received + chunk.length;
    if (end > limit || (payload.receivedEncodedLength ?? 0) > limit) {
      stop();
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    if (end > buf.length) {
      // No Content-Length, or more bytes than it said (refused at the end): grow, bounded by the limit.
      const grown = take(Math.min(limit, Math.max(end, buf.length * 2)));
      grown.set(buf.subarray(0, received));
      buf = grown;
    }
    buf.set(chunk, received);
    received = end;
  }

  function onEnd(err?: Error & { statusCode?: number }): void {
    stop();
    if (err != null) {
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      done(err);
      return;
    }
    if (!Number.isNaN(contentLength) && (payload.receivedEncodedLength || received) !== contentLength) {
      done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    done(null, received === buf.length ? buf : buf.subarray(0, received));
  }

  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}
