/**
 * Typed error codes shared by every part, and the plain-object error that crosses process
 * and network boundaries (never an Error instance).
 */

/** Every error code a frame, an IPC reply or an HTTP error may carry. */
export const ERROR_CODES = [
  'bad_frame',
  'frame_too_large',
  'unexpected_frame',
  'client_too_old',
  'server_too_old',
  'unauthorized',
  'invalid_request',
  /** The prompt plus max_tokens does not fit the model's context (a client error, never retried). */
  'context_length_exceeded',
  'unknown_model',
  'no_capacity',
  'not_sharing',
  'duplicate_job',
  'unknown_job',
  'engine_error',
  'engine_crashed',
  'model_load_failed',
  'cancelled',
  'timeout',
  'worker_lost',
  'identity_mismatch',
  'worker_ejected',
  'output_too_large',
  'internal',
] as const;

/** One of ERROR_CODES. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An expected failure as a value: what crosses IPC and the wire. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/** `{ ok: true, value } | { ok: false, error }` — expected failures are values, not throws. */
export type Result<T, E = WireError> = { ok: true; value: T } | { ok: false; error: E };

/** Builds a successful Result. */
export function ok<T>(value: T): Result<T, never> {
  return { ok: true, value };
}

/** Builds a failed Result. */
export function err(code: ErrorCode, message: string): Result<never, WireError> {
  return { ok: false, error: { code, message } };
}
