/**
 * Expected failures as values: every verb of the IPC contract answers
 * `{ ok: true, value } | { ok: false, error: { code, message } }`, over Electron IPC and over the
 * headless dashboard's HTTP alike. Pure TypeScript: the renderer and preload read these types.
 */

/** Why a call failed, as a stable code the UI can branch on. */
export const ERROR_CODES = [
  'unknown-verb',
  'bad-arguments',
  'forbidden',
  'unauthorized',
  'unavailable',
  'unsupported',
  'not-running',
  'invalid-settings',
  'invalid-address',
  'wrong-network',
  // Wallet (TON Connect pairing, local wallet)
  'passphrase-required',
  'wrong-passphrase',
  'invalid-recovery-phrase',
  'wallet-exists',
  'no-wallet',
  'wallet-rejected',
  'proof-invalid',
  'expired',
  'unreachable',
  'internal',
] as const;

/** One of ERROR_CODES. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure that crosses a process boundary: a plain object, never an Error instance. */
export interface AppError {
  code: ErrorCode;
  message: string;
}

/** The answer of every verb. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };

/** A successful result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failed result. */
export function fail<T = never>(code: ErrorCode, message: string): Result<T> {
  return { ok: false, error: { code, message } };
}
