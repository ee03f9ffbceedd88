/**
 * Why an ingest request body was refused, with the HTTP status to answer: 400 bad input, 413 over a limit,
 * 415 unsupported, 503 the server cannot take it now (short of memory; the client should retry later).
 */
export class BodyError extends Error {
  override readonly name = 'BodyError';

  constructor(
    readonly status: 400 | 413 | 415 | 503,
    message: string,
  ) {
    super(message);
  }
}
