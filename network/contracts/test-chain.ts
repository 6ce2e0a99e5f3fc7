// Test helpers for the vault specs: a sandbox chain with a deployed, funded vault, and readers for
// the transactions a send produced. Used only by *.test.ts in this folder.
import { Blockchain, internal as sandboxInternal, type BlockchainTransaction, type SandboxContract, type TreasuryContract } from '@ton/sandbox';
import { beginCell, toNano, type Address, type Cell } from '@ton/core';
import { keyPairFromSeed, type KeyPair } from '@ton/crypto';
import { CHAIN_GLOBAL_ID, signVoucher, type Voucher } from '../protocol/voucher.js';
import { accountCode, vaultCode } from './compile.js';
import { PayoutAccount } from './payout-account.js';
import { DEFAULT_MIN_RESERVE, parsePayoutBody, parseRefusedBody, Vault, VaultOp, type PayoutBody, type PredecessorConfig } from './vault.js';

/** A fresh chain with a vault owned by the `owner` treasury and funded with `fund`. */
export type VaultChain = {
  blockchain: Blockchain;
  owner: SandboxContract<TreasuryContract>;
  coordinator: KeyPair;
  vault: SandboxContract<Vault>;
  globalId: number;
  /** Signs a voucher for `worker` with the coordinator key (this vault and chain unless overridden). */
  issue(worker: Address, cumulativeNanotons: bigint, seq: number, overrides?: { vault?: Address; globalId?: number; key?: KeyPair }): Voucher;
  /** The worker's payout account (deployed or not). */
  account(worker: Address): SandboxContract<PayoutAccount>;
  /** The worker's paid counter: its account's `paid`, 0 while the account does not exist. */
  paid(worker: Address): Promise<bigint>;
  /** Balance of any account, 0 if it does not exist. */
  balance(address: Address): Promise<bigint>;
};

/** Options of {@link setupVaultChain}. */
export type VaultChainOptions = {
  fund?: bigint;
  minReserve?: bigint;
  globalId?: number;
  /** Reuse a chain (and its owner and key) instead of creating one: for successor vaults. */
  on?: { blockchain: Blockchain; coordinator?: KeyPair };
  predecessor?: PredecessorConfig;
};

/** Creates a sandbox chain (unless given), deploys a vault and funds it. */
export async function setupVaultChain(options: VaultChainOptions = {}): Promise<VaultChain> {
  const blockchain = options.on?.blockchain ?? (await Blockchain.create());
  if (!options.on) blockchain.now = 1_800_000_000; // fixed clock: deterministic storage fees
  const owner = await blockchain.treasury('owner');
  const coordinator = options.on?.coordinator ?? keyPairFromSeed(Buffer.alloc(32, 1));
  const globalId = options.globalId ?? CHAIN_GLOBAL_ID.testnet;
  const vault = blockchain.openContract(
    Vault.createFromConfig({
      owner: owner.address,
      publicKey: coordinator.publicKey,
      globalId,
      accountCode: await accountCode(),
      minReserve: options.minReserve ?? DEFAULT_MIN_RESERVE,
      ...(options.predecessor ? { predecessor: options.predecessor } : {}),
    }, await vaultCode()),
  );
  const deployed = await vault.sendDeploy(owner.getSender(), options.fund ?? toNano('100'));
  const deployTx = txTo(deployed.transactions, vault.address);
  if (exitCodeOf(deployTx) !== 0) throw new Error('vault deploy failed');
  const account = (worker: Address) => blockchain.openContract(PayoutAccount.createFromAddress(vault.accountAddress(worker)));
  return {
    blockchain,
    owner,
    coordinator,
    vault,
    globalId,
    issue: (worker, cumulativeNanotons, seq, overrides = {}) =>
      signVoucher({ globalId: overrides.globalId ?? globalId, vault: overrides.vault ?? vault.address, worker, cumulativeNanotons, seq }, (overrides.key ?? coordinator).secretKey),
    account,
    paid: async (worker) => {
      const contract = await blockchain.getContract(vault.accountAddress(worker));
      return contract.accountState?.type === 'active' ? account(worker).getPaid() : 0n;
    },
    balance: async (address) => (await blockchain.getContract(address)).balance,
  };
}

/** The (first) transaction that processed an internal message sent to `address`. */
export function txTo(transactions: BlockchainTransaction[], address: Address): BlockchainTransaction {
  const tx = transactions.find((t) => t.inMessage?.info.type === 'internal' && t.inMessage.info.dest.equals(address));
  if (!tx) throw new Error(`no transaction on ${address.toString()}`);
  return tx;
}

/** All transactions on `address`, in execution order. */
export function txsOn(transactions: BlockchainTransaction[], address: Address): BlockchainTransaction[] {
  return transactions.filter((t) => t.inMessage?.info.dest?.toString() === address.toString());
}

/** The compute-phase exit code, or undefined when the compute phase was skipped. */
export function exitCodeOf(tx: BlockchainTransaction): number | undefined {
  const d = tx.description;
  if (d.type !== 'generic' || d.computePhase.type !== 'vm') return undefined;
  return d.computePhase.exitCode;
}

/** Gas the compute phase used. */
export function gasOf(tx: BlockchainTransaction): bigint {
  const d = tx.description;
  return d.type === 'generic' && d.computePhase.type === 'vm' ? d.computePhase.gasUsed : 0n;
}

/** Storage fee the account paid in this transaction (it accrues with time, even between claims). */
export function storageFeeOf(tx: BlockchainTransaction): bigint {
  const d = tx.description;
  return d.type === 'generic' ? (d.storagePhase?.storageFeesCollected ?? 0n) : 0n;
}

/** Whether the action phase ran and succeeded (a refused message has none or a failed one). */
export function actionsOk(tx: BlockchainTransaction): boolean {
  const d = tx.description;
  return d.type === 'generic' && d.actionPhase?.success === true;
}

/** Internal messages a transaction sent: destination, exact value, body. */
export function internalOuts(tx: BlockchainTransaction): Array<{ dest: Address; value: bigint; body: Cell }> {
  return tx.outMessages.values().flatMap((m) =>
    m.info.type === 'internal' ? [{ dest: m.info.dest, value: m.info.value.coins, body: m.body }] : [],
  );
}

/**
 * Exact balance change of an account over the given transactions: what came in, minus what went
 * out (value and the forwarding fee that travels with it), minus the account's own fees.
 */
export function netFlow(transactions: BlockchainTransaction[], address: Address): bigint {
  let net = 0n;
  for (const tx of txsOn(transactions, address)) {
    const info = tx.inMessage?.info;
    if (info?.type === 'internal') net += info.value.coins;
    net -= tx.totalFees.coins;
    for (const m of tx.outMessages.values()) {
      if (m.info.type === 'internal') net -= m.info.value.coins + m.info.forwardFee;
    }
  }
  return net;
}

/** A Settle body as the vault builds it (tests forge settles to probe an account directly). */
export function settleBody(fields: { queryId?: bigint; claim: boolean; cumulative: bigint; seq: number; funds: bigint; importFrom?: Address }): Cell {
  return beginCell()
    .storeUint(VaultOp.settle, 32)
    .storeUint(fields.queryId ?? 0n, 64)
    .storeBit(fields.claim)
    .storeCoins(fields.cumulative)
    .storeUint(fields.seq, 64)
    .storeCoins(fields.funds)
    .storeAddress(fields.importFrom ?? null)
    .endCell();
}

/** Delivers an internal message as if `from` had sent it (the sandbox does not check senders). */
export async function forge(blockchain: Blockchain, from: Address, to: Address, value: bigint, body: Cell, init?: { code: Cell; data: Cell }) {
  return blockchain.sendMessage(sandboxInternal({ from, to, value, body, bounce: true, ...(init ? { stateInit: init } : {}) }));
}

/** The `refused` answers (code and paid total) among a send's messages to `to`. */
export function refusalsTo(transactions: BlockchainTransaction[], to: Address): Array<{ code: number; paid: bigint }> {
  return transactions.flatMap((tx) => internalOuts(tx)).filter((m) => m.dest.equals(to)).flatMap((m) => {
    const refused = parseRefusedBody(m.body);
    return refused ? [{ code: refused.code, paid: refused.paidNanotons }] : [];
  });
}

/** The payouts among a send's messages: destination, exact value and decoded body. */
export function payoutsIn(transactions: BlockchainTransaction[]): Array<{ dest: Address; value: bigint; body: PayoutBody }> {
  return transactions.flatMap((tx) => internalOuts(tx)).flatMap((m) => {
    const body = parsePayoutBody(m.body);
    return body ? [{ dest: m.dest, value: m.value, body }] : [];
  });
}
