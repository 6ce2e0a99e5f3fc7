// Test helpers for the vault specs: a sandbox chain with a deployed, funded vault, and readers for
// the transactions a send produced. Used only by *.test.ts in this folder.
import { Blockchain, type BlockchainTransaction, type SandboxContract, type TreasuryContract } from '@ton/sandbox';
import { toNano, type Address, type Cell } from '@ton/core';
import { keyPairFromSeed, type KeyPair } from '@ton/crypto';
import { signVoucher, type Voucher } from '../protocol/voucher.js';
import { vaultCode } from './compile.js';
import { DEFAULT_MIN_RESERVE, parseVaultData, Vault, type VaultData } from './vault.js';

/** A fresh chain with a vault owned by the `owner` treasury and funded with `fund`. */
export type VaultChain = {
  blockchain: Blockchain;
  owner: SandboxContract<TreasuryContract>;
  coordinator: KeyPair;
  vault: SandboxContract<Vault>;
  /** Signs a voucher for `worker` with the coordinator key (for this vault unless `vault` is given). */
  issue(worker: Address, cumulativeNanotons: bigint, seq: number, vault?: Address): Voucher;
  /** Balance of any account, 0 if it does not exist. */
  balance(address: Address): Promise<bigint>;
  /** The vault's decoded storage, read straight from its account state. */
  data(): Promise<VaultData>;
};

/** Creates a sandbox chain, deploys a vault and funds it. */
export async function setupVaultChain(fund = toNano('100'), minReserve = DEFAULT_MIN_RESERVE): Promise<VaultChain> {
  const blockchain = await Blockchain.create();
  blockchain.now = 1_800_000_000; // fixed clock: deterministic storage fees
  const owner = await blockchain.treasury('owner');
  const coordinator = keyPairFromSeed(Buffer.alloc(32, 1));
  const code = await vaultCode();
  const vault = blockchain.openContract(
    Vault.createFromConfig({ owner: owner.address, publicKey: coordinator.publicKey, minReserve }, code),
  );
  const deployed = await vault.sendDeploy(owner.getSender(), fund);
  const deployTx = txTo(deployed.transactions, vault.address);
  if (exitCodeOf(deployTx) !== 0) throw new Error('vault deploy failed');
  return {
    blockchain,
    owner,
    coordinator,
    vault,
    issue: (worker, cumulativeNanotons, seq, vaultAddress = vault.address) =>
      signVoucher({ vault: vaultAddress, worker, cumulativeNanotons, seq }, coordinator.secretKey),
    balance: async (address) => (await blockchain.getContract(address)).balance,
    data: async () => {
      const state = (await blockchain.getContract(vault.address)).accountState;
      if (state?.type !== 'active' || !state.state.data) throw new Error('vault is not active');
      return parseVaultData(state.state.data);
    },
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
