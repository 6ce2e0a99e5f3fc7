/**
 * Payouts benchmark, on @ton/sandbox (the real TVM emulator, mainnet fee config): gas and fees
 * of a push and of a claim through the payout vault and its per-worker payout accounts, measured
 * at 1 known worker and again after 10,000 distinct workers were paid (by real pushes). The vault
 * keeps no per-worker state, so the figures should not move; the section checks its storage is
 * bit-identical before and after. Figures: `push_gas_per_worker` (the vault's push transaction,
 * per entry: what a push batch is sized on) and `claim_fee_ton` (what a worker's claim costs it,
 * its wallet's own fee included, once its payout account exists).
 * In `npm run bench` as the `payouts` section; alone: node --import tsx bench/payouts.ts [--known 1,10000]
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Address, fromNano, toNano, type Cell } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';
import { Blockchain, type BlockchainTransaction } from '@ton/sandbox';
import { accountCode, vaultCode } from '../network/contracts/compile.js';
import { ACCOUNT_FLOOR, PUSH_CHUNK, Vault } from '../network/contracts/vault.js';
import { CHAIN_GLOBAL_ID, signVoucher } from '../network/protocol/voucher.js';
import { formatTable, type Table } from './table.js';
import type { ResultValue, Section } from './section.js';

/** Which sizes to measure at (known workers before the measured push and claim). */
export interface PayoutsOptions {
  known?: readonly number[];
}

const DUE = toNano('0.05'); // each pushed worker's total: odd amounts do not change gas

/** The payouts section: `npm run bench -- --only payouts`. */
export function payoutsSection(options: PayoutsOptions = {}): Section {
  const known = options.known ?? [1, 10_000];
  return {
    name: 'payouts',
    summary: `payout vault on @ton/sandbox: push gas per worker, claim fee, at ${known.map((n) => n.toLocaleString('en-US')).join(' and ')} known workers`,
    run: async () => {
      const { table, results } = await measurePayouts({ known });
      return { tables: [table], results };
    },
  };
}

/** One measurement point. */
interface Point {
  known: number; // workers paid before the measured push and claims
  pushGasPerWorker: number; // the vault's push transaction, per entry
  pushPathGasPerWorker: number; // every transaction of the push, per entry
  pushFeeTonPerNewWorker: number; // owner + vault spend beyond the dues, per new worker
  pushFeeTonPerKnownWorker: number; // the same for workers whose account exists
  claimGas: number; // vault + account transactions
  claimFeeTon: number; // the worker's cost, its wallet's fee included, account existing
  firstClaimFeeTon: number; // the same for a first claim (deploys the account; deposit excluded)
  vaultDataBits: number;
}

/** Builds the chain, grows it to each size, measures, and returns the table and the figures. */
export async function measurePayouts(options: PayoutsOptions = {}): Promise<{ table: Table; results: Record<string, ResultValue> }> {
  const sizes = [...(options.known ?? [1, 10_000])].sort((a, b) => a - b);
  const blockchain = await Blockchain.create();
  blockchain.now = 1_800_000_000;
  blockchain.verbosity = { print: false, blockchainLogs: false, vmLogs: 'none', debugLogs: false };
  const owner = await blockchain.treasury('owner');
  const coordinator = keyPairFromSeed(Buffer.alloc(32, 1));
  const globalId = CHAIN_GLOBAL_ID.mainnet;
  const vault = blockchain.openContract(Vault.createFromConfig({ owner: owner.address, publicKey: coordinator.publicKey, globalId, accountCode: await accountCode() }, await vaultCode()));
  await vault.sendDeploy(owner.getSender(), toNano('5000'));
  const vaultData = await dataOf(blockchain, vault.address);
  const balance = async (address: Address) => (await blockchain.getContract(address)).balance;
  let made = 0; // distinct workers paid so far
  const newWorkers = (count: number) => Array.from({ length: count }, () => workerAddress(++made));

  // A push of `workers` (new, or known with `deploy: false`): gas and what it cost owner + vault.
  const push = async (workers: Address[], cumulative: bigint, amount: bigint, deploy: boolean) => {
    const before = (await balance(owner.address)) + (await balance(vault.address));
    const result = await vault.sendPushBatch(owner.getSender(), workers.map((worker) => ({ worker, cumulativeNanotons: cumulative, seq: 1, amountNanotons: amount, deploy })));
    const txs = result.transactions;
    const vaultTx = txs.find((t) => t.inMessage?.info.src?.toString() === owner.address.toString() && t.inMessage.info.dest?.toString() === vault.address.toString());
    if (!vaultTx || exitCode(vaultTx) !== 0) throw new Error('the push failed');
    const spent = before - (await balance(owner.address)) - (await balance(vault.address));
    return { vaultGas: gasOf(vaultTx), pathGas: txs.reduce((sum, t) => sum + gasOf(t), 0n), feePerWorker: (spent - BigInt(workers.length) * amount) / BigInt(workers.length) };
  };

  // A claim of 1 TON by a fresh worker, then another once its account exists: the worker's cost
  // (its wallet's fee included; the storage deposit of the first is its own money) and the gas.
  const claims = async (label: string) => {
    const claimer = await blockchain.treasury(`claimer-${label}`);
    const account = vault.accountAddress(claimer.address);
    const one = async (seq: number, deploy: boolean) => {
      const voucher = signVoucher({ globalId, vault: vault.address, worker: claimer.address, cumulativeNanotons: BigInt(seq) * toNano('1'), seq }, coordinator.secretKey);
      const before = await balance(claimer.address);
      const result = await vault.sendClaim(claimer.getSender(), voucher, { deploy, amountNanotons: toNano('1') });
      const gas = result.transactions
        .filter((t) => {
          const info = t.inMessage?.info;
          return info?.type === 'internal' && (info.dest.equals(account) || (info.dest.equals(vault.address) && info.src.equals(claimer.address)));
        })
        .reduce((sum, t) => sum + gasOf(t), 0n);
      const deposit = deploy ? ACCOUNT_FLOOR : 0n;
      return { gas, fee: toNano('1') - deposit - ((await balance(claimer.address)) - before) };
    };
    const first = await one(1, true);
    return { first, steady: await one(2, false) };
  };

  const points: Point[] = [];
  const started = performance.now();
  for (const size of sizes) {
    // Grow to `size - 1` known workers with full pushes; the measured push adds new ones on top.
    // Grow to `size` paid workers with full pushes; then measure on top of them.
    while (made < size) await push(newWorkers(Math.min(PUSH_CHUNK, size - made)), DUE, DUE, true);
    const fresh = await push(newWorkers(PUSH_CHUNK), DUE, DUE, true);
    const knownBatch = Array.from({ length: PUSH_CHUNK }, (_, i) => workerAddress(made - PUSH_CHUNK + 1 + i));
    const repeat = await push(knownBatch, DUE * 2n, DUE, false);
    const { first, steady } = await claims(String(size));
    points.push({
      known: size,
      pushGasPerWorker: Number(fresh.vaultGas) / PUSH_CHUNK,
      pushPathGasPerWorker: Number(fresh.pathGas) / PUSH_CHUNK,
      pushFeeTonPerNewWorker: Number(fromNano(fresh.feePerWorker)),
      pushFeeTonPerKnownWorker: Number(fromNano(repeat.feePerWorker)),
      claimGas: Number(steady.gas),
      claimFeeTon: Number(fromNano(steady.fee)),
      firstClaimFeeTon: Number(fromNano(first.fee)),
      vaultDataBits: bitsOf(await dataOf(blockchain, vault.address)),
    });
  }
  const unchanged = (await dataOf(blockchain, vault.address)).hash().equals(vaultData.hash());
  const last = points[points.length - 1] as Point;
  const at = (p: Point) => p.known.toLocaleString('en-US');
  const results: Record<string, ResultValue> = {
    payouts_known_workers: last.known,
    push_gas_per_worker: Math.round(last.pushGasPerWorker),
    push_path_gas_per_worker: Math.round(last.pushPathGasPerWorker),
    push_fee_ton_per_new_worker: round6(last.pushFeeTonPerNewWorker),
    push_fee_ton_per_known_worker: round6(last.pushFeeTonPerKnownWorker),
    claim_gas: last.claimGas,
    claim_fee_ton: round6(last.claimFeeTon),
    first_claim_fee_ton: round6(last.firstClaimFeeTon),
    vault_state_unchanged: unchanged,
    payouts_run_s: Math.round((performance.now() - started) / 100) / 10,
  };
  for (const p of points.slice(0, -1)) {
    results[`push_gas_per_worker_at_${p.known}`] = Math.round(p.pushGasPerWorker);
    results[`claim_fee_ton_at_${p.known}`] = round6(p.claimFeeTon);
  }
  const table: Table = {
    title: `payouts: vault + per-worker payout accounts on @ton/sandbox (mainnet fees), push of ${PUSH_CHUNK}`,
    columns: ['known workers', 'push gas/worker (vault tx)', 'push gas/worker (all txs)', 'push fee/new worker', 'push fee/known worker', 'claim gas', 'claim fee', 'first claim fee', 'vault data bits'],
    rows: points.map((p) => [at(p), String(Math.round(p.pushGasPerWorker)), String(Math.round(p.pushPathGasPerWorker)), `${round6(p.pushFeeTonPerNewWorker)} TON`,
      `${round6(p.pushFeeTonPerKnownWorker)} TON`, String(p.claimGas), `${round6(p.claimFeeTon)} TON`, `${round6(p.firstClaimFeeTon)} TON`, String(p.vaultDataBits)]),
    notes: [
      `vault storage bit-identical after ${last.known.toLocaleString('en-US')} workers: ${unchanged ? 'yes' : 'NO'} (no per-worker state: gas cannot grow with workers)`,
      'push fee: what the owner and the vault spend beyond the dues, per worker (new: the settle carries the account code)',
      `claim fee: the worker's cost incl. its wallet's fee, account existing; first claim also deploys it (the ${fromNano(ACCOUNT_FLOOR)} TON storage deposit is not counted)`,
    ],
  };
  return { table, results };
}

// The n-th distinct worker (never deployed: a payout lands on it as is).
function workerAddress(n: number): Address {
  const hash = Buffer.alloc(32, 0xee);
  hash.writeUInt32BE(n, 0);
  return new Address(0, hash);
}

async function dataOf(blockchain: Blockchain, address: Address): Promise<Cell> {
  const state = (await blockchain.getContract(address)).accountState;
  if (state?.type !== 'active' || !state.state.data) throw new Error('not active');
  return state.state.data;
}

function bitsOf(cell: Cell): number {
  return cell.bits.length + cell.refs.reduce((sum, ref) => sum + bitsOf(ref), 0);
}

function gasOf(tx: BlockchainTransaction): bigint {
  const d = tx.description;
  return d.type === 'generic' && d.computePhase.type === 'vm' ? d.computePhase.gasUsed : 0n;
}

function exitCode(tx: BlockchainTransaction): number | undefined {
  const d = tx.description;
  return d.type === 'generic' && d.computePhase.type === 'vm' ? d.computePhase.exitCode : undefined;
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { known: { type: 'string' } }, strict: true });
  const known = values.known?.split(',').map((n) => Number(n));
  if (known?.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--known takes whole numbers ≥ 1, comma-separated');
  measurePayouts(known ? { known } : {})
    .then(({ table, results }) => console.log(`${formatTable(table)}\n${JSON.stringify(results)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
