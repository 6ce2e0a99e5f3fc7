/**
 * Expected failures as values: every verb of the IPC contract answers
 * `{ ok: true, value } | { ok: false, error: { code, message } }`, over Electron IPC and over the
 * headless dashboard's HTTP alike. Pure TypeScript: the renderer and preload read these types.
 */
import type { Result as Outcome } from '../../network/protocol/errors.js';

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

/** What is wrong with one field of a form, in the owner's words (`path`: the field, as `polite.maxVramMb`). */
export interface FieldProblem {
  path: string;
  message: string;
}

/** A failure that crosses a process boundary: a plain object, never an Error instance. */
export interface AppError {
  code: ErrorCode;
  message: string;
  /** The fields a refused form got wrong, each with its message (shown beside the field). */
  fields?: FieldProblem[];
}

/** The answer of every verb: the shared Result (network/protocol/errors.ts) failing with an AppError. */
export type Result<T> = Outcome<T, AppError>;

/** A successful result. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failed result (with the fields at fault, for a form). */
export function fail<T = never>(code: ErrorCode, message: string, fields?: FieldProblem[]): Result<T> {
  return { ok: false, error: fields && fields.length > 0 ? { code, message, fields } : { code, message } };
}
