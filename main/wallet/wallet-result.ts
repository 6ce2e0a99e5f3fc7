/**
 * How the wallet's expected failures come back: the shared Result (network/protocol/errors.ts)
 * with a code the Wallet screen can explain. Every code here is also an IPC error code, so the
 * app passes these results to the UI as they are.
 */
import type { Result } from '../../network/protocol/errors.js';

/** Why a wallet action failed. */
export type WalletErrorCode =
  | 'passphrase-required'
  | 'wrong-passphrase'
  | 'invalid-recovery-phrase'
  | 'wallet-exists'
  | 'no-wallet'
  | 'wallet-rejected'
  | 'proof-invalid'
  | 'expired'
  | 'unreachable'
  | 'unavailable'
  | 'unsupported'
  | 'wrong-network';

/** A wallet failure, in the owner's words. */
export interface WalletError {
  code: WalletErrorCode;
  message: string;
}

/** The answer of a wallet action. */
export type WalletResult<T> = Result<T, WalletError>;

/** A successful wallet result. */
export function ok<T>(value: T): WalletResult<T> {
  return { ok: true, value };
}

/** A failed wallet result. */
export function fail<T = never>(code: WalletErrorCode, message: string): WalletResult<T> {
  return { ok: false, error: { code, message } };
}
