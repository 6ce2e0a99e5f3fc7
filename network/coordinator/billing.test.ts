/**
 * Settlements asked for in one turn of the event loop share one commit: each is still checked
 * on its own (a refused one fails alone), receipts go out only after the commit, and every
 * caller hears how its own settlement ended. A settlement the store cannot be reached for is
 * kept (a bounded number of them) and tried again until it lands or is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Billing, SettlementDeferred } from './billing.js';
import { openSqliteStore } from './sqlite-store.js';
import { buildReceipt, type ReceiptSigning } from './receipts.js';
import { StoreUnavailableError, type AsyncCoordinatorStore, type SettledJob } from './store.js';
import type { MeteredPart } from './metering.js';
import { jobCost, priceOf, splitCost } from '../protocol/pricing.js';

const part = (workerId: string, completionTokens: number): MeteredPart => ({ workerId, payoutAddress: undefined, coefficient: 1, usage: { promptTokens: 10, completionTokens } });

test('settlements of one turn share a commit, fail alone, and send receipts only once committed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-billing-'));
  const store = openSqliteStore(dir);
  try {
    const billing = new Billing({ store });
    store.deposit('client', 1_000_000_000n, 'd');
    // Holds big enough for 1,000 completion tokens; one job claims far more than its hold.
    const hold = billing.worstCase('m', 10, 1000, 1, 1);
    for (const id of ['a', 'b', 'c']) assert.equal(store.reserve('client', id, hold, Date.now() + 60_000), 'held');
    const receipts: string[] = [];
    billing.on('receipt', (workerId, receipt) => receipts.push(`${workerId}:${receipt.jobId}`));
    const ended = (id: string, tokens: number) =>
      new Promise<unknown>((resolve) => billing.settleSoon(id, 'client', 'm', 'done', [part(`w-${id}`, tokens)], (error) => resolve(error ?? 'ok')));
    const results = Promise.all([ended('a', 100), ended('b', 100_000), ended('c', 200)]);
    assert.deepEqual(receipts, [], 'nothing is written or sent before the turn ends');
    const [a, b, c] = await results;
    assert.equal(a, 'ok');
    assert.match(String(b), /exceeds its hold/);
    assert.equal(c, 'ok');
    assert.deepEqual(receipts, ['w-a:a', 'w-c:c']);
    assert.equal(store.account('worker:w-a').seq, 1);
    assert.equal(store.account('worker:w-b').seq, 0, 'the refused settlement wrote nothing');
    assert.equal(store.jobIdUsed('b'), true, 'its hold stays until it expires');
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A flush of the store held back until the test settles it. */
interface HeldFlush {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Billing on the real SQLite store whose disk flush (synced) is held back until the test lets it
 * go, with a hold for each of `jobIds`; `receipts` lists what billing sent, as "jobId#seq".
 */
async function withHeldFlushes(jobIds: string[], run: (t: { store: ReturnType<typeof openSqliteStore>; billing: Billing; flushes: HeldFlush[]; receipts: string[]; flushCount: (n: number) => Promise<void> }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-billing-'));
  const store = openSqliteStore(dir);
  try {
    const flushes: HeldFlush[] = [];
    let asked = 0;
    const gated = Object.create(store) as typeof store;
    gated.synced = () => store.synced().then(() => new Promise<void>((resolve, reject) => (asked++, flushes.push({ resolve, reject }))));
    const billing = new Billing({ store: gated });
    store.deposit('client', 1_000_000_000n, 'd');
    const hold = billing.worstCase('m', 10, 1000, 1, 1);
    for (const id of jobIds) assert.equal(store.reserve('client', id, hold, Date.now() + 60_000), 'held');
    const receipts: string[] = [];
    billing.on('receipt', (_workerId, receipt) => receipts.push(`${receipt.jobId}#${receipt.seq}`));
    const flushCount = async (n: number) => {
      while (asked < n) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await run({ store, billing, flushes, receipts, flushCount });
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('nobody hears of a batch before its disk flush resolves; a failed flush ends the batch as failed, with no receipt', () =>
  withHeldFlushes(['x', 'y'], async ({ store, billing, flushes, receipts, flushCount }) => {
    const heard: string[] = [];
    const ended = (id: string) => new Promise<unknown>((resolve) => billing.settleSoon(id, 'client', 'm', 'done', [part(`w-${id}`, 100)], (error) => (heard.push(id), resolve(error ?? 'ok'))));

    const x = ended('x');
    await flushCount(1);
    assert.equal(store.account('worker:w-x').seq, 1, 'the commit is written');
    assert.deepEqual([receipts, heard], [[], []], 'but no receipt and no caller hears of it before the flush');
    flushes[0]?.resolve();
    assert.equal(await x, 'ok');
    assert.deepEqual(receipts, ['x#1']);

    const y = ended('y');
    await flushCount(2);
    flushes[1]?.reject(new Error('EIO: i/o error, fsync'));
    assert.match(String(await y), /EIO/);
    assert.deepEqual(receipts, ['x#1'], 'no receipt for a batch not known to be on disk');
  }));

test('batches are announced in commit order even when a later disk flush finishes first (a worker takes receipts in sequence)', () =>
  withHeldFlushes(['p', 'q'], async ({ billing, flushes, receipts, flushCount }) => {
    const ended = (id: string) => new Promise<unknown>((resolve) => billing.settleSoon(id, 'client', 'm', 'done', [part('same-worker', 100)], (error) => resolve(error ?? 'ok')));
    const p = ended('p');
    await flushCount(1);
    const q = ended('q'); // a second batch, committed after the first
    await flushCount(2);
    flushes[1]?.resolve(); // the later flush completes first
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(receipts, [], 'the second batch waits for the first');
    flushes[0]?.resolve();
    assert.deepEqual(await Promise.all([p, q]), ['ok', 'ok']);
    assert.deepEqual(receipts, ['p#1', 'q#2']);
  }));

test('a settlement the store cannot be reached for is kept and tried again until it lands; beyond the bound, it fails as before', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-billing-'));
  const store = openSqliteStore(dir);
  try {
    // The store's non-blocking face, as on PostgreSQL, with a switch for "the database is away".
    let away = true;
    let calls = 0;
    const remote = {
      settle: async (job: SettledJob, signing: ReceiptSigning) => {
        calls++;
        if (away) throw new StoreUnavailableError('connect ECONNREFUSED 127.0.0.1:5432');
        return store.settle(job, (credit, total, seq) => buildReceipt(signing, job, credit, total, seq));
      },
    } as unknown as AsyncCoordinatorStore;
    const spooled = new Set<string>();
    const spool = { keep: (job: SettledJob) => void spooled.add(job.jobId), drop: (jobId: string) => void spooled.delete(jobId) };
    const billing = new Billing({ store: Object.assign(Object.create(store) as typeof store, { nonBlocking: remote }), maxDeferred: 3, spool });
    store.deposit('client', 1_000_000_000n, 'd');
    const hold = billing.worstCase('m', 10, 1000, 1, 1);
    store.deposit('poor', hold, 'd-poor');
    const clientOf = (id: string) => (id === 'x' ? 'poor' : 'client');
    for (const id of ['a', 'b', 'x', 'c']) assert.equal(store.reserve(clientOf(id), id, hold, Date.now() + 60_000), 'held');
    const receipts: string[] = [];
    const costs = new Map<string, bigint>();
    billing.on('receipt', (workerId, receipt) => {
      receipts.push(`${workerId}:${receipt.jobId}`);
      costs.set(receipt.jobId, BigInt(receipt.costNanotons));
    });
    const retried = new Map<string, unknown>();
    billing.on('retried', (jobId, error) => retried.set(jobId, error ?? 'landed'));
    const ended = (id: string) => new Promise<unknown>((resolve) => billing.settleSoon(id, clientOf(id), 'm', 'done', [part(`w-${id}`, 100)], resolve));

    const [a, b, x, c] = await Promise.all(['a', 'b', 'x', 'c'].map(ended));
    assert.ok(a instanceof SettlementDeferred && b instanceof SettlementDeferred && x instanceof SettlementDeferred, 'the first three are kept, and their callers told at once');
    assert.ok(c instanceof StoreUnavailableError, 'the fourth is over the bound: it fails as before');
    assert.equal(billing.deferredSettlements, 3);
    assert.deepEqual([...spooled].sort(), ['a', 'b', 'x'], 'the kept ones are on disk too, for a restart');
    assert.deepEqual(receipts, []);
    // Tried again while the store is still away: still kept, callers not told twice.
    const triedBefore = calls;
    while (calls < triedBefore + 2) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(billing.deferredSettlements, 3);

    // The holds of b and x expire and are refunded meanwhile, and the poor client spends its
    // balance again: once the store answers, a lands on its hold, b is charged from its client's
    // balance, and x is refused.
    store.release('b');
    store.release('x');
    assert.equal(store.reserve('poor', 'y', hold, Date.now() + 60_000), 'held');
    const before = store.balance('client');
    away = false;
    while (retried.size < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(retried.get('a'), 'landed');
    assert.equal(retried.get('b'), 'landed');
    assert.match(String(retried.get('x')), /exceeds its hold 0/);
    assert.deepEqual(receipts.sort(), ['w-a:a', 'w-b:b'], 'the workers of a and b paid once; nothing for x, whose client spent its hold');
    assert.equal(store.account('worker:w-a').seq, 1);
    assert.equal(store.account('worker:w-b').seq, 1);
    assert.equal(store.account('worker:w-x').seq, 0);
    // a's hold gave back what a did not cost; b's cost (not its old hold) came from the balance.
    assert.equal(store.balance('client'), before + (hold - costs.get('a')!) - costs.get('b')!);
    assert.equal(store.balance('poor'), 0n);
    assert.deepEqual([...spooled], [], 'landed or refused: forgotten');
    assert.equal(billing.deferredSettlements, 0);
    assert.equal(billing.stopRetrying(), 0);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('settlements kept by the last run are taken up at start: kept while the store is away, settled late once it answers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-billing-'));
  const store = openSqliteStore(dir);
  try {
    let away = true;
    const remote = {
      settle: async (job: SettledJob, signing: ReceiptSigning) => {
        if (away) throw new StoreUnavailableError('connect ECONNREFUSED 127.0.0.1:5432');
        return store.settle(job, (credit, total, seq) => buildReceipt(signing, job, credit, total, seq));
      },
    } as unknown as AsyncCoordinatorStore;
    const spooled = new Set<string>(['kept-1']);
    const billing = new Billing({ store: Object.assign(Object.create(store) as typeof store, { nonBlocking: remote }), spool: { keep: (job) => void spooled.add(job.jobId), drop: (jobId) => void spooled.delete(jobId) } });
    store.deposit('client', 1_000_000n, 'd');
    // The hold of the last run was refunded at start (no job survives a restart).
    const job: SettledJob = { jobId: 'kept-1', clientId: 'client', model: 'm', outcome: 'done', charge: 1_000n, commission: 100n, credits: [{ account: 'worker:w', workerId: 'w', cost: 1_000n, earned: 900n, promptTokens: 1, completionTokens: 2, coefficientMilli: 1000 }] };
    const retried = new Map<string, unknown>();
    billing.on('retried', (jobId, error) => retried.set(jobId, error ?? 'landed'));
    billing.resume([job]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(billing.deferredSettlements, 1, 'kept while the store is away');
    assert.deepEqual([...spooled], ['kept-1'], 'and still on disk');
    away = false;
    while (!retried.has('kept-1')) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(retried.get('kept-1'), 'landed');
    assert.equal(store.balance('client'), 999_000n, 'charged once, from the balance');
    assert.deepEqual(store.account('worker:w'), { account: 'worker:w', cumulative: 900n, seq: 1 });
    assert.deepEqual([...spooled], []);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('checkpointed jobs in flight are billed once at the next start against their holds, kept settlements left to themselves, and then forgotten', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-billing-'));
  try {
    const store = openSqliteStore(dir);
    const billing = new Billing({ store });
    store.deposit('client', 1_000_000_000n, 'd');
    const hold = billing.worstCase('m', 10, 1000, 1, 1);
    for (const id of ['cut-1', 'cut-2', 'kept']) assert.equal(store.reserve('client', id, hold, Date.now() + 60_000), 'held');
    await billing.checkpoint([
      { jobId: 'cut-1', clientId: 'client', model: 'm', parts: [part('w1', 40)] },
      { jobId: 'cut-2', clientId: 'client', model: 'm', parts: [part('w2', 7), part('w3', 3)] },
      { jobId: 'kept', clientId: 'client', model: 'm', parts: [part('w1', 5)] },
    ]);
    // The process dies here: nothing settled. The next start:
    store.close();
    const reopened = openSqliteStore(dir);
    const next = new Billing({ store: reopened });
    const recovered = await next.settleCheckpoints(new Set(['kept']));
    assert.deepEqual(recovered, { settled: 2, refused: [], unreadable: [] });
    const earned = (w: string) => reopened.account(`worker:${w}`).cumulative;
    const cost = (tokens: number) => jobCost(priceOf(next.prices, 'm'), { promptTokens: 10, completionTokens: tokens }, 1);
    assert.equal(earned('w1'), splitCost(cost(40), next.prices.commissionBps).worker, 'w1 paid for cut-1 only');
    assert.ok(earned('w2') > 0n && earned('w3') > 0n);
    assert.deepEqual(reopened.unackedReceipts('w2').map((r) => [r.jobId, r.outcome]), [['cut-2', 'failed']], 'stored, sent when the worker connects');
    assert.deepEqual(reopened.checkpoints(), { jobs: [], unreadable: [] }, 'forgotten');
    assert.deepEqual(reopened.releaseAllHolds(), ['kept'], 'the kept one untouched');
    assert.deepEqual(await next.settleCheckpoints(new Set()), { settled: 0, refused: [], unreadable: [] }, 'nothing twice');
    reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
