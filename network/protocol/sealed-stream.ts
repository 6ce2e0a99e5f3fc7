/**
 * The sealed answer stream: the job process seals each text chunk, the client's gateway opens
 * them, and everything between sees ciphertext plus a sequence number and a final flag.
 *
 * Keys come from the request's HPKE context (RFC 9180 §5.3, secret export), so only the holder
 * of the job's ephemeral secret (the client) and of the job-process key can derive them:
 *   key       = Export("silkworm sealed response key v1", 32)
 *   baseNonce = Export("silkworm sealed response nonce v1", 12)
 *   nonce(seq) = baseNonce XOR I2OSP(seq, 12)                        (as HPKE's own nonces)
 *   aad(seq)   = UTF-8(canonicalJson({ final, finishReason: reason | null, seq }))
 *   ciphertext = ChaCha20-Poly1305(key, nonce(seq), aad(seq), UTF-8(text))
 * Chunk on the wire: { seq, ciphertext (base64url), final, finishReason? (final chunk only) }.
 * The opener expects seq 0, 1, 2, … and exactly one final chunk: a reordered, dropped, repeated
 * or relabelled chunk fails to open, and a stream that ends without its final chunk is truncated.
 */
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { z } from 'zod';
import { finishReasonSchema, type FinishReason } from './job-schemas.js';
import { concatBytes, fromBase64Url, fromUtf8, toBase64Url, utf8 } from './encoding.js';
import type { SealedFailure, SealedResult } from './sealed-common.js';
import { nodeCrypto, type NodeCryptoSubset } from './native-crypto.js';

/** Export label of the answer key. */
export const RESPONSE_KEY_LABEL = 'silkworm sealed response key v1';
/** Export label of the answer base nonce. */
export const RESPONSE_NONCE_LABEL = 'silkworm sealed response nonce v1';
/** Largest text one chunk may carry, in UTF-8 bytes. */
export const MAX_CHUNK_TEXT_BYTES = 64 * 1024;
/** Highest chunk sequence number (far beyond any answer; keeps nonces unique). */
export const MAX_CHUNK_SEQ = 2 ** 32 - 1;

/** The fields of one sealed answer chunk. */
export const sealedChunkShape = {
  seq: z.number().int().min(0).max(MAX_CHUNK_SEQ),
  ciphertext: z.string().min(22).max(Math.ceil(((MAX_CHUNK_TEXT_BYTES + 16) * 4) / 3)).regex(/^[A-Za-z0-9_-]+$/, 'expected base64url'),
  final: z.boolean(),
  /** Present on the final chunk only, and bound into its AAD. */
  finishReason: finishReasonSchema.optional(),
};

/** One sealed answer chunk as it travels. */
export const sealedChunkSchema = z.strictObject(sealedChunkShape);
export type SealedChunk = z.infer<typeof sealedChunkSchema>;

/** An opened chunk. */
export interface OpenedChunk {
  text: string;
  final: boolean;
  finishReason?: FinishReason;
}

/** What both HPKE sender and recipient contexts offer: RFC 9180 secret export. */
export interface SecretExporter {
  export(exporterContext: Uint8Array, length: number): Promise<ArrayBuffer>;
}

/** The answer stream's AEAD: ChaCha20-Poly1305, ciphertext ‖ 16-byte tag (RFC 8439). */
interface ChunkAead {
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  open(nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

const TAG_BYTES = 16;

/**
 * Node's native ChaCha20-Poly1305: the same bytes as the pure-JS one, at a fraction of the CPU
 * per chunk (it runs for every token on both ends of a sealed stream).
 */
export function nativeChunkAead(crypto: NodeCryptoSubset, key: Uint8Array): ChunkAead {
  return {
    seal: async (nonce, plaintext, aad) => {
      const cipher = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad, { plaintextLength: plaintext.length });
      return concatBytes(cipher.update(plaintext), cipher.final(), cipher.getAuthTag());
    },
    open: async (nonce, sealed, aad) => {
      if (sealed.length < TAG_BYTES) throw new Error('Sealed chunk shorter than its tag.');
      const body = sealed.subarray(0, sealed.length - TAG_BYTES);
      const decipher = crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad, { plaintextLength: body.length });
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return concatBytes(decipher.update(body), decipher.final()); // final() throws on a bad tag
    },
  };
}

/** The pure-JS ChaCha20-Poly1305 (@hpke), for runtimes without Node's crypto (browsers, Deno, Workers). */
export function portableChunkAead(key: Uint8Array): ChunkAead {
  const context = new Chacha20Poly1305().createEncryptionContext(key);
  return {
    seal: async (nonce, plaintext, aad) => new Uint8Array(await context.seal(nonce, plaintext, aad)),
    open: async (nonce, sealed, aad) => new Uint8Array(await context.open(nonce, sealed, aad)),
  };
}

/** The fastest AEAD this runtime offers; both produce the same bytes. */
export function chunkAead(key: Uint8Array): ChunkAead {
  const crypto = nodeCrypto();
  return crypto ? nativeChunkAead(crypto, key) : portableChunkAead(key);
}

async function deriveChannel(exporter: SecretExporter): Promise<{ aead: ChunkAead; baseNonce: Uint8Array }> {
  const key = new Uint8Array(await exporter.export(utf8(RESPONSE_KEY_LABEL), 32));
  const baseNonce = new Uint8Array(await exporter.export(utf8(RESPONSE_NONCE_LABEL), 12));
  return { aead: chunkAead(key), baseNonce };
}

function nonceFor(baseNonce: Uint8Array, seq: number): Uint8Array {
  const nonce = baseNonce.slice();
  let rest = seq;
  for (let i = nonce.length - 1; rest > 0 && i >= 0; i--) {
    nonce[i]! ^= rest % 256;
    rest = Math.floor(rest / 256);
  }
  return nonce;
}

/**
 * The chunk's AAD: canonicalJson({ final, finishReason, seq }), written out directly (the keys
 * are fixed and already in order; finishReason is one of a few plain words): it runs for every
 * chunk on both ends. A test holds it byte-equal to canonicalJson.
 */
export function chunkAad(seq: number, final: boolean, finishReason: FinishReason | undefined): Uint8Array {
  return utf8(`{"final":${final},"finishReason":${finishReason === undefined ? 'null' : JSON.stringify(finishReason)},"seq":${seq}}`);
}

/** Options of {@link ResponseSealer.seal}: the final chunk names why generation ended. */
export type SealOptions = { final?: false } | { final: true; finishReason: FinishReason };

/** Job-process side: seals answer chunks in order. */
export class ResponseSealer {
  private seq = 0;
  private ended = false;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly aead: ChunkAead, private readonly baseNonce: Uint8Array) {}

  /** Derives the answer keys from the request's HPKE recipient context. */
  static async fromContext(exporter: SecretExporter): Promise<ResponseSealer> {
    const { aead, baseNonce } = await deriveChannel(exporter);
    return new ResponseSealer(aead, baseNonce);
  }

  /** True once the final chunk was sealed. */
  get finished(): boolean {
    return this.ended;
  }

  /**
   * Seals the next chunk (sequence numbers are taken at call time; results resolve in call
   * order). Throws when called after the final chunk or with text over MAX_CHUNK_TEXT_BYTES.
   */
  seal(text: string, options: SealOptions = {}): Promise<SealedChunk> {
    if (this.ended) throw new Error('The answer was already sealed with its final chunk.');
    const bytes = utf8(text);
    if (bytes.length > MAX_CHUNK_TEXT_BYTES) throw new RangeError(`A sealed chunk holds at most ${MAX_CHUNK_TEXT_BYTES} bytes of text.`);
    if (this.seq > MAX_CHUNK_SEQ) throw new RangeError('Too many chunks in one answer.');
    const seq = this.seq++;
    const finishReason = options.final ? options.finishReason : undefined;
    if (options.final) this.ended = true;
    const result = this.tail.then(async (): Promise<SealedChunk> => {
      const sealed = await this.aead.seal(nonceFor(this.baseNonce, seq), bytes, chunkAad(seq, options.final === true, finishReason));
      const chunk: SealedChunk = { seq, ciphertext: toBase64Url(sealed), final: options.final === true };
      if (finishReason) chunk.finishReason = finishReason;
      return chunk;
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Client side: opens answer chunks, refusing anything but the exact sealed sequence. */
export class ResponseOpener {
  private expected = 0;
  private sawFinal = false;
  private failure: SealedFailure | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly aead: ChunkAead, private readonly baseNonce: Uint8Array) {}

  /** Derives the answer keys from the request's HPKE sender context. */
  static async fromContext(exporter: SecretExporter): Promise<ResponseOpener> {
    const { aead, baseNonce } = await deriveChannel(exporter);
    return new ResponseOpener(aead, baseNonce);
  }

  /** True once the final chunk has opened, and nothing failed. */
  get finished(): boolean {
    return this.sawFinal && !this.failure;
  }

  /** Opens the next chunk. After any failure every later call fails too (fail closed). */
  open(input: unknown): Promise<SealedResult<OpenedChunk>> {
    const refused = this.check(input);
    if (!refused.ok) return Promise.resolve(refused);
    const chunk = refused.value;
    const result = this.tail.then(async (): Promise<SealedResult<OpenedChunk>> => {
      if (this.failure) return { ok: false, error: this.failure };
      let plaintext: Uint8Array;
      try {
        const aad = chunkAad(chunk.seq, chunk.final, chunk.finishReason);
        plaintext = await this.aead.open(nonceFor(this.baseNonce, chunk.seq), fromBase64Url(chunk.ciphertext)!, aad);
      } catch {
        return this.poison('decrypt_failed', `Answer chunk ${chunk.seq} does not open: tampered with or not from this job.`);
      }
      const text = fromUtf8(plaintext);
      if (text === null) return this.poison('bad_body', `Answer chunk ${chunk.seq} is not valid UTF-8.`);
      const opened: OpenedChunk = { text, final: chunk.final };
      if (chunk.finishReason) opened.finishReason = chunk.finishReason;
      return { ok: true, value: opened };
    });
    this.tail = result;
    return result;
  }

  /** Call when the stream ends: fails unless the final chunk arrived and opened. */
  finish(): SealedResult<void> {
    if (this.failure) return { ok: false, error: this.failure };
    if (!this.sawFinal) return this.poison('truncated', `The sealed answer ended after ${this.expected} chunk(s), before its final chunk.`);
    return { ok: true, value: undefined };
  }

  // Synchronous checks, so sequence order is judged in arrival order.
  private check(input: unknown): SealedResult<SealedChunk> {
    if (this.failure) return { ok: false, error: this.failure };
    if (this.sawFinal) return this.poison('out_of_order', 'A chunk arrived after the final chunk.');
    const parsed = sealedChunkSchema.safeParse(input);
    if (!parsed.success) return this.poison('malformed', 'Malformed sealed answer chunk.');
    const chunk = parsed.data;
    if (chunk.final !== (chunk.finishReason !== undefined)) return this.poison('malformed', 'finishReason must be on the final chunk, and only there.');
    if (chunk.seq !== this.expected) {
      const what = chunk.seq < this.expected ? 'repeated' : 'out of order (a chunk is missing)';
      return this.poison('out_of_order', `Answer chunk ${chunk.seq} is ${what}; expected ${this.expected}.`);
    }
    this.expected++;
    if (chunk.final) this.sawFinal = true;
    return { ok: true, value: chunk };
  }

  private poison(code: SealedFailure['code'], message: string): { ok: false; error: SealedFailure } {
    this.failure ??= { code, message };
    return { ok: false, error: this.failure };
  }
}
