/**
 * Node's own crypto for the hot parts of sealed mode, where it is present: every primitive here
 * gives the same bytes as the portable code @hpke uses (Web Crypto, pure JS), and tests hold the
 * two equal. The portable code stays for runtimes without Node (browsers, Deno, Workers).
 *
 * Why: @hpke's HKDF runs each HMAC as an asynchronous Web Crypto job (an importKey and a sign on
 * libuv's thread pool), and its X25519 each key generation, import, export and agreement. A
 * sealed request's key encapsulation, key schedule and answer-key exports take about thirty of
 * them on each end, a few milliseconds of time to first token in all; Node does each in
 * microseconds, inline.
 */
import { DeriveKeyPairError, DeserializeError, DhkemX25519HkdfSha256, HkdfSha256, NotSupportedError, SerializeError } from '@hpke/core';
import { fromBase64Url, toBase64Url, utf8 } from './encoding.js';

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
/** Node's KeyObject, as far as X25519 uses it. */
export interface NodeKeyObject {
  readonly type: string;
  export(options: { format: 'jwk' }): { x?: string; d?: string };
}
export interface NodeCryptoSubset {
  getCiphers(): string[];
  getHashes(): string[];
  createHash(algorithm: 'sha256'): NodeDigest;
  createHmac(algorithm: 'sha256', key: Uint8Array): NodeDigest;
  createCipheriv(algorithm: 'chacha20-poly1305', key: Uint8Array, iv: Uint8Array, options: { authTagLength: 16 }): NodeAeadCipher & { getAuthTag(): Uint8Array };
  createDecipheriv(algorithm: 'chacha20-poly1305', key: Uint8Array, iv: Uint8Array, options: { authTagLength: 16 }): NodeAeadCipher & { setAuthTag(tag: Uint8Array): unknown };
}
/** The X25519 part (apart, as @types/node types a DER key as a Buffer where Node takes any Uint8Array). */
export interface NodeX25519Crypto extends NodeCryptoSubset {
  generateKeyPairSync(type: 'x25519'): { publicKey: NodeKeyObject; privateKey: NodeKeyObject };
  createPublicKey(key: { key: { kty: 'OKP'; crv: 'X25519'; x: string }; format: 'jwk' }): NodeKeyObject;
  createPrivateKey(key: { key: Uint8Array; format: 'der'; type: 'pkcs8' }): NodeKeyObject;
  diffieHellman(options: { privateKey: NodeKeyObject; publicKey: NodeKeyObject }): Uint8Array;
  KeyObject: { from(key: unknown): NodeKeyObject };
}

let cached: NodeX25519Crypto | null | undefined;

/** Node's crypto when this runtime is Node with SHA-256 and ChaCha20-Poly1305 (OpenSSL), else undefined. */
export function nodeCrypto(): NodeX25519Crypto | undefined {
  if (cached === undefined) {
    const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const crypto = runtime?.getBuiltinModule?.('node:crypto') as NodeX25519Crypto | undefined;
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

const X25519_BYTES = 32;
// The DER prefix of a PKCS #8 X25519 private key (RFC 8410), followed by the 32 raw bytes.
const PKCS8_X25519_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20);
// RFC 9180 §4.1: the KEM's own suite id, "KEM" ‖ I2OSP(kem_id = 0x0020, 2), for its HKDF labels.
const KEM_X25519_SUITE_ID = Uint8Array.of(0x4b, 0x45, 0x4d, 0x00, 0x20);
// RFC 9180 §7.1.3 labels.
const LABEL_DKP_PRK = utf8('dkp_prk');
const LABEL_SK = utf8('sk');

/**
 * An X25519 key held as Node's KeyObject, in the shape of a Web Crypto key so @hpke's KEM can
 * carry it between its steps. The KeyObject is a private field: JSON, structured clone and
 * property enumeration never reach it.
 */
class NodeX25519Key {
  readonly algorithm = { name: 'X25519' };
  readonly extractable = true;
  readonly type: 'public' | 'private';
  readonly usages: string[];
  readonly #key: NodeKeyObject;

  constructor(key: NodeKeyObject) {
    this.#key = key;
    this.type = key.type === 'private' ? 'private' : 'public';
    this.usages = this.type === 'private' ? ['deriveBits'] : [];
  }

  /** The KeyObject of a key of this class, or of a Web Crypto X25519 key made elsewhere. */
  static keyObject(key: unknown, crypto: NodeX25519Crypto): NodeKeyObject {
    return key instanceof NodeX25519Key ? key.#key : crypto.KeyObject.from(key);
  }
}

/**
 * DHKEM's X25519 steps (RFC 9180 §4.1, §7.1) on Node's synchronous X25519, where @hpke's run as
 * asynchronous Web Crypto jobs (generateKey, deriveBits, exportKey, importKey: a trip to libuv's
 * thread pool each). JWK import, rare, stays @hpke's: every step here also takes its Web Crypto keys.
 */
class NativeX25519 {
  readonly #crypto: NodeX25519Crypto;
  readonly #kdf: NativeHkdfSha256;
  readonly #portable: DhkemPrimitivesLike;

  constructor(crypto: NodeX25519Crypto, kdf: NativeHkdfSha256, portable: DhkemPrimitivesLike) {
    this.#crypto = crypto;
    this.#kdf = kdf;
    this.#portable = portable;
  }

  #object(key: unknown): NodeKeyObject {
    return NodeX25519Key.keyObject(key, this.#crypto);
  }

  async serializePublicKey(key: unknown): Promise<ArrayBuffer> {
    try {
      return ownBuffer(rawFromJwk(this.#object(key).export({ format: 'jwk' }).x));
    } catch (error) {
      throw new SerializeError(error);
    }
  }

  async deserializePublicKey(key: Bytes): Promise<NodeX25519Key> {
    try {
      return this.#publicKey(bytesOf(key));
    } catch (error) {
      throw new DeserializeError(error);
    }
  }

  async serializePrivateKey(key: unknown): Promise<ArrayBuffer> {
    try {
      return ownBuffer(rawFromJwk(this.#object(key).export({ format: 'jwk' }).d));
    } catch (error) {
      throw new SerializeError(error);
    }
  }

  async deserializePrivateKey(key: Bytes): Promise<NodeX25519Key> {
    try {
      return this.#privateKey(bytesOf(key));
    } catch (error) {
      throw new DeserializeError(error);
    }
  }

  importKey(format: 'raw' | 'jwk', key: ArrayBuffer | object, isPublic: boolean): Promise<unknown> {
    if (format === 'raw' && key instanceof ArrayBuffer) return isPublic ? this.deserializePublicKey(key) : this.deserializePrivateKey(key);
    return this.#portable.importKey(format, key, isPublic);
  }

  async generateKeyPair(): Promise<{ privateKey: NodeX25519Key; publicKey: NodeX25519Key }> {
    try {
      const pair = this.#crypto.generateKeyPairSync('x25519');
      return { privateKey: new NodeX25519Key(pair.privateKey), publicKey: new NodeX25519Key(pair.publicKey) };
    } catch (error) {
      throw new NotSupportedError(error);
    }
  }

  /** RFC 9180 §7.1.3: sk = LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk", "", 32). */
  async deriveKeyPair(ikm: Bytes): Promise<{ privateKey: NodeX25519Key; publicKey: NodeX25519Key }> {
    try {
      const prk = await this.#kdf.labeledExtract(new ArrayBuffer(0), LABEL_DKP_PRK, bytesOf(ikm));
      const raw = new Uint8Array(await this.#kdf.labeledExpand(prk, LABEL_SK, new Uint8Array(0), X25519_BYTES));
      const privateKey = this.#privateKey(raw);
      raw.fill(0);
      return { privateKey, publicKey: await this.derivePublicKey(privateKey) };
    } catch (error) {
      throw new DeriveKeyPairError(error);
    }
  }

  async derivePublicKey(key: unknown): Promise<NodeX25519Key> {
    try {
      // A private key's JWK carries its public half (x).
      return this.#publicKey(rawFromJwk(this.#object(key).export({ format: 'jwk' }).x));
    } catch (error) {
      throw new DeserializeError(error);
    }
  }

  /** X25519(sk, pk); an all-zero result (a small-order public key) is refused (RFC 9180 §7.1.4; OpenSSL refuses it too, other libraries may not). */
  async dh(sk: unknown, pk: unknown): Promise<ArrayBuffer> {
    try {
      const shared = this.#crypto.diffieHellman({ privateKey: this.#object(sk), publicKey: this.#object(pk) });
      if (shared.every((byte) => byte === 0)) throw new Error('X25519 gave the all-zero value: a small-order public key');
      return ownBuffer(shared);
    } catch (error) {
      throw new SerializeError(error);
    }
  }

  #publicKey(raw: Uint8Array): NodeX25519Key {
    if (raw.byteLength !== X25519_BYTES) throw new Error('Invalid public key for the ciphersuite');
    return new NodeX25519Key(this.#crypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(raw) }, format: 'jwk' }));
  }

  #privateKey(raw: Uint8Array): NodeX25519Key {
    if (raw.byteLength !== X25519_BYTES) throw new Error('Invalid private key for the ciphersuite');
    const der = new Uint8Array(PKCS8_X25519_PREFIX.length + X25519_BYTES);
    der.set(PKCS8_X25519_PREFIX);
    der.set(raw, PKCS8_X25519_PREFIX.length);
    try {
      return new NodeX25519Key(this.#crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    } finally {
      der.fill(0);
    }
  }
}

/** The part of @hpke's DHKEM primitives interface the native steps fall back to. */
interface DhkemPrimitivesLike {
  importKey(format: 'raw' | 'jwk', key: ArrayBuffer | object, isPublic: boolean): Promise<unknown>;
}

function rawFromJwk(field: string | undefined): Uint8Array {
  const raw = field === undefined ? null : fromBase64Url(field);
  if (raw?.byteLength !== X25519_BYTES) throw new Error('Not a 32-byte X25519 key of the expected kind');
  return raw;
}

/**
 * DHKEM(X25519, HKDF-SHA256) with its X25519 on Node's crypto and its HKDF on Node's HMAC.
 * The KEM's logic (encapsulation, labels, the shared secret) stays @hpke's; only its primitives
 * change, and the RFC 9180 vectors hold both versions to the same bytes.
 */
export class NativeDhkemX25519HkdfSha256 extends DhkemX25519HkdfSha256 {
  constructor(crypto: NodeX25519Crypto) {
    super();
    const kdf = new NativeHkdfSha256(crypto);
    kdf.init(KEM_X25519_SUITE_ID);
    this._kdf = kdf;
    this._prim = new NativeX25519(crypto, kdf, this._prim);
  }
}

let x25519Works: boolean | undefined;

/** The fastest DHKEM(X25519, HKDF-SHA256) this runtime offers; both give the same bytes. */
export function dhkemX25519HkdfSha256(): DhkemX25519HkdfSha256 {
  const crypto = nodeCrypto();
  if (crypto && x25519Works === undefined) {
    // Node's crypto on another TLS library (BoringSSL in Electron) may lack X25519 KeyObjects.
    try {
      x25519Works = crypto.generateKeyPairSync('x25519').publicKey.type === 'public';
    } catch {
      x25519Works = false;
    }
  }
  return crypto && x25519Works ? new NativeDhkemX25519HkdfSha256(crypto) : new DhkemX25519HkdfSha256();
}
