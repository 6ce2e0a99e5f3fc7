/** Failure values and the Web Crypto handle shared by the sealed-mode modules. */
import type { Result } from './errors.js';

/** Tolerated difference between the client's and the worker's clocks. */
export const CLOCK_SKEW_MS = 2 * 60_000;

/** Why a sealed envelope or a sealed answer chunk was refused. Messages never hold plaintext. */
export const SEALED_FAILURE_CODES = [
  /** Not a well-formed envelope or chunk. */
  'malformed',
  /** Another envelope version or HPKE suite. */
  'unsupported',
  /** Sealed to a key this job process does not hold (it restarted: fetch descriptors again). */
  'stale_key',
  /** Addressed to another worker or bound to another coordinator. */
  'wrong_recipient',
  /** Names a model this worker does not serve. */
  'wrong_model',
  /** Past its `expiresAt`, or valid for longer than a job process accepts. */
  'expired',
  /** The same job id or encapsulated key was received before. */
  'replay',
  /** The replay guard is full of unexpired entries: refuse rather than forget. */
  'busy',
  /** AEAD authentication failed: tampered, wrong key, or a clear field changed. */
  'decrypt_failed',
  /** Authentic, but the plaintext is not a valid job body. */
  'bad_body',
  /** An answer chunk arrived out of order, twice, or after the final one. */
  'out_of_order',
  /** The answer stream ended before its final chunk. */
  'truncated',
] as const;

/** One of SEALED_FAILURE_CODES. */
export type SealedFailureCode = (typeof SEALED_FAILURE_CODES)[number];

/** A refused envelope or chunk, as a plain object that may cross process boundaries. */
export interface SealedFailure {
  code: SealedFailureCode;
  message: string;
}

/** The shared Result (errors.ts) of a sealed-mode operation. */
export type SealedResult<T> = Result<T, SealedFailure>;

/** The part of Web Crypto we use; declared here because this layer compiles without DOM types. */
export interface WebCryptoSubset {
  subtle: { digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer> };
  randomUUID(): string;
}

/** The platform's Web Crypto (`globalThis.crypto`: Node ≥ 19, browsers, Deno, Workers). */
export function webCrypto(): WebCryptoSubset {
  const crypto = (globalThis as unknown as { crypto?: WebCryptoSubset }).crypto;
  if (!crypto?.subtle) throw new Error('Web Crypto (globalThis.crypto.subtle) is not available on this platform.');
  return crypto;
}
