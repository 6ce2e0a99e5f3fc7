/**
 * Ed25519 through Node's OpenSSL: about a thousand times faster than the pure-JavaScript default
 * of network/protocol/ on a small CPU, which matters where thousands of workers say hello at once.
 * Keys are the raw 32-byte forms the protocol uses, wrapped in their fixed DER headers.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Ed25519 } from '../protocol/worker-hello.js';
import type { IdentityKeyPair } from '../protocol/descriptor.js';

/** DER header of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32-byte key follows. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** DER header of an Ed25519 PKCS#8 private key (RFC 8410); the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Ed25519 by OpenSSL, for Node processes. */
export const NODE_ED25519: Ed25519 = {
  sign: (message, secretKey) => new Uint8Array(sign(null, message, privateKeyObject(secretKey.subarray(0, 32)))),
  verify: (message, signature, publicKey) => {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    try {
      return verify(null, message, publicKeyObject(publicKey), signature);
    } catch {
      return false;
    }
  },
};

/** The identity key pair of a 32-byte seed, as identityKeyPairFromSeed makes it, by OpenSSL. */
export function nodeIdentityKeyPairFromSeed(seed: Uint8Array): IdentityKeyPair {
  if (seed.length !== 32) throw new RangeError('An Ed25519 seed is 32 bytes.');
  const der = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(der.subarray(SPKI_PREFIX.length));
  const secretKey = new Uint8Array(64);
  secretKey.set(seed, 0);
  secretKey.set(publicKey, 32);
  return { publicKey, secretKey };
}
