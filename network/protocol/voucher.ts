// Cumulative payout vouchers: the one wire format shared by the coordinator (signs), the worker
// (verifies, stores, flags rollbacks) and the payout vault contract (checks and pays).
//
// Signed cell (one cell, 786 bits at most; what `messages.tolk` calls `Voucher`):
//   tag          uint32   0x56434832 ("VCH2"): domain separation, no other signed cell starts so
//   global_id    int32: the chain's global id (mainnet -239, testnet -3): a voucher pays on one chain
//   vault        MsgAddressInt (addr_std, 267 bits)
//   worker       MsgAddressInt (addr_std, 267 bits): the payout address, basechain only
//   cumulative   Coins (VarUInteger 16): nanotons earned in total, ever
//   seq          uint64: strictly increasing per worker, starting at 1
// signature = Ed25519(coordinator secret key, representation hash of that cell), as TVM's
// CHKSIGNU checks it. Friendly-address flags (bounceable, testnet) are not part of the cell.
import { Address, beginCell, type Cell } from '@ton/core';
import { sign, signVerify } from '@ton/crypto';
import { z } from 'zod';

/** First 32 bits of every voucher cell ("VCH2": the layout that names the chain). */
export const VOUCHER_TAG = 0x56434832;
/** Global ids of the TON chains (config param 19). The local chain counts as testnet. */
export const CHAIN_GLOBAL_ID = { mainnet: -239, testnet: -3 } as const;
/** Largest amount a Coins field holds (2^120 - 1 nanotons). */
export const MAX_COINS = (1n << 120n) - 1n;

const friendlyAddress = z.string().refine(isFriendlyAddress, 'expected a friendly TON address');

/** Parses the JSON form of a voucher; `cumulativeNanotons` becomes a bigint. */
export const voucherSchema = z.object({
  globalId: z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1),
  vault: friendlyAddress,
  worker: friendlyAddress,
  cumulativeNanotons: z
    .union([z.string().regex(/^(0|[1-9][0-9]*)$/, 'expected a decimal string of nanotons'), z.bigint()])
    .transform((value) => BigInt(value))
    .pipe(z.bigint().min(0n).max(MAX_COINS)),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'expected a base64 Ed25519 signature (64 bytes)'),
  coordinatorPublicKey: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected a 32-byte hex public key')
    .transform((hex) => hex.toLowerCase()),
});

/** A parsed, not yet verified voucher. Amounts are bigint nanotons. */
export type Voucher = z.output<typeof voucherSchema>;

/** The voucher as it travels in JSON. */
export type VoucherJson = {
  globalId: number;
  vault: string;
  worker: string;
  cumulativeNanotons: string;
  seq: number;
  signature: string;
  coordinatorPublicKey: string;
};

/** The signed fields. Addresses may be `Address` objects or friendly strings. */
export type VoucherFields = {
  /** The chain's global id (see CHAIN_GLOBAL_ID). */
  globalId: number;
  vault: Address | string;
  worker: Address | string;
  cumulativeNanotons: bigint;
  seq: number;
};

/** Why a voucher was refused by {@link verifyVoucher}. */
export type VoucherErrorCode = 'malformed' | 'wrong_key' | 'wrong_vault' | 'wrong_chain' | 'bad_signature';

/** Result of {@link verifyVoucher}: the parsed voucher, or why it is refused. */
export type VoucherCheck =
  | { ok: true; voucher: Voucher }
  | { ok: false; code: VoucherErrorCode; message: string };

/** Why {@link compareVouchers} flags the next voucher; `duplicate` is the same voucher again. */
export type VoucherRollbackCode = 'vault_changed' | 'chain_changed' | 'worker_changed' | 'rollback' | 'seq_not_increasing' | 'duplicate';

/** Result of {@link compareVouchers}: the amount newly earned, or what is wrong. */
export type VoucherComparison =
  | { ok: true; deltaNanotons: bigint }
  | { ok: false; code: VoucherRollbackCode; message: string };

/** Builds the exact cell the vault checks the signature of (layout at the top of this file). */
export function voucherCell(fields: VoucherFields): Cell {
  if (fields.cumulativeNanotons < 0n || fields.cumulativeNanotons > MAX_COINS) {
    throw new RangeError(`cumulativeNanotons out of range: ${fields.cumulativeNanotons}`);
  }
  if (!Number.isSafeInteger(fields.seq) || fields.seq < 1) {
    throw new RangeError(`seq must be a positive integer: ${fields.seq}`);
  }
  if (!Number.isInteger(fields.globalId) || fields.globalId < -(2 ** 31) || fields.globalId >= 2 ** 31) {
    throw new RangeError(`globalId must be an int32: ${fields.globalId}`);
  }
  return beginCell()
    .storeUint(VOUCHER_TAG, 32)
    .storeInt(fields.globalId, 32)
    .storeAddress(toAddress(fields.vault))
    .storeAddress(toAddress(fields.worker))
    .storeCoins(fields.cumulativeNanotons)
    .storeUint(fields.seq, 64)
    .endCell();
}

/**
 * Signs a voucher with the coordinator's 64-byte Ed25519 secret key (@ton/crypto format).
 * Refuses a worker off the basechain: the vault refuses masterchain payouts (they cost ~10x).
 */
export function signVoucher(fields: VoucherFields, secretKey: Uint8Array): Voucher {
  if (secretKey.length !== 64) throw new RangeError('secretKey must be 64 bytes (seed + public key)');
  if (toAddress(fields.worker).workChain !== 0) throw new RangeError('the worker (payout address) must be on the basechain (workchain 0)');
  const key = Buffer.from(secretKey);
  const signature = sign(voucherCell(fields).hash(), key);
  return {
    globalId: fields.globalId,
    vault: addressString(fields.vault),
    worker: addressString(fields.worker),
    cumulativeNanotons: fields.cumulativeNanotons,
    seq: fields.seq,
    signature: signature.toString('base64'),
    coordinatorPublicKey: key.subarray(32).toString('hex'),
  };
}

/**
 * Parses and checks a received voucher: well-formed, issued by the expected coordinator key,
 * for the expected vault (and chain, when given), and correctly signed. Accepts the JSON form
 * or a parsed voucher.
 */
export function verifyVoucher(
  input: unknown,
  expectedCoordinatorPublicKey: string | Uint8Array,
  expectedVault: Address | string,
  expectedGlobalId?: number,
): VoucherCheck {
  const parsed = voucherSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, code: 'malformed', message: z.prettifyError(parsed.error) };
  }
  const voucher = parsed.data;
  const expectedKey = typeof expectedCoordinatorPublicKey === 'string'
    ? expectedCoordinatorPublicKey.toLowerCase()
    : Buffer.from(expectedCoordinatorPublicKey).toString('hex');
  if (voucher.coordinatorPublicKey !== expectedKey) {
    return { ok: false, code: 'wrong_key', message: 'voucher is not from the expected coordinator key' };
  }
  if (!toAddress(voucher.vault).equals(toAddress(expectedVault))) {
    return { ok: false, code: 'wrong_vault', message: `voucher is for vault ${voucher.vault}` };
  }
  if (expectedGlobalId !== undefined && voucher.globalId !== expectedGlobalId) {
    return { ok: false, code: 'wrong_chain', message: `voucher is for chain ${voucher.globalId}, not ${expectedGlobalId}` };
  }
  const valid = signVerify(
    voucherCell(voucher).hash(),
    Buffer.from(voucher.signature, 'base64'),
    Buffer.from(expectedKey, 'hex'),
  );
  if (!valid) return { ok: false, code: 'bad_signature', message: 'voucher signature does not verify' };
  return { ok: true, voucher };
}

/**
 * Compares a worker's stored voucher with a newly received one (both already verified).
 * The next one must be for the same vault and worker, never lower in total, and later in seq.
 */
export function compareVouchers(prev: Voucher | null | undefined, next: Voucher): VoucherComparison {
  if (!prev) return { ok: true, deltaNanotons: next.cumulativeNanotons };
  if (!toAddress(prev.vault).equals(toAddress(next.vault))) {
    return { ok: false, code: 'vault_changed', message: `vault changed from ${prev.vault} to ${next.vault}` };
  }
  if (prev.globalId !== next.globalId) {
    return { ok: false, code: 'chain_changed', message: `chain changed from ${prev.globalId} to ${next.globalId}` };
  }
  if (!toAddress(prev.worker).equals(toAddress(next.worker))) {
    return { ok: false, code: 'worker_changed', message: `worker changed from ${prev.worker} to ${next.worker}` };
  }
  if (next.cumulativeNanotons < prev.cumulativeNanotons) {
    return {
      ok: false,
      code: 'rollback',
      message: `cumulative total went back from ${prev.cumulativeNanotons} to ${next.cumulativeNanotons}`,
    };
  }
  if (next.seq <= prev.seq) {
    const same = next.seq === prev.seq && next.cumulativeNanotons === prev.cumulativeNanotons
      && next.signature === prev.signature;
    return same
      ? { ok: false, code: 'duplicate', message: `voucher seq ${next.seq} received again` }
      : { ok: false, code: 'seq_not_increasing', message: `seq ${next.seq} does not follow ${prev.seq}` };
  }
  return { ok: true, deltaNanotons: next.cumulativeNanotons - prev.cumulativeNanotons };
}

/** The JSON form of a voucher (bigint as a decimal string). */
export function voucherToJson(voucher: Voucher): VoucherJson {
  return { ...voucher, cumulativeNanotons: voucher.cumulativeNanotons.toString() };
}

/** What a claim message carries: the signed cell and the 64-byte signature. */
export function voucherClaimParts(voucher: Voucher): { cell: Cell; signature: Buffer } {
  return { cell: voucherCell(voucher), signature: Buffer.from(voucher.signature, 'base64') };
}

/** True for a friendly (base64, checksummed) TON address. */
export function isFriendlyAddress(text: string): boolean {
  try {
    Address.parseFriendly(text);
    return true;
  } catch {
    return false;
  }
}

function toAddress(address: Address | string): Address {
  return typeof address === 'string' ? Address.parse(address) : address;
}

// Keeps a friendly string as given (its flags are the issuer's choice); anything else becomes
// the default friendly form.
function addressString(address: Address | string): string {
  if (typeof address === 'string' && isFriendlyAddress(address)) return address;
  return toAddress(address).toString();
}
