/**
 * The CoordinatorStore contract, run against every engine (store-contract.test.ts): holds,
 * charges, refunds and credits are exact, balanced, bounded and happen once; receipts, holds,
 * worker keys and settings survive reopening the store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BooksError, MAX_ACCOUNT_NANOTONS } from './books-check.js';
import { RESEND_BATCH, type CoordinatorStore, type JobReceiptFrame, type ReceiptBuilder, type SettledJob, type WorkerCredit } from './store.js';
import { EJECT_STRIKES, NEW_IDENTITY_REPUTATION } from './reputation.js';
import { PAUSE_DISPUTED, PAUSE_WORKERS, RECEIPT_WINDOW } from './client-receipts.js';

/** One engine under test: `prepare` makes an empty store location; `open` (re)opens a store there. */
export interface StoreEngine {
  name: string;
  /** Why the engine cannot run here (its binary is missing), when it cannot. */
  skip: string | false;
  prepare(): Promise<{ open(): Promise<CoordinatorStore>; cleanup(): Promise<void> }>;
}

async function withStore(engine: StoreEngine, run: (open: () => Promise<CoordinatorStore>) => Promise<void>): Promise<void> {
  const place = await engine.prepare();
  try {
    await run(place.open);
  } finally {
    await place.cleanup();
  }
}

/** Receipt frames as a test builds them. */
export const receipt: ReceiptBuilder = (c, total, seq): JobReceiptFrame => ({
  type: 'job.receipt',
  seq,
  jobId: 'j',
  model: 'm',
  usage: { promptTokens: c.promptTokens, completionTokens: c.completionTokens },
  coefficientMilli: c.coefficientMilli,
  costNanotons: c.cost.toString(),
  earnedNanotons: c.earned.toString(),
  account: total.account,
  cumulativeNanotons: total.cumulative.toString(),
});

/** One worker's credit as a test writes it. */
export function credit(account: string, workerId: string, cost: bigint, earned: bigint): WorkerCredit {
  return { account, workerId, cost, earned, promptTokens: 5, completionTokens: 10, coefficientMilli: 1000 };
}

/** A settled job whose books balance unless `over` says otherwise. */
export function job(jobId: string, credits: WorkerCredit[], over: Partial<SettledJob> = {}): SettledJob {
  const charge = credits.reduce((s, c) => s + c.cost, 0n);
  return { jobId, clientId: 'c', model: 'm', outcome: 'done', charge, commission: charge - credits.reduce((s, c) => s + c.earned, 0n), credits, ...over };
}

/** Registers the contract's tests for one engine. */
export function storeContract(engine: StoreEngine): void {
  test(`${engine.name}: deposits apply once per reference, and are bounded`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      assert.equal(store.deposit('c', 100n, 'tx-1'), true);
      assert.equal(store.deposit('c', 100n, 'tx-1'), false);
      assert.equal(store.balance('c'), 100n);
      assert.throws(() => store.deposit('c', 0n, 'tx-2'));
      assert.throws(() => store.deposit('c', MAX_ACCOUNT_NANOTONS, 'tx-3'), BooksError, 'a balance past the bound is refused');
      assert.equal(store.balance('c'), 100n);
      store.close();
    }));

  test(`${engine.name}: a hold needs the balance and a fresh job id; settling charges, credits, numbers receipts; once`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      store.deposit('c', 1000n, 'd');
      assert.equal(store.reserve('c', 'job-big', 1001n, Date.now() + 60_000), 'short');
      assert.equal(store.balance('c'), 1000n, 'a refused hold takes nothing');
      assert.equal(store.reserve('c', 'job-1', 600n, Date.now() + 60_000), 'held');
      assert.equal(store.reserve('c', 'job-1', 1n, Date.now() + 60_000), 'duplicate');
      assert.equal(store.balance('c'), 400n);
      const frames = store.settle(job('job-1', [credit('EQaddr', 'w1', 200n, 180n)]), receipt);
      assert.equal(frames?.length, 1);
      assert.equal(frames?.[0]?.seq, 1);
      assert.equal(frames?.[0]?.cumulativeNanotons, '180');
      assert.equal(store.balance('c'), 800n);
      assert.equal(store.settle(job('job-1', [credit('EQaddr', 'w1', 200n, 180n)]), receipt), undefined, 'a second settle of the same job does nothing');
      assert.equal(store.balance('c'), 800n);
      assert.deepEqual(store.account('EQaddr'), { account: 'EQaddr', cumulative: 180n, seq: 1 });
      assert.equal(store.reserve('c', 'job-1', 1n, Date.now() + 60_000), 'duplicate', 'a settled job id is never held again');
      assert.equal(store.jobIdUsed('job-1'), true);
      store.close();
    }));

  test(`${engine.name}: a job split between workers: each credit carries its account's running total and number, each worker its own next receipt`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      store.settle(job('before', [credit('A', 'w1', 10n, 9n)], { clientId: 'unmetered' }), receipt);
      store.deposit('c', 10_000n, 'd');
      assert.equal(store.reserve('c', 'split', 1_000n, Date.now() + 60_000), 'held');
      const built: [string, string, number, string, number][] = [];
      const frames = store.settle(job('split', [credit('A', 'w2', 100n, 90n), credit('B', 'w3', 50n, 45n), credit('A', 'w4', 30n, 27n)]), (c, total, seq) => {
        built.push([c.workerId, total.account, total.seq, total.cumulative.toString(), seq]);
        return receipt(c, total, seq);
      });
      assert.deepEqual(built, [
        ['w2', 'A', 2, '99', 1],
        ['w3', 'B', 1, '45', 1],
        ['w4', 'A', 3, '126', 1],
      ]);
      assert.deepEqual(frames?.map((f) => [f.account, f.cumulativeNanotons]), [
        ['A', '99'],
        ['B', '45'],
        ['A', '126'],
      ]);
      assert.deepEqual(store.account('A'), { account: 'A', cumulative: 126n, seq: 3 });
      assert.deepEqual(store.account('B'), { account: 'B', cumulative: 45n, seq: 1 });
      assert.equal(store.balance('c'), 10_000n - 180n, 'charged the three parts, the rest of the hold refunded');
      assert.deepEqual(store.unackedReceipts('w1').map((r) => r.seq), [1]);
      assert.deepEqual(store.unackedReceipts('w4').map((r) => r.cumulativeNanotons), ['126']);
      assert.equal(store.settle(job('split', [credit('A', 'w2', 100n, 90n)]), receipt), undefined, 'once');
      store.close();
    }));

  test(`${engine.name}: a job with no credit settles once, with no receipt`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      assert.deepEqual(store.settle(job('nothing-billed', [], { clientId: 'unmetered' }), receipt), [], 'settled now: no receipt to send');
      assert.equal(store.settle(job('nothing-billed', [], { clientId: 'unmetered' }), receipt), undefined, 'settled before');
      assert.equal(store.jobIdUsed('nothing-billed'), true);
      store.close();
    }));

  test(`${engine.name}: books that do not balance, or charge more than the hold, are refused and write nothing`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      store.deposit('c', 1000n, 'd');
      store.reserve('c', 'job-2', 100n, Date.now() + 60_000);
      assert.throws(() => store.settle(job('job-2', [credit('A', 'w', 200n, 180n)]), receipt), /exceeds its hold/);
      assert.throws(() => store.settle(job('job-2', [credit('A', 'w', 50n, 45n)], { commission: 4n }), receipt), /Σ credits/);
      assert.throws(() => store.settle(job('job-2', [credit('A', 'w', 50n, 45n)], { charge: 60n, commission: 15n }), receipt), /Σ credit costs/);
      assert.throws(() => store.settle(job('job-2', [credit('A', 'w', 50n, 51n)]), receipt), /out of bounds/, 'a credit above its cost');
      assert.throws(() => store.settle(job('job-2', [credit('A', 'w', 20n, 18n), credit('B', 'w', 30n, 27n)]), receipt), /worker w is credited twice/);
      assert.equal(store.balance('c'), 900n, 'the hold is still there');
      assert.equal(store.account('A').cumulative, 0n);
      assert.deepEqual(store.unackedReceipts('w'), []);
      assert.ok(store.settle(job('job-2', [credit('A', 'w', 50n, 45n)]), receipt));
      assert.equal(store.balance('c'), 950n);
      store.close();
    }));

  test(`${engine.name}: a late settlement whose hold expired is charged from the balance when it covers it, and refused when not`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      store.deposit('c', 1000n, 'd');
      for (const id of ['late-1', 'late-2', 'late-3']) assert.equal(store.reserve('c', id, 100n, 1_000), 'held');
      assert.deepEqual(store.releaseExpiredHolds(Date.now()).sort(), ['late-1', 'late-2', 'late-3']);
      assert.equal(store.balance('c'), 1000n);
      // Without the flag a settlement whose hold is gone is refused, as before.
      assert.throws(() => store.settle(job('late-1', [credit('A', 'w', 60n, 54n)]), receipt), /exceeds its hold 0/);
      // Late: the charge (not the old hold) comes from the balance, once; the worker is paid.
      const first = store.settle(job('late-1', [credit('A', 'w', 60n, 54n)], { late: true }), receipt);
      assert.equal(first?.length, 1);
      assert.equal(store.balance('c'), 940n);
      assert.deepEqual(store.account('A'), { account: 'A', cumulative: 54n, seq: 1 });
      assert.equal(store.settle(job('late-1', [credit('A', 'w', 60n, 54n)], { late: true }), receipt), undefined, 'settled before: nothing twice');
      assert.equal(store.balance('c'), 940n);
      // The client spent the rest meanwhile: nothing is taken, the worker is not credited.
      assert.equal(store.reserve('c', 'spend', 900n, Date.now() + 60_000), 'held');
      assert.throws(() => store.settle(job('late-2', [credit('A', 'w', 60n, 54n)], { late: true }), receipt), /exceeds its hold 0/);
      assert.equal(store.balance('c'), 40n);
      assert.equal(store.account('A').cumulative, 54n);
      // A late settlement whose hold is still there settles against it, the rest refunded.
      assert.equal(store.reserve('c', 'late-4', 30n, Date.now() + 60_000), 'held');
      assert.ok(store.settle(job('late-4', [credit('A', 'w', 20n, 18n)], { late: true }), receipt));
      assert.equal(store.balance('c'), 20n);
      // Unmetered jobs hold nothing, late or not.
      assert.ok(store.settle(job('late-5', [credit('A', 'w', 5n, 4n)], { clientId: 'unmetered', late: true }), receipt));
      assert.equal(store.balance('c'), 20n);
      assert.deepEqual(store.account('A'), { account: 'A', cumulative: 76n, seq: 3 });
      assert.deepEqual(store.releaseExpiredHolds(Date.now()), [], 'no hold taken again outlives its settlement');
      store.close();
    }));

  test(`${engine.name}: a hold kept longer (a settlement waiting on a spot check) outlives its first expiry, and is never shortened`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      store.deposit('c', 1000n, 'd');
      const now = Date.now();
      assert.equal(store.reserve('c', 'kept', 100n, now - 1), 'held');
      assert.equal(store.reserve('c', 'not-kept', 100n, now - 1), 'held');
      assert.equal(store.extendHold('kept', now + 60_000), true);
      assert.equal(store.extendHold('kept', now + 1_000), true, 'an earlier time leaves it as it is');
      assert.equal(store.extendHold('never-held', now + 60_000), false, 'no hold, nothing kept');
      assert.deepEqual(store.releaseExpiredHolds(now), ['not-kept'], 'the kept hold is not swept at its first expiry');
      assert.equal(store.reserve('c', 'spend-too-much', 901n, now + 60_000), 'short', 'the client cannot spend what is kept');
      assert.equal(store.reserve('c', 'spend', 900n, now + 60_000), 'held', 'it spends all the rest');
      assert.deepEqual(store.releaseExpiredHolds(now + 30_000), [], 'nor at a time before the later one');
      assert.ok(store.settle(job('kept', [credit('A', 'w', 60n, 54n)], { late: true }), receipt), 'the worker is paid against the hold');
      assert.equal(store.balance('c'), 40n, 'what the job did not cost went back');
      assert.deepEqual(store.account('A'), { account: 'A', cumulative: 54n, seq: 1 });
      assert.equal(store.extendHold('kept', now + 120_000), false, 'a settled job holds nothing');
      store.close();
    }));

  test(`${engine.name}: a job id whose hold was given back whole (released, expired, at start) is never held again, and its late settlement lands once`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      store.deposit('c', 1000n, 'd');
      assert.equal(store.reserve('c', 'gone-released', 100n, Date.now() + 60_000), 'held');
      assert.equal(store.reserve('c', 'gone-expired', 100n, 1_000), 'held');
      assert.equal(store.reserve('c', 'gone-at-start', 100n, Date.now() + 60_000), 'held');
      store.release('gone-released');
      assert.deepEqual(store.releaseExpiredHolds(Date.now()), ['gone-expired']);
      assert.deepEqual(store.releaseAllHolds(), ['gone-at-start']);
      assert.equal(store.balance('c'), 1000n, 'every hold given back');
      for (const id of ['gone-released', 'gone-expired', 'gone-at-start']) {
        assert.equal(store.jobIdUsed(id), true, id);
        assert.equal(store.reserve('c', id, 500n, Date.now() + 60_000), 'duplicate', `${id} cannot be taken by another job`);
      }
      assert.equal(store.balance('c'), 1000n, 'a refused hold takes nothing');
      // The settlement kept for the expired job still lands, charged from the balance, once.
      assert.ok(store.settle(job('gone-expired', [credit('A', 'w', 60n, 54n)], { late: true }), receipt));
      assert.equal(store.settle(job('gone-expired', [credit('A', 'w', 60n, 54n)], { late: true }), receipt), undefined);
      assert.equal(store.balance('c'), 940n);
      assert.deepEqual(store.account('A'), { account: 'A', cumulative: 54n, seq: 1 });
      assert.equal(store.reserve('c', 'fresh', 100n, Date.now() + 60_000), 'held', 'a fresh id is held as before');
      store.close();
    }));

  test(`${engine.name}: checkpoints of jobs in flight: each call replaces the last, they survive a restart, and they settle once`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      store.deposit('c', 1000n, 'd');
      for (const id of ['cp-1', 'cp-2']) assert.equal(store.reserve('c', id, 300n, Date.now() + 60_000), 'held');
      const early = job('cp-1', [credit('A', 'w', 20n, 18n)], { outcome: 'failed' });
      store.checkpoint([early, job('cp-2', [credit('A', 'w', 5n, 4n)], { outcome: 'failed' })]);
      const later = job('cp-1', [credit('A', 'w', 110n, 99n)], { outcome: 'failed' });
      store.checkpoint([later]);
      assert.deepEqual(store.checkpoints(), { jobs: [later], unreadable: [] }, 'the last call only: cp-2 ended meanwhile');
      store.close();
      const reopened = await open();
      const found = reopened.checkpoints();
      assert.deepEqual(found, { jobs: [later], unreadable: [] }, 'as written, amounts exact');
      assert.equal(reopened.settle(found.jobs[0]!, receipt)?.[0]?.cumulativeNanotons, '99');
      assert.equal(reopened.settle(found.jobs[0]!, receipt), undefined, 'once');
      reopened.checkpoint([]);
      assert.deepEqual(reopened.checkpoints(), { jobs: [], unreadable: [] });
      assert.deepEqual(reopened.releaseAllHolds(), ['cp-2']);
      assert.equal(reopened.balance('c'), 1000n - 110n);
      reopened.close();
    }));

  test(`${engine.name}: settlements grouped in one commit: a refused one undoes only itself, and the rest survive a restart`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      store.deposit('c', 1000n, 'd');
      for (const id of ['g-1', 'g-2', 'g-3']) store.reserve('c', id, 100n, Date.now() + 60_000);
      const outcomes = store.group(() =>
        ['g-1', 'g-2', 'g-3'].map((id) => {
          try {
            // g-2 charges more than its hold: refused.
            return store.settle(job(id, [credit('G', 'w', id === 'g-2' ? 200n : 50n, 45n)]), receipt)?.length;
          } catch (error) {
            return error instanceof BooksError ? 'refused' : error;
          }
        }),
      );
      assert.deepEqual(outcomes, [1, 'refused', 1]);
      store.close();
      const reopened = await open();
      assert.deepEqual(reopened.account('G'), { account: 'G', cumulative: 90n, seq: 2 }, 'both good settlements committed, numbered without a gap');
      assert.equal(reopened.jobIdUsed('g-2'), true, 'g-2 is still held');
      assert.equal(reopened.settle(job('g-2', [credit('G', 'w', 50n, 45n)]), receipt)?.[0]?.seq, 3, 'and settles later');
      assert.equal(reopened.balance('c'), 1000n - 150n);
      reopened.close();
    }));

  test(`${engine.name}: receipts wait for acknowledgement, in order, and survive a restart`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      for (const id of ['j1', 'j2', 'j3']) store.settle(job(id, [credit('A', 'w', 10n, 9n)], { clientId: 'unmetered' }), receipt);
      assert.deepEqual(store.unackedReceipts('w').map((r) => r.seq), [1, 2, 3]);
      store.ackReceipts('w', 2);
      assert.deepEqual(store.unackedReceipts('w').map((r) => r.seq), [3]);
      store.close();
      const again = await open();
      assert.deepEqual(again.unackedReceipts('w').map((r) => r.seq), [3]);
      assert.deepEqual(again.unackedReceipts('w', 3), []);
      again.close();
    }));

  test(`${engine.name}: unacknowledged receipts are read a batch at a time, oldest first; the next batch follows the last one read`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      for (let i = 1; i <= RESEND_BATCH + 2; i++) store.settle(job(`b${i}`, [credit('A', 'w', 10n, 9n)], { clientId: 'unmetered' }), receipt);
      const first = store.unackedReceipts('w');
      assert.equal(first.length, RESEND_BATCH);
      assert.deepEqual([first[0]?.seq, first.at(-1)?.seq], [1, RESEND_BATCH]);
      assert.deepEqual(store.unackedReceipts('w', RESEND_BATCH).map((r) => r.seq), [RESEND_BATCH + 1, RESEND_BATCH + 2]);
      store.close();
    }));

  test(`${engine.name}: holds expire, and every hold is refunded at start; state survives reopening`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      store.deposit('c', 50n, 'd');
      store.reserve('c', 'job-x', 20n, 1_000);
      store.reserve('c', 'job-y', 30n, Date.now() + 60_000);
      assert.deepEqual(store.releaseExpiredHolds(Date.now()), ['job-x']);
      assert.equal(store.balance('c'), 20n);
      store.release('job-y');
      store.release('job-y');
      assert.equal(store.balance('c'), 50n);
      store.reserve('c', 'job-z', 50n, Date.now() + 60_000);
      store.settle(job('j2', [credit('A', 'w', 8n, 7n)], { clientId: 'unmetered' }), receipt);
      store.settle(job('j3', [credit('A', 'w', 6n, 5n)], { clientId: 'unmetered' }), receipt);
      store.setSetting('vault', 'EQvault');
      store.close();
      const again = await open();
      assert.deepEqual(again.releaseAllHolds(), ['job-z']);
      assert.equal(again.balance('c'), 50n);
      assert.deepEqual(again.account('A'), { account: 'A', cumulative: 12n, seq: 2 });
      assert.deepEqual(again.unpushed(10n), [{ account: 'A', cumulative: 12n, seq: 2 }]);
      again.markPushed('A', 12n);
      assert.deepEqual(again.unpushed(1n), []);
      assert.equal(again.getSetting('vault'), 'EQvault');
      again.close();
    }));

  test(`${engine.name}: a worker id is bound to the first identity key that proves it, durably`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      const first = store.bindWorkerKey('w', 'key-a', 1);
      assert.equal(first.status, 'new');
      assert.equal(first.status === 'new' && first.record.reputation, NEW_IDENTITY_REPUTATION);
      assert.equal(store.bindWorkerKey('w', 'key-a', 2).status, 'known');
      assert.equal(store.bindWorkerKey('w', 'key-b', 3).status, 'mismatch');
      let ejectedRecord = store.workerRecord('w')!;
      for (let strike = 0; strike < EJECT_STRIKES; strike++) ejectedRecord = store.recordWorkerEvent('w', 'verify_failed', 5)!.after;
      assert.equal(ejectedRecord.ejectedAt, 5);
      store.close();
      const again = await open();
      assert.equal(again.bindWorkerKey('w', 'key-b', 4).status, 'mismatch', 'after a restart too');
      const ejected = again.bindWorkerKey('w', 'key-a', 4);
      assert.equal(ejected.status, 'ejected');
      assert.equal(again.workerRecord('w')?.reputation, ejectedRecord.reputation);
      again.recordDispute({ jobId: 'j', workerId: 'w', kind: 'completion_over_count', claimed: 100, counted: 10, at: 9 });
      assert.deepEqual(again.disputes('w'), [{ jobId: 'j', workerId: 'w', kind: 'completion_over_count', claimed: 100, counted: 10, at: 9 }]);
      again.close();
    }));

  test(`${engine.name}: a worker's events apply to its stored record in one call; an ejection survives a restart`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      assert.equal(store.recordWorkerEvent('nobody', 'clean', 1), undefined, 'an id never bound has no record to move');
      store.bindWorkerKey('w', 'key-a', 1);
      const clean = store.recordWorkerEvent('w', 'clean', 2, { ttftMs: 40, tokensPerSecond: 90 })!;
      assert.equal(clean.before.cleanJobs, 0);
      assert.deepEqual([clean.after.cleanJobs, clean.after.ttftMs, clean.after.tokensPerSecond], [1, 40, 90]);
      assert.ok(clean.after.reputation > clean.before.reputation);
      assert.deepEqual(store.workerRecord('w'), clean.after, 'what it returns is what it stored');
      let last = clean.after;
      for (let at = 3; at < 3 + EJECT_STRIKES; at++) {
        const step = store.recordWorkerEvent('w', 'verify_failed', at)!;
        assert.deepEqual(step.before, last, 'each event starts from the previous one');
        last = step.after;
      }
      assert.equal(last.ejectedAt, 2 + EJECT_STRIKES, 'ejected at the last strike');
      store.close();
      const again = await open();
      assert.deepEqual(again.workerRecord('w'), last);
      assert.equal(again.bindWorkerKey('w', 'key-a', 99).status, 'ejected');
      // The operator takes it back: no strikes, a newcomer's reputation, history kept, durably.
      assert.equal(again.reinstateWorker('nobody'), undefined, 'an unknown id');
      const reinstated = again.reinstateWorker('w')!;
      assert.deepEqual(reinstated, { ...last, ejectedAt: null, strikes: 0, reputation: NEW_IDENTITY_REPUTATION });
      assert.equal(again.reinstateWorker('w'), undefined, 'only an ejected worker is reinstated');
      again.close();
      const third = await open();
      assert.deepEqual(third.workerRecord('w'), reinstated);
      assert.equal(third.bindWorkerKey('w', 'key-a', 100).status, 'known', 'its hello is accepted again');
      assert.equal(third.bindWorkerKey('w', 'key-b', 100).status, 'mismatch', 'with its own key only');
      third.close();
    }));

  test(`${engine.name}: client receipts count once per job; enough disputed by enough workers pause them, durably, until resumed`, { skip: engine.skip }, () =>
    withStore(engine, async (open) => {
      const store = await open();
      let at = 1;
      const record = (clientId: string, jobId: string, disputedBy: string | null) => store.recordClientReceipt({ jobId, clientId, disputedBy, at: at++ });
      // One worker disputing every receipt pauses nothing; undisputed receipts count as such.
      for (let i = 0; i < PAUSE_DISPUTED + 5; i++) assert.equal(record('honest', `h-${i}`, 'one-worker').paused, false);
      assert.deepEqual(record('honest', 'h-clean', null), { paused: false, newlyPaused: false, disputed: PAUSE_DISPUTED + 5, workers: 1 });
      // Several workers: paused at the PAUSE_DISPUTED-th disputed receipt, not before.
      const workers = Array.from({ length: PAUSE_WORKERS }, (_, i) => `w-${i}`);
      for (let i = 0; i < PAUSE_DISPUTED - 1; i++) assert.equal(record('liar', `l-${i}`, workers[i % workers.length]!).paused, false, `receipt ${i + 1}`);
      assert.deepEqual(record('liar', 'l-last', workers[0]!), { paused: true, newlyPaused: true, disputed: PAUSE_DISPUTED, workers: PAUSE_WORKERS });
      const pausedAt = at - 1;
      // The same job again changes nothing; later receipts keep it paused, not newly.
      assert.deepEqual(record('liar', 'l-last', workers[0]!), { paused: true, newlyPaused: false, disputed: PAUSE_DISPUTED, workers: PAUSE_WORKERS });
      assert.equal(record('liar', 'l-more', null).newlyPaused, false);
      assert.equal(store.receiptsPausedAt('liar'), pausedAt);
      assert.equal(store.receiptsPausedAt('honest'), undefined);
      assert.deepEqual(store.receiptPauses(), [{ clientId: 'liar', pausedAt, disputed: PAUSE_DISPUTED, workers: PAUSE_WORKERS }]);
      store.close();
      const again = await open();
      assert.equal(again.receiptsPausedAt('liar'), pausedAt, 'a pause survives a restart');
      assert.equal(again.resumeReceipts('honest', at), false, 'only a paused client is resumed');
      assert.equal(again.resumeReceipts('liar', at++), true);
      assert.equal(again.receiptsPausedAt('liar'), undefined);
      assert.deepEqual(again.receiptPauses(), []);
      // Judged afresh: the receipts before the resume no longer count.
      assert.deepEqual(again.recordClientReceipt({ jobId: 'l-after', clientId: 'liar', disputedBy: workers[1]!, at: at++ }), { paused: false, newlyPaused: false, disputed: 1, workers: 1 });
      // The window is the latest RECEIPT_WINDOW receipts: enough clean ones push old disputes out.
      for (let i = 0; i < RECEIPT_WINDOW; i++) again.recordClientReceipt({ jobId: `h-later-${i}`, clientId: 'honest', disputedBy: null, at: at++ });
      assert.equal(again.recordClientReceipt({ jobId: 'h-last', clientId: 'honest', disputedBy: null, at: at++ }).disputed, 0);
      again.close();
    }));
}
