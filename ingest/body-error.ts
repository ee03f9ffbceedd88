/** Why an ingest request body was refused, with the HTTP status to answer: 400 bad input, 413 too big, 415 unsupported. */
export class BodyError extends Error {
  override readonly name = 'BodyError';

  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}
