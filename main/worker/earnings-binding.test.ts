/**
 * The worker's books, kept from what a coordinator says, and a coordinator that says things the
 * books cannot use. Scripted coordinators speaking the real protocol send welcomes and receipts
 * a dishonest or broken one could: none may crash the worker, and none may stop the receipts
 * after it from being recorded and acknowledged.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address, toNano } from '@ton/core';
import { TonClient, WalletContractV5R1 } from '@ton/ton';
import { keyPairFromSeed, type KeyPair } from '@ton/crypto';
import { startWorkerCore, type WorkerCore } from './worker-core.js';
import { Ledger } from '../ledger/ledger.js';
import { writeTestModel } from '../models/test-model.js';
import { createLogger, type Logger } from '../../network/node-kit/log.js';
import { startChainServer, type ChainServer } from '../../network/chain/cli.js';
import { accountCode, vaultCode } from '../../network/contracts/compile.js';
import { Vault } from '../../network/contracts/vault.js';
import { CHAIN_GLOBAL_ID, signVoucher, voucherToJson } from '../../network/protocol/voucher.js';
import type { CoordinatorFrame } from '../../network/protocol/worker-frames.js';
import { DEFAULT_PRICE_LIST, jobCost, splitCost } from '../../network/protocol/pricing.js';
import { ScriptedCoordinator, welcomeFor } from './testing/scripted-coordinator.js';

const address = (seed: number) => WalletContractV5R1.create({ workchain: 0, publicKey: keyPairFromSeed(Buffer.alloc(32, seed)).publicKey, walletId: { networkGlobalId: -3 } }).address.toString({ testOnly: true, bounceable: false });
const payout = address(5);
const vault = address(6);

const paidFor = { promptTokens: 3, completionTokens: 4 };
const cost = jobCost(DEFAULT_PRICE_LIST.default, paidFor, 1);
const earned = splitCost(cost, DEFAULT_PRICE_LIST.commissionBps).worker;

/** A receipt for `jobId` paying `account`, in the published prices' arithmetic. */
function receipt(seq: number, jobId: string, cumulative: bigint, account = payout): Extract<CoordinatorFrame, { type: 'job.receipt' }> {
  return { type: 'job.receipt', seq, jobId, model: 'm', usage: paidFor, coefficientMilli: 1000, costNanotons: cost.toString(), earnedNanotons: earned.toString(), account, cumulativeNanotons: cumulative.toString() };
}

/** `promise`'s value, or a clear failure when it has not come within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

let dir: string;
let model: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'silkworm-books-'));
  model = join(dir, 'm.gguf');
  await writeTestModel(model);
  process.on('unhandledRejection', onUnhandled);
});
after(async () => {
  process.off('unhandledRejection', onUnhandled);
  await rm(dir, { recursive: true, force: true });
});

/** A worker core on `dataDir` paying `payoutAddress`, reconnecting quickly. */
function startCore(coordinator: ScriptedCoordinator, dataDir: string, payoutAddress = payout, options: { chainUrl?: string; logger?: Logger } = {}): Promise<WorkerCore> {
  return startWorkerCore({
    coordinatorUrl: coordinator.url, dataDir, modelPath: model, threads: 1, payoutAddress, sandbox: false,
    reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    ...(options.chainUrl ? { chainUrl: options.chainUrl } : {}),
    logger: options.logger ?? createLogger('w', { level: process.env.TEST_LOG ?? 'silent' }),
  });
}

/** A logger that keeps every line it writes, parsed. */
function recordingLogger(): { logger: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  return { lines, logger: createLogger('w', { level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) } }) };
}

test('a welcome the worker cannot use is refused at the frame: the connection is dropped and tried again, nothing crashes, and receipts land once a usable welcome comes', { timeout: 60_000 }, async () => {
  const unusable = [
    { ...welcomeFor(vault), settlement: { vault: 'not-a-ton-address', voucherPublicKey: '11'.repeat(32), chainGlobalId: -3 } },
    // A price past what any price list may hold, for a model this worker does not even serve.
    { ...welcomeFor(vault), pricing: { ...welcomeFor(vault).pricing, models: { other: { promptPerMillion: '1' + '0'.repeat(21), completionPerMillion: '1' } } } },
  ];
  const coordinator = new ScriptedCoordinator((connection) => unusable[connection - 1] ?? welcomeFor(vault));
  await coordinator.listening();
  const core = await startCore(coordinator, join(dir, 'welcomes'));
  try {
    await within(coordinator.next('capacity'), 20_000, 'a connection that stays');
    assert.equal(coordinator.connections, 3, 'the two unusable welcomes were each refused, the usable one taken');
    coordinator.send(receipt(1, 'job-1', earned));
    assert.equal((await within(coordinator.next('receipt.ack'), 10_000, 'the receipt acknowledged')).upTo, 1);
    assert.equal(core.books()?.ledger.job('job-1')?.earnedNanotons, earned);
    assert.deepEqual(unhandled, [], 'no promise rejected unhandled');
  } finally {
    await core.stop();
    await coordinator.close();
  }
});

test('a receipt whose figures the books cannot hold is flagged and acknowledged, and the receipts after it land', { timeout: 60_000 }, async () => {
  const coordinator = new ScriptedCoordinator(() => welcomeFor(vault));
  await coordinator.listening();
  const core = await startCore(coordinator, join(dir, 'receipts'));
  try {
    await within(coordinator.next('capacity'), 20_000, 'connected');
    coordinator.send(receipt(1, 'job-1', earned));
    // More than a 63-bit ledger holds (the wire allows 31 digits).
    coordinator.send({ ...receipt(2, 'job-2', 2n * earned), earnedNanotons: (1n << 63n).toString() });
    coordinator.send(receipt(3, 'job-3', 2n * earned));
    assert.equal((await within(coordinator.next('receipt.ack', (f) => f.upTo === 3), 10_000, 'every receipt acknowledged')).upTo, 3);
    const ledger = core.books()?.ledger;
    assert.ok(ledger);
    assert.equal(ledger.job('job-2'), undefined, 'nothing credited for it');
    assert.equal(ledger.balances().earnedNanotons, 2n * earned);
    assert.deepEqual(ledger.anomalies({ kind: 'job' }).map((a) => [a.code, a.ref]), [['receipt_unusable', 'job-2']]);
    assert.deepEqual(unhandled, []);
  } finally {
    await core.stop();
    await coordinator.close();
  }
});

test('books that cannot be opened: nothing crashes, the receipt is not acknowledged, and once they can be opened the receipt sent again lands', { timeout: 60_000 }, async () => {
  const dataDir = join(dir, 'blocked');
  // Where the books go is a file: opening them fails (a full or read-only disk fails alike).
  await mkdir(dataDir);
  await writeFile(join(dataDir, 'books'), 'in the way');
  const coordinator = new ScriptedCoordinator(() => welcomeFor(vault));
  await coordinator.listening();
  const core = await startCore(coordinator, dataDir);
  try {
    await within(coordinator.next('capacity'), 20_000, 'connected');
    coordinator.send(receipt(1, 'job-1', earned));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(coordinator.frames.some((f) => f.type === 'receipt.ack'), false, 'not acknowledged while it is not on disk');
    await rm(join(dataDir, 'books'));
    coordinator.send(receipt(1, 'job-1', earned));
    assert.equal((await within(coordinator.next('receipt.ack'), 10_000, 'acknowledged once the books open')).upTo, 1);
    assert.equal(core.books()?.ledger.job('job-1')?.earnedNanotons, earned);
    assert.deepEqual(unhandled, [], 'no promise rejected unhandled');
  } finally {
    await core.stop();
    await coordinator.close();
  }
});

test('a receipt for the address paid before a restart goes to that address\'s books, not acknowledged unrecorded', { timeout: 60_000 }, async () => {
  const dataDir = join(dir, 'moved');
  const before = address(7);
  const coordinator = new ScriptedCoordinator(() => welcomeFor(vault));
  await coordinator.listening();
  // Paid at the first address; a receipt for it is still on its way when the owner changes the address and the app restarts.
  const first = await startCore(coordinator, dataDir, before);
  await within(coordinator.next('capacity'), 20_000, 'connected');
  for (let waited = 0; !first.books() && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(first.books(), 'its books were opened');
  await first.stop();
  coordinator.frames.length = 0;
  const second = await startCore(coordinator, dataDir, payout);
  try {
    await within(coordinator.next('capacity'), 20_000, 'connected again');
    coordinator.send(receipt(1, 'job-old', earned, before));
    assert.equal((await within(coordinator.next('receipt.ack'), 10_000, 'acknowledged')).upTo, 1);
    // A receipt for an address this PC never kept books for opens none.
    coordinator.send(receipt(2, 'job-stranger', earned, address(8)));
    assert.equal((await within(coordinator.next('receipt.ack', (f) => f.upTo === 2), 10_000, 'acknowledged')).upTo, 2);
  } finally {
    await second.stop();
    await coordinator.close();
  }
  const books = Ledger.open({ path: join(dataDir, 'books', `${Address.parse(before).toRawString().replace(':', '_')}.sqlite`), identity: { coordinatorPublicKey: '11'.repeat(32), vault, payoutAddress: before }, logger: createLogger('l', { level: 'silent' }) });
  try {
    assert.equal(books.job('job-old')?.earnedNanotons, earned, 'the first address\'s books hold its receipt');
  } finally {
    books.close();
  }
  assert.deepEqual((await readdir(join(dataDir, 'books'))).filter((name) => name.endsWith('.sqlite')).length, 2, 'no books for the stranger\'s address');
});

describe('the voucher key and chain the vault on chain holds', () => {
  let chain: ChainServer;
  let vaultKey: KeyPair;
  let onChain: string;

  before(async () => {
    chain = await startChainServer({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'chain'), logger: createLogger('chain', { level: 'silent' }) });
    const client = new TonClient({ endpoint: `${chain.url}/jsonRPC` });
    const ownerKey = keyPairFromSeed(randomBytes(32));
    const owner = client.open(WalletContractV5R1.create({ publicKey: ownerKey.publicKey, walletId: { networkGlobalId: -3 } }));
    const res = await fetch(`${chain.url}/faucet`, { method: 'POST', body: JSON.stringify({ address: owner.address.toString(), amount: toNano('10').toString() }) });
    assert.equal(res.status, 200, await res.text());
    vaultKey = keyPairFromSeed(randomBytes(32));
    const contract = Vault.createFromConfig({ owner: owner.address, publicKey: vaultKey.publicKey, globalId: CHAIN_GLOBAL_ID.testnet, accountCode: await accountCode() }, await vaultCode());
    await client.open(contract).sendDeploy(owner.sender(ownerKey.secretKey), toNano('5'));
    assert.ok(await client.isContractDeployed(contract.address), 'vault deployed');
    onChain = contract.address.toString({ testOnly: true });
  });
  after(async () => {
    await chain.close();
  });

  /**
   * A coordinator naming the vault on chain and signing with `key` sends one receipt with its
   * voucher; `check` reads the books once it is acknowledged.
   */
  async function welcomedWith(key: KeyPair, dataDir: string, chainUrl: string, check: (ledger: Ledger, lines: { level: number; msg: string }[]) => void): Promise<void> {
    const coordinator = new ScriptedCoordinator(() => ({ ...welcomeFor(onChain), settlement: { vault: onChain, voucherPublicKey: key.publicKey.toString('hex'), chainGlobalId: CHAIN_GLOBAL_ID.testnet } }));
    await coordinator.listening();
    const { logger, lines } = recordingLogger();
    const core = await startCore(coordinator, join(dir, dataDir), payout, { chainUrl, logger });
    try {
      await within(coordinator.next('capacity'), 20_000, 'connected');
      const voucher = voucherToJson(signVoucher({ globalId: CHAIN_GLOBAL_ID.testnet, vault: onChain, worker: payout, cumulativeNanotons: earned, seq: 1 }, key.secretKey));
      coordinator.send({ ...receipt(1, 'job-1', earned), voucher });
      assert.equal((await within(coordinator.next('receipt.ack'), 10_000, 'the receipt acknowledged')).upTo, 1);
      const books = core.books();
      assert.ok(books);
      check(books.ledger, lines);
    } finally {
      await core.stop();
      await coordinator.close();
    }
  }

  test('a coordinator that names the vault but signs with a key the vault does not hold: its voucher is flagged, not claimable, and the owner is told why', { timeout: 120_000 }, async () => {
    await welcomedWith(keyPairFromSeed(randomBytes(32)), 'other-key', chain.url, (ledger, lines) => {
      assert.equal(ledger.job('job-1')?.earnedNanotons, earned, 'the credit is recorded: it is the coordinator\'s promise');
      assert.equal(ledger.job('job-1')?.voucherSeq, null, 'no voucher covers it');
      assert.equal(ledger.latestVoucher(), null, 'the voucher is not kept as one Cash out could claim with');
      assert.equal(ledger.balances().claimableNanotons, 0n);
      assert.deepEqual(ledger.anomalies({ kind: 'voucher' }).map((a) => a.code), ['vault_key_mismatch']);
      assert.ok(lines.some((line) => line.level >= 50 && /does not hold/.test(line.msg)), `an error says the vault does not hold the key: ${JSON.stringify(lines.map((l) => l.msg))}`);
    });
  });

  test('a coordinator that signs with the vault\'s own key: its voucher is claimable as before', { timeout: 120_000 }, async () => {
    await welcomedWith(vaultKey, 'vault-key', chain.url, (ledger, lines) => {
      assert.equal(ledger.job('job-1')?.voucherSeq, 1);
      assert.equal(ledger.balances().claimableNanotons, earned);
      assert.deepEqual(ledger.anomalies(), []);
      assert.deepEqual(lines.filter((line) => line.level >= 50).map((line) => line.msg), [], 'no error logged');
    });
  });

  test('a chain that does not answer (429) is not a vault with another key: nothing is flagged and the voucher is kept', { timeout: 120_000 }, async () => {
    const busy = createServer((_req, res) => res.writeHead(429).end('Too Many Requests'));
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      await welcomedWith(keyPairFromSeed(randomBytes(32)), 'busy', `http://127.0.0.1:${(busy.address() as AddressInfo).port}`, (ledger) => {
        assert.equal(ledger.job('job-1')?.voucherSeq, 1);
        assert.deepEqual(ledger.anomalies(), []);
      });
    } finally {
      busy.close();
    }
  });
});
