// TypeScript wrapper for the payout vault (vault.tolk), Blueprint style: it implements @ton/core's
// `Contract`, so it opens with @ton/sandbox (`blockchain.openContract`) and with @ton/ton
// (`tonClient.open`) alike. Message layouts and exit codes are documented in README.md.
import {
  Address,
  beginCell,
  contractAddress,
  Dictionary,
  SendMode,
  toNano,
  TupleBuilder,
  type Cell,
  type Contract,
  type ContractProvider,
  type Sender,
} from '@ton/core';
import { voucherClaimParts, type Voucher } from '../protocol/voucher.js';

/** Opcodes of the vault's incoming and outgoing messages (32-bit, ASCII mnemonics). */
export const VaultOp = {
  fund: 0x46554e44, // "FUND"
  claim: 0x434c4149, // "CLAI"
  pushBatch: 0x50555348, // "PUSH"
  withdrawSurplus: 0x57445253, // "WDRS"
  payout: 0x5041594f, // "PAYO", sent to a worker
  pushReceipt: 0x50524350, // "PRCP", sent back to the owner after a push-batch
  excesses: 0xd53276db, // TEP-74 excesses, sent back to a claimant or the owner
} as const;

/** Exit codes the vault throws; a refused message bounces with its remaining value. */
export const VaultExitCode = {
  notOwner: 401,
  badSignature: 402,
  replayed: 403,
  rollback: 404,
  wrongVault: 405,
  foreignWorker: 406,
  insufficientFunds: 407,
  batchTooLarge: 408,
  badVoucher: 409,
  unknownOp: 0xffff,
} as const;

/** Most entries one push-batch message may carry (the contract refuses more with 408). */
export const MAX_PUSH_BATCH = 250;
/**
 * Entries per push-batch the coordinator should send. Each entry costs ~5-12k gas (the paid-map
 * update grows with log2 of the number of workers) and a transaction may use 1M gas; 80 fits up
 * to ~10^5 workers. The contract stops at 900k gas and its receipt says how many entries it read,
 * so an oversized batch is paid in part and the coordinator re-sends the rest.
 */
export const PUSH_CHUNK = 80;
/** Default balance the vault keeps for storage fees and never pays out. */
export const DEFAULT_MIN_RESERVE = toNano('0.05');
/** Value to attach to a claim: pays gas and fees, the rest comes back as `excesses`. */
export const CLAIM_VALUE = toNano('0.05');

/** What the vault is deployed with. Same config and code → same address. */
export type VaultConfig = {
  owner: Address; // coordinator wallet: may push batches and withdraw surplus
  publicKey: Uint8Array; // coordinator voucher key, 32 bytes
  minReserve?: bigint; // nanotons, default DEFAULT_MIN_RESERVE
};

/** One push-batch entry: a worker and the voucher total and seq it is being paid up to. */
export type PushEntry = { worker: Address; cumulativeNanotons: bigint; seq: number };

/** A push-batch entry that pays a worker up to its (verified) voucher. */
export function pushEntryFromVoucher(voucher: Voucher): PushEntry {
  return { worker: Address.parse(voucher.worker), cumulativeNanotons: voucher.cumulativeNanotons, seq: voucher.seq };
}

/** Initial storage: owner, public key, reserve, empty worker map. */
export function vaultConfigToCell(config: VaultConfig): Cell {
  if (config.publicKey.length !== 32) throw new RangeError('publicKey must be 32 bytes');
  return beginCell()
    .storeAddress(config.owner)
    .storeBuffer(Buffer.from(config.publicKey), 32)
    .storeCoins(config.minReserve ?? DEFAULT_MIN_RESERVE)
    .storeBit(false) // empty map<address, WorkerState>
    .endCell();
}

/** The vault's storage, decoded: what `vaultConfigToCell` wrote plus the paid map. */
export type VaultData = {
  owner: Address;
  publicKey: Buffer;
  minReserve: bigint;
  workers: Map<string, { paid: bigint; lastSeq: bigint }>; // key: raw address "0:…"
};

/** Decodes the vault's data cell (for indexers and tests; getters are the usual way). */
export function parseVaultData(data: Cell): VaultData {
  const s = data.beginParse();
  const owner = s.loadAddress();
  const publicKey = s.loadBuffer(32);
  const minReserve = s.loadCoins();
  const dict = s.loadDict(Dictionary.Keys.Address(), {
    serialize: () => {
      throw new Error('read only');
    },
    parse: (v) => ({ paid: v.loadCoins(), lastSeq: v.loadUintBig(64) }),
  });
  const workers = new Map(dict.keys().map((key) => [key.toRawString(), dict.get(key) ?? { paid: 0n, lastSeq: 0n }]));
  return { owner, publicKey, minReserve, workers };
}

/** Body of a fund message (a plain transfer with no body funds the vault too). */
export function fundBody(queryId = 0n): Cell {
  return beginCell().storeUint(VaultOp.fund, 32).storeUint(queryId, 64).endCell();
}

/** Body of a claim: signature inline, the signed voucher cell as a reference. */
export function claimBody(voucher: Voucher | { cell: Cell; signature: Uint8Array }, queryId = 0n): Cell {
  const { cell, signature } = 'cell' in voucher ? voucher : voucherClaimParts(voucher);
  if (signature.length !== 64) throw new RangeError('signature must be 64 bytes');
  return beginCell()
    .storeUint(VaultOp.claim, 32)
    .storeUint(queryId, 64)
    .storeBuffer(Buffer.from(signature), 64)
    .storeRef(cell)
    .endCell();
}

/** Body of a push-batch: count, then a chain of cells holding two entries each. */
export function pushBatchBody(entries: readonly PushEntry[], queryId = 0n): Cell {
  if (entries.length === 0 || entries.length > MAX_PUSH_BATCH) {
    throw new RangeError(`a push-batch carries 1..${MAX_PUSH_BATCH} entries, got ${entries.length}`);
  }
  // Two entries (at most 910 bits) per cell, built from the last cell back to the first.
  let next: Cell | undefined;
  for (let start = Math.floor((entries.length - 1) / 2) * 2; start >= 0; start -= 2) {
    const b = beginCell();
    for (const entry of entries.slice(start, start + 2)) {
      b.storeAddress(entry.worker).storeCoins(entry.cumulativeNanotons).storeUint(entry.seq, 64);
    }
    if (next) b.storeRef(next);
    next = b.endCell();
  }
  return beginCell()
    .storeUint(VaultOp.pushBatch, 32)
    .storeUint(queryId, 64)
    .storeUint(entries.length, 8)
    .storeRef(next as Cell)
    .endCell();
}

/** Body of withdraw-surplus; amount 0 means everything above the reserve. */
export function withdrawSurplusBody(amount = 0n, queryId = 0n): Cell {
  return beginCell().storeUint(VaultOp.withdrawSurplus, 32).storeUint(queryId, 64).storeCoins(amount).endCell();
}

/**
 * Splits payouts into push-batch messages of at most `size` entries. The coordinator sends each
 * chunk as one internal message to the vault; one V5R1 wallet external message carries up to
 * 255 such internal messages, each processed by the vault as its own transaction.
 */
export function chunkPushEntries(entries: readonly PushEntry[], size = PUSH_CHUNK): PushEntry[][] {
  if (size < 1 || size > MAX_PUSH_BATCH) throw new RangeError(`size must be 1..${MAX_PUSH_BATCH}`);
  const chunks: PushEntry[][] = [];
  for (let i = 0; i < entries.length; i += size) chunks.push(entries.slice(i, i + size));
  return chunks;
}

/** What the vault reported after a push-batch: entries read (a prefix) and nanotons paid. */
export type PushReceipt = { queryId: bigint; processed: number; paidNanotons: bigint };

/** Parses a push receipt body, or returns undefined for any other message. */
export function parsePushReceipt(body: Cell): PushReceipt | undefined {
  const s = body.beginParse();
  if (s.remainingBits < 32 || s.loadUint(32) !== VaultOp.pushReceipt) return undefined;
  return { queryId: s.loadUintBig(64), processed: s.loadUint(8), paidNanotons: s.loadCoins() };
}

/**
 * Value to attach to a push-batch of `count` entries: it pays the vault's gas and the payouts'
 * forwarding fees; what is left comes back with the receipt. Generous by design.
 */
export function pushBatchValue(count: number): bigint {
  return toNano('0.05') + BigInt(count) * toNano('0.004');
}

/** The payout vault contract. */
export class Vault implements Contract {
  constructor(
    readonly address: Address,
    readonly init?: { code: Cell; data: Cell },
  ) {}

  /** An already deployed vault. */
  static createFromAddress(address: Address): Vault {
    return new Vault(address);
  }

  /** A vault to deploy; its address follows from code and config. */
  static createFromConfig(config: VaultConfig, code: Cell, workchain = 0): Vault {
    const init = { code, data: vaultConfigToCell(config) };
    return new Vault(contractAddress(workchain, init), init);
  }

  /** Deploys the vault (with its state init) and funds it with `value`. */
  async sendDeploy(provider: ContractProvider, via: Sender, value: bigint): Promise<void> {
    await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: fundBody() });
  }

  /** Adds `value` to the vault's balance. */
  async sendFund(provider: ContractProvider, via: Sender, value: bigint, queryId = 0n): Promise<void> {
    await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: fundBody(queryId) });
  }

  /** Claims with the worker's latest voucher; must be sent from the voucher's worker address. */
  async sendClaim(
    provider: ContractProvider,
    via: Sender,
    voucher: Voucher | { cell: Cell; signature: Uint8Array },
    opts: { value?: bigint; queryId?: bigint } = {},
  ): Promise<void> {
    await provider.internal(via, {
      value: opts.value ?? CLAIM_VALUE,
      bounce: true,
      sendMode: SendMode.PAY_GAS_SEPARATELY,
      body: claimBody(voucher, opts.queryId),
    });
  }

  /** Owner only: pays each entry's worker up to the entry's total (entries not ahead are skipped). */
  async sendPushBatch(
    provider: ContractProvider,
    via: Sender,
    entries: readonly PushEntry[],
    opts: { value?: bigint; queryId?: bigint } = {},
  ): Promise<void> {
    await provider.internal(via, {
      value: opts.value ?? pushBatchValue(entries.length),
      bounce: true,
      sendMode: SendMode.PAY_GAS_SEPARATELY,
      body: pushBatchBody(entries, opts.queryId),
    });
  }

  /** Owner only: sends `amount` (0 = all above the reserve) plus the unused attached value to the owner. */
  async sendWithdrawSurplus(
    provider: ContractProvider,
    via: Sender,
    opts: { amount?: bigint; value?: bigint; queryId?: bigint } = {},
  ): Promise<void> {
    await provider.internal(via, {
      value: opts.value ?? toNano('0.02'),
      bounce: true,
      sendMode: SendMode.PAY_GAS_SEPARATELY,
      body: withdrawSurplusBody(opts.amount, opts.queryId),
    });
  }

  /** Nanotons paid to `worker` so far. */
  async getPaid(provider: ContractProvider, worker: Address): Promise<bigint> {
    const { stack } = await provider.get('paid', addressArg(worker));
    return stack.readBigNumber();
  }

  /** Seq of the voucher `worker` was last paid up to (0 if never paid). */
  async getLastSeq(provider: ContractProvider, worker: Address): Promise<number> {
    const { stack } = await provider.get('lastSeq', addressArg(worker));
    return stack.readNumber();
  }

  /** The coordinator voucher public key, 32 bytes. */
  async getPublicKey(provider: ContractProvider): Promise<Buffer> {
    const { stack } = await provider.get('publicKey', []);
    return Buffer.from(stack.readBigNumber().toString(16).padStart(64, '0'), 'hex');
  }

  /** The owner (coordinator wallet) address. */
  async getOwner(provider: ContractProvider): Promise<Address> {
    const { stack } = await provider.get('owner', []);
    return stack.readAddress();
  }

  /** The reserve the vault never pays out, in nanotons. */
  async getMinReserve(provider: ContractProvider): Promise<bigint> {
    const { stack } = await provider.get('minReserve', []);
    return stack.readBigNumber();
  }

  /** The vault's balance in nanotons, as the contract sees it. */
  async getBalance(provider: ContractProvider): Promise<bigint> {
    const { stack } = await provider.get('balance', []);
    return stack.readBigNumber();
  }
}

function addressArg(address: Address) {
  const args = new TupleBuilder();
  args.writeAddress(address);
  return args.build();
}
