/**
 * The worker's books, kept from what a coordinator says, and a coordinator that says things the
 * books cannot use. Scripted coordinators speaking the real protocol send welcomes and receipts
 * a dishonest or broken one could: none may crash the worker, and none may stop the receipts
 * after it from being recorded and acknowledged.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address } from '@ton/core';
import { WalletContractV5R1 } from '@ton/ton';
import { keyPairFromSeed } from '@ton/crypto';
import { startWorkerCore, type WorkerCore } from './worker-core.js';
import { Ledger } from '../ledger/ledger.js';
import { writeTestModel } from '../models/test-model.js';
import { createLogger } from '../../network/node-kit/log.js';
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
function startCore(coordinator: ScriptedCoordinator, dataDir: string, payoutAddress = payout): Promise<WorkerCore> {
  return startWorkerCore({
    coordinatorUrl: coordinator.url, dataDir, modelPath: model, threads: 1, payoutAddress, sandbox: false,
    reconnect: { minDelayMs: 20, maxDelayMs: 100 },
    logger: createLogger('w', { level: process.env.TEST_LOG ?? 'silent' }),
  });
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
