/** The one error type the local chain throws on purpose; the server turns it into an HTTP reply. */

/** Why a chain request failed, as an HTTP status the toncenter-style reply carries. */
export type ChainErrorStatus = 400 | 404 | 409 | 413 | 422 | 500 | 503;

/** An expected failure (bad input, unknown transaction, rejected message) with its HTTP status. */
export class ChainError extends Error {
  readonly status: ChainErrorStatus;

  constructor(status: ChainErrorStatus, message: string) {
    super(message);
    this.name = 'ChainError';
    this.status = status;
  }
}

/** Shorthand for a 400 "bad request" ChainError. */
export function badRequest(message: string): ChainError {
  return new ChainError(400, message);
}
