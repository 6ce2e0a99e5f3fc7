/**
 * How a worker proves who it is when it joins: the coordinator opens every connection with a
 * fresh random `challenge`, and the worker's `hello` answers it with an Ed25519 signature by its
 * long-term identity key over the challenge and everything the coordinator will act on (its id
 * and its payout address). A worker id is then bound to that key for good; a later connection
 * may speak for the id only by signing with the same key.
 *
 * Signed bytes: UTF-8("silkworm worker hello v2\n" + canonicalJson(HelloStatement)), where
 *   HelloStatement = { coordinatorId, nonce, workerId, identityKey, payoutAddress: string | null }
 * Keys and signatures are unpadded base64url (32 and 64 bytes), as in descriptors.
 */
import { sign, signVerify } from '@ton/crypto';
import { canonicalJson, fromBase64Url, toBase64Url, utf8 } from './encoding.js';
import type { IdentityKeyPair } from './descriptor.js';

/** Prefix of the signed bytes: a hello signature can never be mistaken for another signature. */
export const HELLO_SIGNING_PREFIX = 'silkworm worker hello v2\n';
/** Bytes of a challenge nonce. */
export const CHALLENGE_BYTES = 32;

/** What a hello signature covers. */
export interface HelloStatement {
  coordinatorId: string;
  /** The coordinator's challenge nonce, base64url. */
  nonce: string;
  workerId: string;
  /** The worker's Ed25519 identity public key, base64url. */
  identityKey: string;
  payoutAddress: string | null;
}

type TonBytes = Parameters<typeof sign>[0];
const asTon = (bytes: Uint8Array): TonBytes => bytes as unknown as TonBytes;

/**
 * An Ed25519 implementation. The default is @ton/crypto's, in pure JavaScript (tens of ms a
 * verification on a busy small CPU); a Node process passes OpenSSL's (network/node-kit/ed25519.ts),
 * which a coordinator verifying thousands of hellos needs. Both give the same signatures.
 */
export interface Ed25519 {
  /** Signs with a 64-byte secret key (seed ‖ public key, as IdentityKeyPair holds it). */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** True when `signature` (64 bytes) is `publicKey`'s (32 bytes) over `message`. */
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

/** @ton/crypto's Ed25519 (pure JavaScript, runs anywhere). */
export const TON_ED25519: Ed25519 = {
  sign: (message, secretKey) => new Uint8Array(sign(asTon(message), asTon(secretKey))),
  verify: (message, signature, publicKey) => signVerify(asTon(message), asTon(signature), asTon(publicKey)),
};

/** The exact bytes a hello signature covers. */
export function helloSigningBytes(statement: HelloStatement): Uint8Array {
  return utf8(HELLO_SIGNING_PREFIX + canonicalJson(statement));
}

/** Signs a hello statement with the worker's identity key; returns the signature (base64url). */
export function signHello(statement: HelloStatement, identity: IdentityKeyPair, ed25519: Ed25519 = TON_ED25519): string {
  return toBase64Url(ed25519.sign(helloSigningBytes(statement), identity.secretKey));
}

/** True when `signature` is the identity key's signature over the statement. */
export function verifyHello(statement: HelloStatement, signature: string, ed25519: Ed25519 = TON_ED25519): boolean {
  const key = fromBase64Url(statement.identityKey);
  const sig = fromBase64Url(signature);
  if (!key || key.length !== 32 || !sig || sig.length !== 64) return false;
  try {
    return ed25519.verify(helloSigningBytes(statement), sig, key);
  } catch {
    return false;
  }
}
