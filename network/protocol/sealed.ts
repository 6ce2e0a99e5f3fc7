/**
 * Sealed mode (docs/design.md, Sealed mode): a chat job encrypted with HPKE (RFC 9180, base mode,
 * DHKEM(X25519, HKDF-SHA256) · HKDF-SHA256 · ChaCha20-Poly1305) from the client's gateway to a
 * key generated inside the worker's job process. The coordinator relays ciphertext only.
 *
 * Envelope (JSON, the body of `POST /v1/sealed/jobs` and of the worker's sealed job offer):
 *   { v: 1, suite: 'X25519-HKDF-SHA256-ChaCha20Poly1305', jobId, model, coordinatorId, workerId,
 *     recipientKey, maxTokens, [promptTokens,] expiresAt, enc, ciphertext }
 * Every field but `enc` and `ciphertext` is in clear (routing, billing, dedupe) and bound:
 *   header = canonicalJson(envelope without enc and ciphertext)          (encoding.ts, RFC 8785)
 *   info   = "silkworm sealed job v1" || 0x00 || SHA-256(header)           (56 bytes)
 *   aad    = UTF-8(header)
 *   ciphertext = HPKE Seal(pkR = recipientKey, info, aad, UTF-8(JSON(body)))   (body: SealedJobBody)
 * so changing any clear field, `enc`, or one bit of the ciphertext makes opening fail.
 * Answers stream back as sealed chunks keyed from the same HPKE context (sealed-stream.ts).
 */
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { z } from 'zod';
import { chatMessageSchema } from './chat.js';
import { checkJobParams, jobParamsObject, type JobParams } from './job-schemas.js';
import { canonicalJson, concatBytes, fromBase64Url, fromUtf8, isBase64UrlOfLength, toBase64Url, utf8 } from './encoding.js';
import { ResponseOpener, ResponseSealer } from './sealed-stream.js';
import type { ReplayGuard } from './replay-guard.js';
import { CLOCK_SKEW_MS, webCrypto, type SealedFailure, type SealedResult } from './sealed-common.js';
import { dhkemX25519HkdfSha256, hkdfSha256, nodeCrypto } from './native-crypto.js';

export { ResponseOpener, ResponseSealer, sealedChunkSchema, type OpenedChunk, type SealedChunk, type SealOptions } from './sealed-stream.js';
export { ReplayGuard, type ReplayGuardOptions } from './replay-guard.js';
export { CLOCK_SKEW_MS, SEALED_FAILURE_CODES, type SealedFailure, type SealedFailureCode, type SealedResult } from './sealed-common.js';

/** The only envelope version so far. */
export const SEALED_VERSION = 1;
/** The only HPKE suite we speak (RFC 9180 ids: KEM 0x0020, KDF 0x0001, AEAD 0x0003). */
export const SEALED_SUITE = 'X25519-HKDF-SHA256-ChaCha20Poly1305';
/** Domain-separation label at the start of the HPKE `info`. */
export const SEALED_INFO_LABEL = 'silkworm sealed job v1';
/** How long a sealed envelope stays valid by default. */
export const DEFAULT_ENVELOPE_TTL_MS = 5 * 60_000;
/** The longest validity a job process accepts (bounds what the replay guard must remember). */
export const MAX_ENVELOPE_TTL_MS = 10 * 60_000;
/** Largest sealed body (plaintext JSON bytes): its envelope must fit one 1 MiB worker frame. */
export const MAX_SEALED_BODY_BYTES = 512 * 1024;

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const key32 = z.string().refine((text) => isBase64UrlOfLength(text, 32), 'expected 32 bytes as unpadded base64url');
// HPKE adds a 16-byte tag; base64url adds a third.
const MAX_CIPHERTEXT_CHARS = Math.ceil(((MAX_SEALED_BODY_BYTES + 16) * 4) / 3);

/** A sealed job as it travels: clear routing fields, the encapsulated key and the ciphertext. */
export const sealedEnvelopeSchema = z.strictObject({
  v: z.literal(SEALED_VERSION),
  suite: z.literal(SEALED_SUITE),
  jobId: id,
  model: id,
  coordinatorId: id,
  workerId: id,
  /** The job process's HPKE public key this was sealed to (raw X25519, base64url). */
  recipientKey: key32,
  maxTokens: z.number().int().min(1).max(1 << 20),
  /**
   * The client's count of its prompt with the model's tokenizer (template and offered tools
   * included, any continuation not). It can only raise the prompt bound the coordinator bills
   * (`sealedPromptBound`); the worker refuses a job whose prompt counts more than that bound.
   */
  promptTokens: z.number().int().min(1).max(1 << 20).optional(),
  /** Unix milliseconds after which the job process refuses the envelope. */
  expiresAt: z.number().int().nonnegative(),
  enc: key32,
  ciphertext: z.string().min(22).max(MAX_CIPHERTEXT_CHARS).regex(/^[A-Za-z0-9_-]+$/, 'expected base64url'),
});
export type SealedEnvelope = z.infer<typeof sealedEnvelopeSchema>;

/** The bound clear fields of an envelope. */
export type SealedHeader = Omit<SealedEnvelope, 'enc' | 'ciphertext'>;

/** What is sealed: the prompt and sampling settings (max tokens travels in clear, bound). */
export const sealedJobBodySchema = z.strictObject({
  messages: z.array(chatMessageSchema).min(1).max(1024),
  params: jobParamsObject.omit({ maxTokens: true }).superRefine(checkJobParams),
  /** Text already streamed to the client by an earlier worker: continue after it. */
  continuation: z.string().max(MAX_SEALED_BODY_BYTES).optional(),
  /** A thinking model's thought already streamed by an earlier worker: go on after it. */
  continuationReasoning: z.string().max(MAX_SEALED_BODY_BYTES).optional(),
});
export type SealedJobBody = z.infer<typeof sealedJobBodySchema>;

/** A job as the job process runs it after opening: the same shape as a transport-mode job. */
export interface OpenedJob {
  jobId: string;
  model: string;
  messages: SealedJobBody['messages'];
  params: JobParams;
  continuation?: string;
  continuationReasoning?: string;
  /** The most prompt tokens the coordinator will bill for this job (`sealedPromptBound`). */
  promptBound: number;
}

/** Bytes the AEAD adds to each sealed message, request or answer chunk (ChaCha20-Poly1305 tag). */
export const SEALED_TAG_BYTES = 16;
/** Template tokens a chat adds beyond one token per plaintext byte (JSON framing outweighs each message's). */
const SEALED_TEMPLATE_TOKENS = 16;

/**
 * The most prompt tokens a sealed job is billed for, from what the coordinator can see: one token
 * per plaintext byte plus a small allowance for the chat template, or the client's declared
 * count when that is more. A model's template documents the job's tools in the prompt at far
 * more length than they take in the body, so a job with tools needs the declaration. Coordinator
 * and worker compute it alike: the worker refuses a job whose prompt counts more, rather than do
 * work it will not be paid for.
 */
export function sealedPromptBound(envelope: Pick<SealedEnvelope, 'ciphertext' | 'promptTokens'>): number {
  const plaintextBytes = Math.max(0, Math.floor((envelope.ciphertext.length * 3) / 4) - SEALED_TAG_BYTES);
  return Math.max(plaintextBytes + SEALED_TEMPLATE_TOKENS, envelope.promptTokens ?? 0);
}

/** The suite on given KEM and HKDF implementations (the native and the portable ones give the same bytes). */
function cipherSuite(kem: DhkemX25519HkdfSha256, kdf: HkdfSha256): CipherSuite {
  return new CipherSuite({ kem, kdf, aead: new Chacha20Poly1305() });
}
const hpkeSuite = cipherSuite(dhkemX25519HkdfSha256(), hkdfSha256());
type HpkeKeyPair = Awaited<ReturnType<DhkemX25519HkdfSha256['generateKeyPair']>>;
// Private halves live here, out of reach of JSON, structured clone and property enumeration.
const privatePairs = new WeakMap<JobKeyPair, HpkeKeyPair>();

/**
 * The HPKE suite object (for the RFC 9180 test vectors; application code uses the functions
 * below); `portable` gives one on @hpke's own Web Crypto X25519 and HKDF.
 */
export function sealedCipherSuite(options: { portable?: boolean } = {}): CipherSuite {
  return options.portable ? cipherSuite(new DhkemX25519HkdfSha256(), new HkdfSha256()) : hpkeSuite;
}

/**
 * The job process's HPKE key pair, generated at each start. Only `publicKey` is enumerable, so
 * sending this object over IPC or logging it can never carry the private key.
 */
export class JobKeyPair {
  /** Raw X25519 public key, base64url: what goes into the worker descriptor. */
  readonly publicKey: string;

  private constructor(pair: HpkeKeyPair, publicKey: string) {
    privatePairs.set(this, pair);
    this.publicKey = publicKey;
  }

  /** Generates a fresh key pair from the platform's CSPRNG. */
  static async generate(): Promise<JobKeyPair> {
    const pair = await hpkeSuite.kem.generateKeyPair();
    return JobKeyPair.from(pair);
  }

  /** Derives a key pair from 32+ bytes of input keying material (tests only: keys must be random). */
  static async derive(ikm: Uint8Array): Promise<JobKeyPair> {
    return JobKeyPair.from(await hpkeSuite.kem.deriveKeyPair(ikm));
  }

  private static async from(pair: HpkeKeyPair): Promise<JobKeyPair> {
    return new JobKeyPair(pair, toBase64Url(new Uint8Array(await hpkeSuite.kem.serializePublicKey(pair.publicKey))));
  }

  /** JSON holds the public key only. */
  toJSON(): { publicKey: string } {
    return { publicKey: this.publicKey };
  }
}

/** A fresh job id for a sealed job (the client picks it, so it can be bound before routing). */
export function newJobId(): string {
  return `job-${webCrypto().randomUUID()}`;
}

/** The canonical bound header of an envelope (exported for tests and other implementations). */
export function sealedHeaderBytes(header: SealedHeader): Uint8Array {
  const { v, suite, jobId, model, coordinatorId, workerId, recipientKey, maxTokens, promptTokens, expiresAt } = header;
  return utf8(canonicalJson({ v, suite, jobId, model, coordinatorId, workerId, recipientKey, maxTokens, ...(promptTokens !== undefined ? { promptTokens } : {}), expiresAt }));
}

async function sealedInfo(headerBytes: Uint8Array): Promise<Uint8Array> {
  const native = nodeCrypto();
  const digest = native ? native.createHash('sha256').update(headerBytes).digest() : new Uint8Array(await webCrypto().subtle.digest('SHA-256', headerBytes));
  return concatBytes(utf8(SEALED_INFO_LABEL), new Uint8Array([0]), digest);
}

/** What a client passes to {@link sealRequest}. */
export interface SealRequestInput {
  /** The worker descriptor's HPKE public key (base64url), already verified by the caller. */
  recipientPublicKey: string;
  jobId: string;
  model: string;
  coordinatorId: string;
  workerId: string;
  maxTokens: number;
  /** The prompt's token count, when the client counted it (see the envelope's `promptTokens`). */
  promptTokens?: number;
  body: SealedJobBody;
  /** Unix ms; defaults to Date.now(). */
  now?: number;
  ttlMs?: number;
}

/** Thrown by {@link sealRequest} for input a caller should have checked (never for network data). */
export class SealRequestError extends Error {
  constructor(readonly code: 'invalid_input' | 'too_large', message: string) {
    super(message);
    this.name = 'SealRequestError';
  }
}

let headerSchema: ReturnType<typeof sealedEnvelopeSchema.omit<{ enc: true; ciphertext: true }>> | undefined;
/** The envelope's header fields, built on first use and kept (zod compiles a schema on its first parse). */
function sealedHeaderSchema() {
  return (headerSchema ??= sealedEnvelopeSchema.omit({ enc: true, ciphertext: true }));
}

/**
 * Client side: seals a job to a worker's job-process key. Returns the envelope to POST and the
 * opener for the sealed answer chunks. Throws {@link SealRequestError} on invalid input.
 */
export async function sealRequest(input: SealRequestInput): Promise<{ envelope: SealedEnvelope; responseOpener: ResponseOpener }> {
  const ttlMs = input.ttlMs ?? DEFAULT_ENVELOPE_TTL_MS;
  if (!(ttlMs > 0 && ttlMs <= MAX_ENVELOPE_TTL_MS)) throw new SealRequestError('invalid_input', `ttlMs must be in (0, ${MAX_ENVELOPE_TTL_MS}]`);
  const body = sealedJobBodySchema.safeParse(input.body);
  if (!body.success) throw new SealRequestError('invalid_input', `sealed body: ${body.error.issues[0]?.message ?? 'invalid'}`);
  const plaintext = utf8(JSON.stringify(body.data));
  if (plaintext.length > MAX_SEALED_BODY_BYTES) {
    throw new SealRequestError('too_large', `The request is ${plaintext.length} bytes; sealed requests may be at most ${MAX_SEALED_BODY_BYTES}.`);
  }
  const header: SealedHeader = {
    v: SEALED_VERSION,
    suite: SEALED_SUITE,
    jobId: input.jobId,
    model: input.model,
    coordinatorId: input.coordinatorId,
    workerId: input.workerId,
    recipientKey: input.recipientPublicKey,
    maxTokens: input.maxTokens,
    ...(input.promptTokens !== undefined ? { promptTokens: input.promptTokens } : {}),
    expiresAt: Math.floor((input.now ?? Date.now()) + ttlMs),
  };
  const checked = sealedHeaderSchema().safeParse(header);
  if (!checked.success) throw new SealRequestError('invalid_input', `envelope: ${checked.error.issues[0]?.path.join('.')} ${checked.error.issues[0]?.message}`);
  const headerBytes = sealedHeaderBytes(header);
  const recipientPublicKey = await hpkeSuite.kem.deserializePublicKey(fromBase64Url(input.recipientPublicKey)!);
  const sender = await hpkeSuite.createSenderContext({ recipientPublicKey, info: await sealedInfo(headerBytes) });
  const ciphertext = new Uint8Array(await sender.seal(plaintext, headerBytes));
  const envelope: SealedEnvelope = { ...header, enc: toBase64Url(new Uint8Array(sender.enc)), ciphertext: toBase64Url(ciphertext) };
  return { envelope, responseOpener: await ResponseOpener.fromContext(sender) };
}

/** What the job process checks an envelope against. */
export interface OpenRequestOptions {
  keyPair: JobKeyPair;
  /** This worker's id and the coordinator it is connected to (from `welcome`). */
  workerId: string;
  coordinatorId: string;
  /** Model ids this job process serves. */
  models: readonly string[];
  replayGuard: ReplayGuard;
  /** Unix ms; defaults to Date.now(). */
  now?: number;
}

/** An opened job and the sealer for its answer. */
export interface OpenedRequest {
  header: SealedHeader;
  job: OpenedJob;
  responseSealer: ResponseSealer;
}

function fail(code: SealedFailure['code'], message: string): SealedResult<never> {
  return { ok: false, error: { code, message } };
}

/**
 * Job-process side: checks and opens an envelope. Fails closed: any mismatch, expiry, replay
 * or tampering gives a typed error whose message never holds plaintext.
 */
export async function openRequest(input: unknown, options: OpenRequestOptions): Promise<SealedResult<OpenedRequest>> {
  const parsed = sealedEnvelopeSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') ?? '';
    if (field === 'v' || field === 'suite') return fail('unsupported', `Unsupported sealed envelope ${field}; this worker speaks v${SEALED_VERSION} ${SEALED_SUITE}.`);
    return fail('malformed', `Malformed sealed envelope${field ? ` (${field})` : ''}.`);
  }
  const envelope = parsed.data;
  const refused = checkClearFields(envelope, options);
  if (refused) return refused;

  const { enc: encText, ciphertext: ciphertextText, ...header } = envelope;
  const headerBytes = sealedHeaderBytes(header);
  let plaintext: Uint8Array;
  let recipient: Awaited<ReturnType<CipherSuite['createRecipientContext']>>;
  try {
    recipient = await hpkeSuite.createRecipientContext({
      recipientKey: privatePairs.get(options.keyPair)!,
      enc: fromBase64Url(encText)!,
      info: await sealedInfo(headerBytes),
    });
    plaintext = new Uint8Array(await recipient.open(fromBase64Url(ciphertextText)!, headerBytes));
  } catch {
    return fail('decrypt_failed', 'The sealed envelope does not open: wrong key, or tampered with.');
  }
  // Remembered only once authentic, so forged envelopes cannot block a real job id.
  const remembered = options.replayGuard.remember(envelope.jobId, envelope.enc, envelope.expiresAt);
  if (remembered !== 'ok') {
    return remembered === 'replay' ? fail('replay', 'This sealed job was already received.') : fail('busy', 'Too many recent sealed jobs to track; try again shortly.');
  }
  const body = sealedJobBodySchema.safeParse(parseJson(fromUtf8(plaintext)));
  if (!body.success) return fail('bad_body', 'The sealed request is not a valid job (its content is not shown).');
  const job: OpenedJob = {
    jobId: envelope.jobId,
    model: envelope.model,
    messages: body.data.messages,
    params: { ...body.data.params, maxTokens: envelope.maxTokens },
    ...(body.data.continuation !== undefined ? { continuation: body.data.continuation } : {}),
    ...(body.data.continuationReasoning !== undefined ? { continuationReasoning: body.data.continuationReasoning } : {}),
    promptBound: sealedPromptBound(envelope),
  };
  return { ok: true, value: { header, job, responseSealer: await ResponseSealer.fromContext(recipient) } };
}

// Checks the clear fields against this job process before any decryption (they are
// authenticated by the decryption that follows).
function checkClearFields(envelope: SealedEnvelope, options: OpenRequestOptions): SealedResult<never> | undefined {
  const now = options.now ?? Date.now();
  if (envelope.recipientKey !== options.keyPair.publicKey) return fail('stale_key', 'The envelope is sealed to a key this job process does not hold (it restarted or the key rotated).');
  if (envelope.workerId !== options.workerId) return fail('wrong_recipient', 'The envelope is addressed to another worker.');
  if (envelope.coordinatorId !== options.coordinatorId) return fail('wrong_recipient', 'The envelope is bound to another coordinator.');
  if (!options.models.includes(envelope.model)) return fail('wrong_model', 'The envelope names a model this worker does not serve.');
  if (now > envelope.expiresAt + CLOCK_SKEW_MS) return fail('expired', 'The sealed envelope has expired.');
  if (envelope.expiresAt > now + MAX_ENVELOPE_TTL_MS + CLOCK_SKEW_MS) return fail('expired', 'The sealed envelope is valid for longer than allowed.');
  if (options.replayGuard.seen(envelope.jobId, envelope.enc)) return fail('replay', 'This sealed job was already received.');
  return undefined;
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
