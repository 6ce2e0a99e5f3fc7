/**
 * From the worker's side the coordinator is a stranger too. A scripted coordinator speaking the
 * real protocol sends a receipt that pays for half the tokens the worker generated: the worker
 * records the credit (vouchers pay what was signed), flags the underpayment with its shortfall,
 * and acknowledges the receipt only once it is on disk; the same receipt sent again is not
 * credited twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalletContractV5R1 } from '@ton/ton';
import { keyPairFromSeed } from '@ton/crypto';
import { startWorkerCore, type WorkerCore } from './worker-core.js';
import { writeTestModel } from '../models/test-model.js';
import { createLogger } from '../../network/node-kit/log.js';
import type { CoordinatorFrame, WorkerFrame } from '../../network/protocol/worker-frames.js';
import { DEFAULT_PRICE_LIST, jobCost, splitCost } from '../../network/protocol/pricing.js';
import { TokenCounter } from '../../network/tokenizer/token-counter.js';
import { ScriptedCoordinator, welcomeFor } from './testing/scripted-coordinator.js';

const payout = WalletContractV5R1.create({ workchain: 0, publicKey: keyPairFromSeed(Buffer.alloc(32, 5)).publicKey, walletId: { networkGlobalId: -3 } }).address.toString({ testOnly: true, bounceable: false });
const vault = WalletContractV5R1.create({ workchain: 0, publicKey: keyPairFromSeed(Buffer.alloc(32, 6)).publicKey, walletId: { networkGlobalId: -3 } }).address.toString({ testOnly: true });

let dir: string;
let coordinator: ScriptedCoordinator;
let worker: WorkerCore;
let counter: TokenCounter;

/** What a real coordinator counts for a job: the model's tokenizer over the text it streamed. */
function counted(jobId: string): number {
  return counter.countText(coordinator.frames.flatMap((f) => (f.type === 'job.chunk' && f.jobId === jobId ? [f.text] : [])).join(''));
}

const earnedFor = (usage: { promptTokens: number; completionTokens: number }) => splitCost(jobCost(DEFAULT_PRICE_LIST.default, usage, 1), DEFAULT_PRICE_LIST.commissionBps).worker;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'silkworm-receipts-'));
  const model = join(dir, 'm.gguf');
  await writeTestModel(model);
  counter = await TokenCounter.open(model);
  coordinator = new ScriptedCoordinator(() => welcomeFor(vault));
  await coordinator.listening();
  worker = await startWorkerCore({ coordinatorUrl: coordinator.url, dataDir: join(dir, 'w'), modelPath: model, threads: 1, payoutAddress: payout, sandbox: false, logger: createLogger('w', { level: process.env.TEST_LOG ?? 'silent' }) });
});
after(async () => {
  await worker.stop();
  await counter.dispose();
  coordinator.server.close();
  await rm(dir, { recursive: true, force: true });
});

test('an underpaying receipt is recorded, flagged with its shortfall, acknowledged once on disk, and never credited twice', async () => {
  await coordinator.sharing();
  coordinator.send({ type: 'job.offer', jobId: 'job-1', model: 'm', messages: [{ role: 'user', content: 'abc' }], params: { maxTokens: 40, temperature: 0 } });
  const done = await coordinator.next('job.done');
  assert.equal(done.usage.completionTokens, 40);
  // The prompt is claimed with the first chunk too, so a job that ends before job.done has the claim.
  const chunks = coordinator.frames.filter((f): f is Extract<WorkerFrame, { type: 'job.chunk' }> => f.type === 'job.chunk' && f.jobId === 'job-1');
  assert.equal(chunks[0]?.promptTokens, done.usage.promptTokens);
  assert.ok(chunks.length > 1 && chunks.slice(1).every((chunk) => chunk.promptTokens === undefined), 'once');
  const paidFor = { promptTokens: done.usage.promptTokens, completionTokens: 20 };
  const cost = jobCost(DEFAULT_PRICE_LIST.default, paidFor, 1);
  const earned = splitCost(cost, DEFAULT_PRICE_LIST.commissionBps).worker;
  const receipt: CoordinatorFrame = { type: 'job.receipt', seq: 1, jobId: 'job-1', model: 'm', usage: paidFor, coefficientMilli: 1000, costNanotons: cost.toString(), earnedNanotons: earned.toString(), account: payout, cumulativeNanotons: earned.toString() };
  coordinator.send(receipt);
  const ack = await coordinator.next('receipt.ack');
  assert.equal(ack.upTo, 1);
  const ledger = worker.books()?.ledger;
  assert.ok(ledger, 'the books opened from the welcome’s settlement');
  assert.equal(ledger.balances().earnedNanotons, earned, 'credited what the coordinator signed');
  // Its due is the answer as the network counts it, which a merged split can put below 40.
  const due = counted('job-1');
  assert.ok(due > 24 && due <= 40, `counted ${due}`);
  assert.deepEqual(ledger.underpayments(), { jobs: 1, nanotons: earnedFor({ ...paidFor, completionTokens: due }) - earned });
  assert.equal(ledger.anomalies({ kind: 'job' })[0]?.code, 'underpaid');
  // Sent again (a reconnect before the ack arrived): acknowledged, not credited again.
  coordinator.frames.length = 0;
  coordinator.send(receipt);
  assert.equal((await coordinator.next('receipt.ack')).upTo, 1);
  assert.equal(ledger.balances().earnedNanotons, earned);
});

test('a job the coordinator cancelled is paid for what arrived before the cancel, and that is not flagged', async () => {
  const ledger = worker.books()?.ledger;
  assert.ok(ledger);
  const before = ledger.underpayments();
  coordinator.frames.length = 0;
  // Paced (the owner's speed cap), so that the cancel lands mid-answer however fast this
  // machine generates: uncapped, a fast one streamed all 400 tokens in 13 chunks; at 200
  // tokens/s, in 21.
  await worker.worker.setCaps({ maxTokensPerSecond: 100, maxGpuLayers: null, maxVramMb: null, maxPowerW: null });
  coordinator.send({ type: 'job.offer', jobId: 'job-2', model: 'm', messages: [{ role: 'user', content: 'abc' }], params: { maxTokens: 400, temperature: 0 } });
  // The coordinator decided to cancel after the first token; its cancel crossed several more chunks.
  await coordinator.next('job.chunk', (f) => f.jobId === 'job-2' && f.seq === 5);
  coordinator.send({ type: 'job.cancel', jobId: 'job-2', reason: 'the client left' });
  await worker.worker.setCaps(null);
  const failed = await coordinator.next('job.error', (f) => f.jobId === 'job-2');
  assert.equal(failed.code, 'cancelled');
  const paidFor = { promptTokens: 3, completionTokens: 1 };
  const cost = jobCost(DEFAULT_PRICE_LIST.default, paidFor, 1);
  const earned = splitCost(cost, DEFAULT_PRICE_LIST.commissionBps).worker;
  const total = ledger.balances().earnedNanotons + earned;
  coordinator.send({ type: 'job.receipt', seq: 2, jobId: 'job-2', model: 'm', usage: paidFor, coefficientMilli: 1000, costNanotons: cost.toString(), earnedNanotons: earned.toString(), account: payout, cumulativeNanotons: total.toString() });
  assert.equal((await coordinator.next('receipt.ack', (f) => f.upTo === 2)).upTo, 2);
  assert.equal(ledger.job('job-2')?.earnedNanotons, earned);
  assert.deepEqual(ledger.underpayments(), before, 'no underpayment flagged for a cancelled job');
});

test('a receipt that pays exactly the answer as the network counts it (the model\'s tokenizer over the streamed text) is not flagged', async () => {
  await coordinator.sharing();
  const before = worker.books()?.ledger.underpayments();
  const jobId = 'job-3';
  coordinator.send({ type: 'job.offer', jobId, model: 'm', messages: [{ role: 'user', content: 'job 3 abcd' }], params: { maxTokens: 8, temperature: 0 } });
  const { usage } = await coordinator.next('job.done', (f) => f.jobId === jobId);
  const due = counted(jobId);
  assert.ok(due > 0 && due <= usage.completionTokens, `counted ${due} of ${usage.completionTokens} generated`);
  const paidFor = { promptTokens: usage.promptTokens, completionTokens: due };
  const earned = earnedFor(paidFor);
  const cumulative = (worker.books()?.ledger.balances().earnedNanotons ?? 0n) + earned;
  coordinator.send({ type: 'job.receipt', seq: 3, jobId, model: 'm', usage: paidFor, coefficientMilli: 1000, costNanotons: jobCost(DEFAULT_PRICE_LIST.default, paidFor, 1).toString(), earnedNanotons: earned.toString(), account: payout, cumulativeNanotons: cumulative.toString() });
  assert.equal((await coordinator.next('receipt.ack', (f) => f.upTo === 3)).upTo, 3);
  assert.deepEqual(worker.books()?.ledger.underpayments(), before, 'paid in full: nothing flagged');
  // Paid well below that count (beyond the tolerance of re-tokenization): a shortfall the owner sees.
  const short = { promptTokens: usage.promptTokens, completionTokens: Math.floor((due - 3) / 1.1) };
  const shortEarned = earnedFor(short);
  coordinator.send({ type: 'job.offer', jobId: 'job-4', model: 'm', messages: [{ role: 'user', content: 'job 3 abcd' }], params: { maxTokens: 8, temperature: 0 } });
  await coordinator.next('job.done', (f) => f.jobId === 'job-4');
  coordinator.send({ type: 'job.receipt', seq: 4, jobId: 'job-4', model: 'm', usage: short, coefficientMilli: 1000, costNanotons: jobCost(DEFAULT_PRICE_LIST.default, short, 1).toString(), earnedNanotons: shortEarned.toString(), account: payout, cumulativeNanotons: (cumulative + shortEarned).toString() });
  assert.equal((await coordinator.next('receipt.ack', (f) => f.upTo === 4)).upTo, 4);
  assert.equal(worker.books()?.ledger.underpayments().jobs, (before?.jobs ?? 0) + 1, 'paid below the tolerance of re-tokenization: flagged');
});

test('a receipt for a job the client left ("outcome": "cancelled") bills what reached the client and is not flagged', async () => {
  await coordinator.sharing();
  const ledger = worker.books()?.ledger;
  assert.ok(ledger);
  const before = ledger.underpayments();
  coordinator.send({ type: 'job.offer', jobId: 'job-6', model: 'm', messages: [{ role: 'user', content: 'abc' }], params: { maxTokens: 8, temperature: 0 } });
  assert.equal((await coordinator.next('job.done', (f) => f.jobId === 'job-6')).usage.completionTokens, 8);
  const paidFor = { promptTokens: 3, completionTokens: 2 };
  const earned = earnedFor(paidFor);
  coordinator.send({ type: 'job.receipt', seq: 5, jobId: 'job-6', model: 'm', usage: paidFor, outcome: 'cancelled', coefficientMilli: 1000, costNanotons: jobCost(DEFAULT_PRICE_LIST.default, paidFor, 1).toString(), earnedNanotons: earned.toString(), account: payout, cumulativeNanotons: (ledger.balances().earnedNanotons + earned).toString() });
  assert.equal((await coordinator.next('receipt.ack', (f) => f.upTo === 5)).upTo, 5);
  assert.equal(ledger.job('job-6')?.earnedNanotons, earned);
  assert.deepEqual(ledger.underpayments(), before);
});

test('receipts that arrive out of order (several coordinator instances settle this worker) are each recorded once, and the ack waits for the missing one', async () => {
  await coordinator.sharing();
  const ledger = worker.books()?.ledger;
  assert.ok(ledger);
  for (const jobId of ['job-7', 'job-8']) {
    coordinator.send({ type: 'job.offer', jobId, model: 'm', messages: [{ role: 'user', content: 'abc' }], params: { maxTokens: 4, temperature: 0 } });
    await coordinator.next('job.done', (f) => f.jobId === jobId);
    await coordinator.sharing();
  }
  const paidFor = { promptTokens: 3, completionTokens: 4 };
  const earned = earnedFor(paidFor);
  const base = ledger.balances().earnedNanotons;
  const receipt = (seq: number, jobId: string, cumulative: bigint): CoordinatorFrame => ({ type: 'job.receipt', seq, jobId, model: 'm', usage: paidFor, coefficientMilli: 1000, costNanotons: jobCost(DEFAULT_PRICE_LIST.default, paidFor, 1).toString(), earnedNanotons: earned.toString(), account: payout, cumulativeNanotons: cumulative.toString() });
  coordinator.frames.length = 0;
  coordinator.send(receipt(7, 'job-8', base + 2n * earned)); // number 6 is still on its way
  assert.equal((await coordinator.next('receipt.ack')).upTo, 5, 'not acknowledged past the missing number');
  assert.equal(ledger.job('job-8')?.earnedNanotons, earned);
  coordinator.send(receipt(6, 'job-7', base + earned)); // the late one
  assert.equal((await coordinator.next('receipt.ack', (f) => f.upTo === 7)).upTo, 7);
  assert.equal(ledger.job('job-7')?.earnedNanotons, earned, 'the late receipt is recorded, not taken for a repeat');
  coordinator.send(receipt(6, 'job-7', base + earned)); // a true repeat
  assert.equal((await coordinator.next('receipt.ack', (f) => f.upTo === 7)).upTo, 7);
  assert.equal(ledger.balances().earnedNanotons, base + 2n * earned, 'each credited once');
});

/** Receipts of one token each, numbered from `first`, as a flood of them would come. */
function floodOf(first: number, base: bigint, prefix: string) {
  const paidFor = { promptTokens: 1, completionTokens: 1 };
  const earned = earnedFor(paidFor);
  const receipt = (i: number): CoordinatorFrame => ({ type: 'job.receipt', seq: first + i, jobId: `${prefix}-${i}`, model: 'm', usage: paidFor, coefficientMilli: 1000, costNanotons: jobCost(DEFAULT_PRICE_LIST.default, paidFor, 1).toString(), earnedNanotons: earned.toString(), account: payout, cumulativeNanotons: (base + BigInt(i + 1) * earned).toString() });
  /** As an honest coordinator answers `receipts.request`: everything after `after` up to receipt `last` again, a batch at a time, each batch acknowledged. */
  const resend = async (after: number, last: number) => {
    while (after < first + last) {
      for (let seq = after + 1; seq < Math.min(after + 501, first + last + 1); seq++) coordinator.send(receipt(seq - first));
      const target = Math.min(after + 500, first + last);
      after = (await coordinator.next('receipt.ack', (f) => f.upTo >= target)).upTo;
    }
  };
  return { earned, receipt, resend };
}

test('receipts by the thousand: at most 1,000 wait to be recorded, the rest are asked for again once those are, and each lands once', { timeout: 60_000 }, async () => {
  const ledger = worker.books()?.ledger;
  assert.ok(ledger);
  const base = ledger.balances().earnedNanotons;
  const first = 8; // the numbers go on from the tests above
  const count = 2500;
  const { earned, receipt, resend } = floodOf(first, base, 'flood');
  coordinator.frames.length = 0;
  let recorded = 0;
  let mostWaiting = 0;
  const onReceipt = () => void recorded++;
  // Heard after the worker's own listener: how many wait once each frame is taken in.
  const onFrame = () => void (mostWaiting = Math.max(mostWaiting, worker.worker.receiptsWaiting));
  worker.worker.on('receipt', onReceipt);
  worker.worker.link.on('frame', onFrame);
  // All in one burst, faster than a ledger on disk takes them.
  for (let i = 0; i < count; i++) coordinator.send(receipt(i));
  const request = await coordinator.next('receipts.request');
  assert.equal(mostWaiting, 1000, 'never more than 1,000 waiting');
  assert.ok(recorded < count, `some were not taken (${recorded} recorded when the worker asked again)`);
  assert.ok(request.after >= first && request.after < first + count - 1, `it asks for what it did not take (after ${request.after})`);
  await resend(request.after, count - 1);
  worker.worker.off('receipt', onReceipt);
  worker.worker.link.off('frame', onFrame);
  assert.equal(recorded, count, 'every receipt recorded once');
  assert.equal(ledger.balances().earnedNanotons, base + BigInt(count) * earned, 'each credited once');
});

test('a receipt that comes while earlier ones are being dropped is dropped too: taken in, it would leave a gap too deep to wait for, and those receipts would never land', { timeout: 60_000 }, async () => {
  const ledger = worker.books()?.ledger;
  assert.ok(ledger);
  const base = ledger.balances().earnedNanotons;
  const first = 2508; // after the flood above
  const far = 2800; // further past the last one taken in than the worker waits for missing numbers (1,024)
  const { earned, receipt, resend } = floodOf(first, base, 'gap');
  coordinator.frames.length = 0;
  const taken: number[] = [];
  // The queue is full and the rest of the burst was dropped; while it drains, a receipt far ahead
  // comes: sent from the fifth recording itself (a timer polling for it can fire too late on a
  // loaded machine, after the queue drained).
  const onReceipt = (r: { seq: number }) => {
    taken.push(r.seq);
    if (taken.length === 5) coordinator.send(receipt(far));
  };
  worker.worker.on('receipt', onReceipt);
  for (let i = 0; i < 1500; i++) coordinator.send(receipt(i));
  const request = await coordinator.next('receipts.request');
  // How many the queue took depends on how fast the disk records them meanwhile (1,000 and more):
  // they are the first of the burst, in order, and all recorded by the time it asks again.
  assert.ok(taken.length >= 1000 && taken.length < 1500, `the queue took ${taken.length} of the burst, and dropped the rest`);
  assert.deepEqual(taken, Array.from({ length: taken.length }, (_, i) => first + i), 'the first of the burst, each once, in order');
  assert.equal(request.after, first + taken.length - 1, 'it asks again from where it stopped taking them, not from the far one');
  await resend(request.after, far);
  worker.worker.off('receipt', onReceipt);
  assert.equal(taken.length, far + 1, 'every receipt recorded once, the far one included');
  assert.equal(ledger.balances().earnedNanotons, base + BigInt(far + 1) * earned, 'each credited once');
});
