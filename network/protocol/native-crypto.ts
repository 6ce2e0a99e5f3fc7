/**
 * Node's own crypto for the hot parts of sealed mode, where it is present: every primitive here
 * gives the same bytes as the portable code @hpke uses (Web Crypto, pure JS), and tests hold the
 * two equal. The portable code stays for runtimes without Node (browsers, Deno, Workers).
 *
 * Why: @hpke's HKDF runs each HMAC as an asynchronous Web Crypto job (an importKey and a sign on
 * libuv's thread pool). A sealed request's key schedule and answer-key exports take about twenty
 * of them on each end, a few milliseconds of time to first token in all; Node's HMAC does each in
 * microseconds, inline.
 */
import { HkdfSha256 } from '@hpke/core';

/** The part of Node's crypto module used here (this layer compiles without Node's types). */
export interface NodeDigest {
  update(data: Uint8Array): NodeDigest;
  digest(): Uint8Array;
}
export interface NodeAeadCipher {
  setAAD(aad: Uint8Array, options: { plaintextLength: number }): unknown;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}
export interface NodeCryptoSubset {
  getCiphers(): string[];
  getHashes(): string[];
  createHash(algorithm: 'sha256'): NodeDigest;
  createHmac(algorithm: 'sha256', key: Uint8Array): NodeDigest;
  createCipheriv(algorithm: 'chacha20-poly1305', key: Uint8Array, iv: Uint8Array, options: { authTagLength: 16 }): NodeAeadCipher & { getAuthTag(): Uint8Array };
  createDecipheriv(algorithm: 'chacha20-poly1305', key: Uint8Array, iv: Uint8Array, options: { authTagLength: 16 }): NodeAeadCipher & { setAuthTag(tag: Uint8Array): unknown };
}

let cached: NodeCryptoSubset | null | undefined;

/** Node's crypto when this runtime is Node with SHA-256 and ChaCha20-Poly1305 (OpenSSL), else undefined. */
export function nodeCrypto(): NodeCryptoSubset | undefined {
  if (cached === undefined) {
    const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const crypto = runtime?.getBuiltinModule?.('node:crypto') as NodeCryptoSubset | undefined;
    cached = crypto?.getCiphers().includes('chacha20-poly1305') && crypto.getHashes().includes('sha256') ? crypto : null;
  }
  return cached ?? undefined;
}

type Bytes = ArrayBufferLike | ArrayBufferView;

function bytesOf(input: Bytes): Uint8Array {
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  return new Uint8Array(input);
}

function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

const HASH_BYTES = 32;

/**
 * HKDF-SHA256 (RFC 5869) on Node's HMAC, for the HPKE suite's key schedule and secret exports.
 * Only the two HKDF steps are replaced; labels, suite ids and their checks stay @hpke's.
 */
export class NativeHkdfSha256 extends HkdfSha256 {
  readonly #crypto: NodeCryptoSubset;

  constructor(crypto: NodeCryptoSubset) {
    super();
    this.#crypto = crypto;
  }

  /** HKDF-Extract: HMAC(salt, ikm); an empty salt is HashLen zero bytes (RFC 5869 §2.2). */
  override async extract(salt: Bytes, ikm: Bytes): Promise<ArrayBuffer> {
    const key = salt.byteLength === 0 ? new Uint8Array(HASH_BYTES) : bytesOf(salt);
    if (key.byteLength !== HASH_BYTES) throw new RangeError('The salt length must be the same as the hashSize');
    return ownBuffer(this.#crypto.createHmac('sha256', key).update(bytesOf(ikm)).digest());
  }

  /** HKDF-Expand: T(i) = HMAC(prk, T(i−1) ‖ info ‖ i), up to 255 blocks (RFC 5869 §2.3). */
  override async expand(prk: Bytes, info: Bytes, len: number): Promise<ArrayBuffer> {
    if (!Number.isInteger(len) || len < 0 || len > 255 * HASH_BYTES) throw new RangeError('Entropy limit reached');
    const key = bytesOf(prk);
    const infoBytes = bytesOf(info);
    const okm = new Uint8Array(len);
    let previous = new Uint8Array(0);
    for (let block = 1, at = 0; at < len; block++) {
      previous = new Uint8Array(this.#crypto.createHmac('sha256', key).update(previous).update(infoBytes).update(Uint8Array.of(block)).digest());
      okm.set(previous.subarray(0, Math.min(HASH_BYTES, len - at)), at);
      at += HASH_BYTES;
    }
    return okm.buffer;
  }

  override async extractAndExpand(salt: Bytes, ikm: Bytes, info: Bytes, len: number): Promise<ArrayBuffer> {
    return this.expand(await this.extract(salt, ikm), info, len);
  }
}

/** The fastest HKDF-SHA256 this runtime offers; both give the same bytes. */
export function hkdfSha256(): HkdfSha256 {
  const crypto = nodeCrypto();
  return crypto ? new NativeHkdfSha256(crypto) : new HkdfSha256();
}
