/**
 * Worker descriptors: what a client needs to seal a job to a worker (its job-process HPKE key,
 * models, confidentiality tier), signed by the worker's long-term Ed25519 identity key and
 * published by the coordinator at `GET /v1/workers`.
 *
 * Signed form (JSON): { descriptor: WorkerDescriptor, signature }
 *   signature = Ed25519(identity secret key, UTF-8("silkworm worker descriptor v1\n" + canonicalJson(descriptor)))
 * as unpadded base64url (64 bytes). canonicalJson is RFC 8785 (encoding.ts). Keys are raw 32-byte
 * public keys in unpadded base64url. Ed25519 secret keys use @ton/crypto's 64-byte format
 * (seed ‖ public key), as vouchers do.
 */
import { keyPairFromSeed, sign, signVerify } from '@ton/crypto';
import { z } from 'zod';
import { tierSchema, workerModelSchema, type Tier } from './job-schemas.js';
import { canonicalJson, fromBase64Url, isBase64UrlOfLength, toBase64Url, utf8 } from './encoding.js';
import { CLOCK_SKEW_MS } from './sealed-common.js';

/** The only descriptor version so far. */
export const DESCRIPTOR_VERSION = 1;
/** Prefix of the signed bytes: a descriptor signature can never be mistaken for another. */
export const DESCRIPTOR_SIGNING_PREFIX = 'silkworm worker descriptor v1\n';
/** Longest validity of one descriptor; workers re-sign well before, and at each job-process start. */
export const MAX_DESCRIPTOR_TTL_MS = 24 * 60 * 60_000;

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const key32 = z.string().refine((text) => isBase64UrlOfLength(text, 32), 'expected 32 bytes as unpadded base64url');

/** The signed statement a worker makes about itself. */
export const workerDescriptorSchema = z.strictObject({
  v: z.literal(DESCRIPTOR_VERSION),
  workerId: id,
  /** Ed25519 public key of the worker's long-term identity (raw, base64url). */
  identityKey: key32,
  /** The current job process's HPKE key (raw X25519, base64url) and its suite. */
  hpke: z.strictObject({ suite: z.literal('X25519-HKDF-SHA256-ChaCha20Poly1305'), publicKey: key32 }),
  models: z.array(workerModelSchema).min(1).max(64),
  tier: tierSchema,
  appVersion: z.string().min(1).max(64),
  /** Hash of the app build (git commit or sha256, lower-case hex). */
  buildHash: z.string().regex(/^[0-9a-f]{7,64}$/, 'lower-case hex, 7 to 64 digits'),
  tokensPerSecond: z.number().nonnegative().finite(),
  priceCoefficient: z.number().min(0.1).max(10),
  /** Unix ms. */
  issuedAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().nonnegative(),
});
export type WorkerDescriptor = z.infer<typeof workerDescriptorSchema>;

/** A descriptor with its identity-key signature, as `GET /v1/workers` lists it. */
export const signedDescriptorSchema = z.strictObject({
  descriptor: workerDescriptorSchema,
  signature: z.string().refine((text) => isBase64UrlOfLength(text, 64), 'expected a 64-byte Ed25519 signature as base64url'),
});
export type SignedDescriptor = z.infer<typeof signedDescriptorSchema>;

/** Why a descriptor was refused. */
export type DescriptorErrorCode = 'malformed' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'untrusted';

/** Result of {@link verifyDescriptor}. */
export type DescriptorCheck =
  | { ok: true; value: WorkerDescriptor }
  | { ok: false; error: { code: DescriptorErrorCode; message: string } };

/** Ranks tiers: a worker satisfies a minimum tier when its rank is at least as high. */
export const TIER_RANK: Readonly<Record<Tier, number>> = { unsandboxed: 0, sandboxed: 1, tee: 2 };

/** True when `tier` is at least `minimum`. */
export function meetsTier(tier: Tier, minimum: Tier): boolean {
  return TIER_RANK[tier] >= TIER_RANK[minimum];
}

/**
 * What each tier promises, in plain words for UIs, `/v1/models` and docs (docs/design.md, Confidentiality tiers).
 * Never call a consumer worker "confidential" without this qualifier.
 */
export const TIER_DESCRIPTIONS: Readonly<Record<Tier, { label: string; summary: string }>> = {
  unsandboxed: {
    label: 'Sealed in transit, unsandboxed worker',
    summary:
      'Your request is encrypted end to end to the worker app, so the coordinator and the network cannot read it. ' +
      'On the worker PC it is opened by a process that is not OS-sandboxed: other software on that PC, and its owner, could read it.',
  },
  sandboxed: {
    label: 'Sealed to an OS-sandboxed job process',
    summary:
      'Your request is encrypted end to end to a key created inside an OS-sandboxed job process on the worker PC. ' +
      'The coordinator, the network, the worker app, its logs and its disk never see it. ' +
      "It is not hardware-protected: the PC's owner, with administrator rights, can still read the job process's memory.",
  },
  tee: {
    label: 'Hardware-attested (reserved)',
    summary:
      'Reserved for workers in an attested trusted execution environment (Intel TDX or AMD SEV-SNP with a GPU in confidential-computing mode). ' +
      'No worker offers it yet, and a tee descriptor is not proof without attestation evidence.',
  },
};

/** An Ed25519 identity key pair (secret key in @ton/crypto's 64-byte format). */
export interface IdentityKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

type TonBytes = Parameters<typeof sign>[0];
// @ton/crypto types its arguments as Buffer but only reads them as bytes (tweetnacl underneath).
const asTon = (bytes: Uint8Array): TonBytes => bytes as unknown as TonBytes;

/** The identity key pair for a 32-byte seed (store the seed; never the derived key elsewhere). */
export function identityKeyPairFromSeed(seed: Uint8Array): IdentityKeyPair {
  if (seed.length !== 32) throw new RangeError('An Ed25519 seed is 32 bytes.');
  const pair = keyPairFromSeed(asTon(seed));
  return { publicKey: new Uint8Array(pair.publicKey), secretKey: new Uint8Array(pair.secretKey) };
}

/** The exact bytes a descriptor signature covers. */
export function descriptorSigningBytes(descriptor: WorkerDescriptor): Uint8Array {
  return utf8(DESCRIPTOR_SIGNING_PREFIX + canonicalJson(descriptor));
}

/**
 * Signs a descriptor with the worker's identity key. Throws when the descriptor is invalid or
 * its `identityKey` is not the key signing it (both are bugs of the caller).
 */
export function signDescriptor(descriptor: WorkerDescriptor, identitySecretKey: Uint8Array): SignedDescriptor {
  if (identitySecretKey.length !== 64) throw new RangeError('identitySecretKey must be 64 bytes (seed ‖ public key).');
  const checked = workerDescriptorSchema.parse(descriptor);
  if (checked.identityKey !== toBase64Url(identitySecretKey.subarray(32))) {
    throw new Error('descriptor.identityKey is not the public half of the signing key.');
  }
  const signature = sign(asTon(descriptorSigningBytes(checked)), asTon(identitySecretKey));
  return { descriptor: checked, signature: toBase64Url(new Uint8Array(signature)) };
}

/** Options of {@link verifyDescriptor}. */
export interface VerifyDescriptorOptions {
  /** Unix ms; defaults to Date.now(). */
  now?: number;
  /** When given, only these identity keys (base64url) are accepted: pinned workers. */
  trustedIdentityKeys?: readonly string[];
  /**
   * Signatures already verified (signature → signed text). Ed25519 verification in JavaScript
   * takes milliseconds; a client that refreshes the worker list passes one map to skip repeats.
   */
  verifiedSignatures?: Map<string, string>;
}

/**
 * Parses and checks a signed descriptor: well-formed, signed by the identity key it names,
 * within its validity window (and by a pinned identity, when pins are given).
 */
export function verifyDescriptor(input: unknown, options: VerifyDescriptorOptions = {}): DescriptorCheck {
  const parsed = signedDescriptorSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: { code: 'malformed', message: `Malformed worker descriptor: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}` } };
  }
  const { descriptor, signature } = parsed.data;
  const signed = DESCRIPTOR_SIGNING_PREFIX + canonicalJson(descriptor);
  const valid = options.verifiedSignatures?.get(signature) === signed
    || signVerify(asTon(utf8(signed)), asTon(fromBase64Url(signature)!), asTon(fromBase64Url(descriptor.identityKey)!));
  if (valid) options.verifiedSignatures?.set(signature, signed);
  if (!valid) return { ok: false, error: { code: 'bad_signature', message: `The descriptor of worker ${descriptor.workerId} is not signed by its identity key.` } };
  if (options.trustedIdentityKeys && !options.trustedIdentityKeys.includes(descriptor.identityKey)) {
    return { ok: false, error: { code: 'untrusted', message: `Worker ${descriptor.workerId} is not one of the pinned worker identities.` } };
  }
  const now = options.now ?? Date.now();
  if (descriptor.expiresAt <= descriptor.issuedAt || descriptor.expiresAt - descriptor.issuedAt > MAX_DESCRIPTOR_TTL_MS) {
    return { ok: false, error: { code: 'malformed', message: `The descriptor of worker ${descriptor.workerId} has an invalid validity window.` } };
  }
  if (descriptor.issuedAt > now + CLOCK_SKEW_MS) return { ok: false, error: { code: 'not_yet_valid', message: `The descriptor of worker ${descriptor.workerId} is issued in the future.` } };
  if (now > descriptor.expiresAt + CLOCK_SKEW_MS) return { ok: false, error: { code: 'expired', message: `The descriptor of worker ${descriptor.workerId} has expired.` } };
  return { ok: true, value: descriptor };
}
