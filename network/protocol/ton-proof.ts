// TON Connect `ton_proof`: the proof a wallet app signs to show it owns an address (docs/design.md, Wallet).
// There is no official JS verifier; these are the steps of the reference backends (demo-dapp,
// tongo/tonconnect), on @ton/core and @ton/crypto:
//   1. the wallet's state init hashes to the claimed address (same workchain);
//   2. the public key read from that state init (V3R2/V4/V5R1 data layouts) — unknown wallet
//      code fails clearly rather than trusting a key the wallet merely claims;
//   3. the domain is on the allow-list, the payload is one the backend issued and has not used,
//      the timestamp is inside the time window;
//   4. ed25519 over sha256(0xffff ‖ "ton-connect" ‖ sha256(message)) where
//      message = "ton-proof-item-v2/" ‖ wc int32 BE ‖ hash ‖ domainLen u32 LE ‖ domain ‖ ts u64 LE ‖ payload.
// Pure: no Node APIs, no I/O; the caller owns the payload store and the clock.
import { Address, Cell, contractAddress, loadStateInit, type StateInit } from '@ton/core';
import { sha256_sync, sign, signVerify } from '@ton/crypto';
import { WalletContractV3R2, WalletContractV4, WalletContractV5R1 } from '@ton/ton';
import { z } from 'zod';

/** The chain ids TON Connect uses: mainnet and testnet. */
export const TON_CHAIN = { mainnet: '-239', testnet: '-3' } as const;

/** A network this app pays on. */
export type TonProofNetwork = keyof typeof TON_CHAIN;

/** The coordinator's TON Connect routes (the worker's pairing calls the last two). */
export const TON_PROOF_PATHS = {
  manifest: '/tonconnect-manifest.json',
  icon: '/tonconnect-icon.png',
  payload: '/v1/ton-proof/payload',
  verify: '/v1/ton-proof/verify',
} as const;

/** Default time window: a proof older than this (or dated in the future) is refused. */
export const TON_PROOF_MAX_AGE_SECONDS = 15 * 60;
const FUTURE_SKEW_SECONDS = 60;
const PREFIX = 'ton-proof-item-v2/';

/** What a wallet sends back for `ton_proof`, with the account it connected (the verify request body). */
export const tonProofRequestSchema = z.strictObject({
  address: z.string().min(3).max(100),
  network: z.string().max(16),
  publicKey: z.string().regex(/^[0-9a-fA-F]{64}$/).optional(),
  walletStateInit: z.string().min(1).max(8192),
  proof: z.object({
    timestamp: z.number().int().nonnegative(),
    domain: z.object({ lengthBytes: z.number().int().nonnegative(), value: z.string().max(256) }),
    payload: z.string().min(1).max(512),
    signature: z.string().min(1).max(200),
  }),
});

/** The parsed verify request. */
export type TonProofRequest = z.infer<typeof tonProofRequestSchema>;

/** What the verifier checks a proof against. */
export interface TonProofPolicy {
  /** Domains the proof may be made for (the dApp's manifest host, with or without the port). */
  allowedDomains: readonly string[];
  /** The network payouts go to: the account's chain must match. */
  network: TonProofNetwork;
  /** Whether the payload is one this backend issued, unexpired and not used yet. */
  isPayloadValid(payload: string): boolean;
  /** Unix seconds now. */
  nowSeconds: number;
  maxAgeSeconds?: number;
}

/** Why a proof was refused. */
export type TonProofFailureCode =
  | 'malformed'
  | 'wrong-network'
  | 'address-mismatch'
  | 'unknown-wallet'
  | 'public-key-mismatch'
  | 'domain-not-allowed'
  | 'payload-invalid'
  | 'expired'
  | 'bad-signature';

/** The verdict: the proven address, or why not. */
export type TonProofCheck =
  | { ok: true; address: Address; publicKey: Buffer; network: TonProofNetwork }
  | { ok: false; code: TonProofFailureCode; message: string };

const refuse = (code: TonProofFailureCode, message: string): TonProofCheck => ({ ok: false, code, message });

/** Wallet code hash (hex) → how to read its public key from the data cell. */
const KEY_READERS = new Map<string, { name: string; read(data: Cell): Buffer }>();
{
  const probeKey = Buffer.alloc(32);
  const register = (name: string, code: Cell, read: (data: Cell) => Buffer) => KEY_READERS.set(code.hash().toString('hex'), { name, read });
  // seqno:uint32 subwallet:uint32 public_key:bits256 (V4 then has a plugin dict)
  const seqnoSubwalletKey = (data: Cell) => {
    const s = data.beginParse();
    s.skip(64);
    return s.loadBuffer(32);
  };
  register('v3r2', WalletContractV3R2.create({ workchain: 0, publicKey: probeKey }).init.code, seqnoSubwalletKey);
  register('v4r2', WalletContractV4.create({ workchain: 0, publicKey: probeKey }).init.code, seqnoSubwalletKey);
  // is_signature_allowed:bool seqno:uint32 wallet_id:int32 public_key:bits256 extensions:dict
  register('v5r1', WalletContractV5R1.create({ workchain: 0, publicKey: probeKey }).init.code, (data) => {
    const s = data.beginParse();
    s.skip(1 + 32 + 32);
    return s.loadBuffer(32);
  });
}

/** The public key held by a known wallet's state init, or null for unknown wallet code. */
export function publicKeyFromStateInit(init: StateInit): { wallet: string; publicKey: Buffer } | null {
  if (!init.code || !init.data) return null;
  const reader = KEY_READERS.get(init.code.hash().toString('hex'));
  if (!reader) return null;
  try {
    return { wallet: reader.name, publicKey: reader.read(init.data) };
  } catch {
    return null;
  }
}

/** The 32 bytes a wallet signs for a proof (the ed25519 message). */
export function tonProofSigningHash(fields: { address: Address; domain: string; timestamp: number; payload: string }): Buffer {
  const workchain = Buffer.alloc(4);
  workchain.writeInt32BE(fields.address.workChain); // writeUInt32BE would throw for the masterchain (-1)
  const domain = Buffer.from(fields.domain, 'utf8');
  const domainLength = Buffer.alloc(4);
  domainLength.writeUInt32LE(domain.length);
  const timestamp = Buffer.alloc(8);
  timestamp.writeBigUInt64LE(BigInt(fields.timestamp));
  const message = Buffer.concat([Buffer.from(PREFIX, 'utf8'), workchain, fields.address.hash, domainLength, domain, timestamp, Buffer.from(fields.payload, 'utf8')]);
  return sha256_sync(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.from('ton-connect', 'utf8'), sha256_sync(message)]));
}

/** Signs a proof as a wallet app would (the simulated wallet in tests; 64-byte @ton/crypto secret key). */
export function signTonProof(secretKey: Buffer, fields: { address: Address; domain: string; timestamp: number; payload: string }): string {
  return sign(tonProofSigningHash(fields), secretKey).toString('base64');
}

function parseStateInit(base64: string): StateInit | null {
  try {
    return loadStateInit(Cell.fromBase64(base64).beginParse());
  } catch {
    return null;
  }
}

/** Checks a `ton_proof` against the policy; every failure names its reason. */
export function verifyTonProof(input: unknown, policy: TonProofPolicy): TonProofCheck {
  const parsed = tonProofRequestSchema.safeParse(input);
  if (!parsed.success) return refuse('malformed', `The proof is malformed: ${z.prettifyError(parsed.error)}`);
  const request = parsed.data;
  if (request.network !== TON_CHAIN[policy.network]) {
    return refuse('wrong-network', `The wallet is on ${request.network === TON_CHAIN.mainnet ? 'mainnet' : request.network === TON_CHAIN.testnet ? 'testnet' : `chain ${request.network}`}, but payouts go to ${policy.network}. Switch the wallet to ${policy.network} and connect again.`);
  }
  let address: Address;
  try {
    address = Address.parse(request.address);
  } catch {
    return refuse('malformed', 'The wallet sent an address that does not parse.');
  }
  const init = parseStateInit(request.walletStateInit);
  if (!init) return refuse('malformed', 'The wallet sent a state init that does not parse.');
  if (!contractAddress(address.workChain, init).equals(address)) return refuse('address-mismatch', 'The wallet’s state init does not belong to the address it claims.');
  const key = publicKeyFromStateInit(init);
  if (!key) return refuse('unknown-wallet', 'This wallet contract is not one Silkworm can check (supported: wallet v3R2, v4, v5R1).');
  if (request.publicKey !== undefined && request.publicKey.toLowerCase() !== key.publicKey.toString('hex')) {
    return refuse('public-key-mismatch', 'The public key the wallet claims is not the one in its contract.');
  }
  const { proof } = request;
  if (Buffer.byteLength(proof.domain.value, 'utf8') !== proof.domain.lengthBytes) return refuse('malformed', 'The proof’s domain length does not match its domain.');
  if (!policy.allowedDomains.includes(proof.domain.value)) return refuse('domain-not-allowed', `The proof was made for ${proof.domain.value}, not for this coordinator.`);
  const maxAge = policy.maxAgeSeconds ?? TON_PROOF_MAX_AGE_SECONDS;
  if (proof.timestamp > policy.nowSeconds + FUTURE_SKEW_SECONDS || proof.timestamp < policy.nowSeconds - maxAge) {
    return refuse('expired', 'The proof is outside its time window (check the clock of this PC and of the phone), connect again.');
  }
  if (!policy.isPayloadValid(proof.payload)) return refuse('payload-invalid', 'The proof answers a request this coordinator did not issue, or one already used or expired: connect again.');
  const signature = Buffer.from(proof.signature, 'base64');
  const hash = tonProofSigningHash({ address, domain: proof.domain.value, timestamp: proof.timestamp, payload: proof.payload });
  if (signature.length !== 64 || !signVerify(hash, signature, key.publicKey)) return refuse('bad-signature', 'The proof’s signature does not verify.');
  return { ok: true, address, publicKey: key.publicKey, network: policy.network };
}
