// TypeScript wrapper for the payout vault (vault.tolk), Blueprint style: it implements @ton/core's
// `Contract`, so it opens with @ton/sandbox (`blockchain.openContract`) and with @ton/ton
// (`tonClient.open`) alike. Message layouts and exit codes are in vault-messages.ts and README.md.
import {
  Address,
  beginCell,
  contractAddress,
  SendMode,
  toNano,
  TupleBuilder,
  type Cell,
  type Contract,
  type ContractProvider,
  type Sender,
} from '@ton/core';
import type { Voucher } from '../protocol/voucher.js';
import { accountAddressOf } from './payout-account.js';
import {
  claimBody,
  closeBody,
  fundBody,
  MAX_PUSH_BATCH,
  pushBatchBody,
  withdrawSurplusBody,
  type ClaimOptions,
  type PushEntry,
} from './vault-messages.js';

export * from './vault-messages.js';

/**
 * Entries per push the coordinator sends. The vault's push loop costs a fixed 5,035 gas per
 * entry whatever the number of workers (no per-worker state in the vault; measured on
 * @ton/sandbox by `npm run bench -- --only payouts`, README), so 100 entries use ~0.5M of the 1M
 * gas a transaction may use: every push completes, with room to spare.
 */
export const PUSH_CHUNK = 100;
/** Default balance the vault keeps for storage fees and never pays out. */
export const DEFAULT_MIN_RESERVE = toNano('0.05');
/** Least value a claim must carry (the contract refuses less with 412). */
export const CLAIM_MIN_VALUE = toNano('0.02');
/** Value to attach to a claim: pays the whole path, the rest comes back with the payout. */
export const CLAIM_VALUE = toNano('0.05');
/** Gas money each push entry's settle carries besides its funds (vault.tolk SETTLE_PUSH_VALUE). */
export const SETTLE_PUSH_VALUE = toNano('0.015');
/** Least gas money per entry a push must carry (vault.tolk PUSH_ENTRY_VALUE). */
export const PUSH_ENTRY_VALUE = toNano('0.025');
/** Balance each payout account keeps for storage, topped up out of payouts (payout-account.tolk). */
export const ACCOUNT_FLOOR = toNano('0.01');

/** A predecessor vault whose vouchers and paid counters a successor takes over. */
export type PredecessorConfig = {
  vault: Address;
  publicKey: Uint8Array; // the old vault's voucher key
  accountCode: Cell; // the old vault's payout account code
  accountsNeedImport: boolean; // whether the old vault had a predecessor itself
};

/** What the vault is deployed with. Same config and code → same address. */
export type VaultConfig = {
  owner: Address; // coordinator wallet: may push, withdraw surplus and close
  publicKey: Uint8Array; // coordinator voucher key, 32 bytes
  globalId: number; // the chain's global id (CHAIN_GLOBAL_ID): vouchers must name it
  accountCode: Cell; // payout account code (compile.ts accountCode())
  minReserve?: bigint; // nanotons, default DEFAULT_MIN_RESERVE
  predecessor?: PredecessorConfig;
};

/** A push entry that pays a worker up to its (verified) voucher, sending `amount` (default all of it). */
export function pushEntryFromVoucher(voucher: Voucher, options: { deploy?: boolean; amountNanotons?: bigint } = {}): PushEntry {
  return {
    worker: Address.parse(voucher.worker),
    cumulativeNanotons: voucher.cumulativeNanotons,
    seq: voucher.seq,
    deploy: options.deploy ?? true,
    amountNanotons: options.amountNanotons ?? voucher.cumulativeNanotons,
  };
}

/** Initial storage: owner, key, chain, reserve, open, account code, predecessor. */
export function vaultConfigToCell(config: VaultConfig): Cell {
  if (config.publicKey.length !== 32) throw new RangeError('publicKey must be 32 bytes');
  const b = beginCell()
    .storeAddress(config.owner)
    .storeBuffer(Buffer.from(config.publicKey), 32)
    .storeInt(config.globalId, 32)
    .storeCoins(config.minReserve ?? DEFAULT_MIN_RESERVE)
    .storeBit(false) // closed
    .storeRef(config.accountCode);
  const p = config.predecessor;
  if (!p) return b.storeBit(false).endCell();
  if (p.publicKey.length !== 32) throw new RangeError('predecessor publicKey must be 32 bytes');
  const predecessor = beginCell()
    .storeAddress(p.vault)
    .storeBuffer(Buffer.from(p.publicKey), 32)
    .storeRef(p.accountCode)
    .storeBit(p.accountsNeedImport)
    .endCell();
  return b.storeBit(true).storeRef(predecessor).endCell();
}

/**
 * Splits payouts into pushes of at most `size` entries. The coordinator sends each chunk as one
 * internal message to the vault; one V5R1 wallet external message carries up to 255 of them.
 */
export function chunkPushEntries(entries: readonly PushEntry[], size = PUSH_CHUNK): PushEntry[][] {
  if (size < 1 || size > MAX_PUSH_BATCH) throw new RangeError(`size must be 1..${MAX_PUSH_BATCH}`);
  const chunks: PushEntry[][] = [];
  for (let i = 0; i < entries.length; i += size) chunks.push(entries.slice(i, i + size));
  return chunks;
}

/**
 * Gas money to attach to a push of `count` entries: each entry's settle gas, its forwarding fee
 * and loop gas (the contract's minimum), plus the push transaction's own gas. The funds come out
 * of the vault's balance; what the path does not use comes back to the vault.
 */
export function pushBatchValue(count: number): bigint {
  return toNano('0.05') + BigInt(count) * PUSH_ENTRY_VALUE;
}

/** The payout vault contract. */
export class Vault implements Contract {
  constructor(
    readonly address: Address,
    readonly init?: { code: Cell; data: Cell },
    /** Known when created from config: lets `accountAddress` work offline. */
    readonly accounts?: { code: Cell; needImport: boolean },
  ) {}

  /** An already deployed vault. */
  static createFromAddress(address: Address): Vault {
    return new Vault(address);
  }

  /** A vault to deploy; its address follows from code and config. */
  static createFromConfig(config: VaultConfig, code: Cell, workchain = 0): Vault {
    const init = { code, data: vaultConfigToCell(config) };
    return new Vault(contractAddress(workchain, init), init, { code: config.accountCode, needImport: config.predecessor !== undefined });
  }

  /** The payout account of `worker`, computed offline (vaults created from config only). */
  accountAddress(worker: Address): Address {
    if (!this.accounts) throw new Error('accountAddress needs a vault created from its config; use getAccountAddress');
    return accountAddressOf(this.accounts.code, this.address, worker, this.accounts.needImport);
  }

  /** Deploys the vault (with its state init) and funds it with `value`. */
  async sendDeploy(provider: ContractProvider, via: Sender, value: bigint): Promise<void> {
    await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: fundBody() });
  }

  /** Adds `value` to the vault's balance. */
  async sendFund(provider: ContractProvider, via: Sender, value: bigint, queryId = 0n): Promise<void> {
    await provider.internal(via, { value, sendMode: SendMode.PAY_GAS_SEPARATELY, body: fundBody(queryId) });
  }

  /**
   * Claims with the worker's latest voucher; must be sent from the voucher's worker address.
   * `deploy: false` once the worker's payout account exists (saves ~0.004 TON); `amountNanotons`
   * = cumulative − the account's paid (default: the whole total, the excess comes back).
   */
  async sendClaim(
    provider: ContractProvider,
    via: Sender,
    voucher: Voucher | { cell: Cell; signature: Uint8Array },
    opts: ClaimOptions & { value?: bigint } = {},
  ): Promise<void> {
    await provider.internal(via, {
      value: opts.value ?? CLAIM_VALUE,
      bounce: true,
      sendMode: SendMode.PAY_GAS_SEPARATELY,
      body: claimBody(voucher, opts),
    });
  }

  /** Owner only: asks each entry's account to pay its worker up to the entry's total. */
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

  /** Owner only: stops claims and pushes (before moving to a successor vault). */
  async sendClose(provider: ContractProvider, via: Sender, opts: { value?: bigint; queryId?: bigint } = {}): Promise<void> {
    await provider.internal(via, { value: opts.value ?? toNano('0.02'), bounce: true, sendMode: SendMode.PAY_GAS_SEPARATELY, body: closeBody(opts.queryId) });
  }

  /** The payout account of `worker` as the vault derives it. */
  async getAccountAddress(provider: ContractProvider, worker: Address): Promise<Address> {
    const args = new TupleBuilder();
    args.writeAddress(worker);
    return (await provider.get('accountAddress', args.build())).stack.readAddress();
  }

  /** The coordinator voucher public key, 32 bytes. */
  async getPublicKey(provider: ContractProvider): Promise<Buffer> {
    const { stack } = await provider.get('publicKey', []);
    return Buffer.from(stack.readBigNumber().toString(16).padStart(64, '0'), 'hex');
  }

  /** The owner (coordinator wallet) address. */
  async getOwner(provider: ContractProvider): Promise<Address> {
    return (await provider.get('owner', [])).stack.readAddress();
  }

  /** The chain global id vouchers must name. */
  async getGlobalId(provider: ContractProvider): Promise<number> {
    return (await provider.get('globalId', [])).stack.readNumber();
  }

  /** The reserve the vault never pays out, in nanotons. */
  async getMinReserve(provider: ContractProvider): Promise<bigint> {
    return (await provider.get('minReserve', [])).stack.readBigNumber();
  }

  /** Whether the owner closed the vault. */
  async getClosed(provider: ContractProvider): Promise<boolean> {
    return (await provider.get('closed', [])).stack.readBoolean();
  }

  /** The vault this one replaced, if any. */
  async getPredecessor(provider: ContractProvider): Promise<Address | null> {
    return (await provider.get('predecessor', [])).stack.readAddressOpt();
  }

  /** The vault's balance in nanotons, as the contract sees it. */
  async getBalance(provider: ContractProvider): Promise<bigint> {
    return (await provider.get('balance', [])).stack.readBigNumber();
  }
}
