/** The coordinator's store: holds, charges, refunds and credits are exact, balanced, bounded and happen once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore, BooksError, MAX_ACCOUNT_NANOTONS } from './sqlite-store.js';
import type { JobReceiptFrame, ReceiptBuilder, SettledJob, WorkerCredit } from './store.js';
import { NEW_IDENTITY_REPUTATION } from './reputation.js';

async function withStore(run: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-store-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const receipt: ReceiptBuilder = (c, total, seq): JobReceiptFrame => ({
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

function credit(account: string, workerId: string, cost: bigint, earned: bigint): WorkerCredit {
  return { account, workerId, cost, earned, promptTokens: 5, completionTokens: 10, coefficientMilli: 1000 };
}

function job(jobId: string, credits: WorkerCredit[], over: Partial<SettledJob> = {}): SettledJob {
  const charge = credits.reduce((s, c) => s + c.cost, 0n);
  return { jobId, clientId: 'c', model: 'm', outcome: 'done', charge, commission: charge - credits.reduce((s, c) => s + c.earned, 0n), credits, ...over };
}

test('every connection runs with WAL and synchronous=FULL', () =>
  withStore((dir) => {
    openSqliteStore(dir).close();
    const db = new Database(join(dir, 'coordinator.sqlite'));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  }));

test('deposits apply once per reference, and are bounded', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
    assert.equal(store.deposit('c', 100n, 'tx-1'), true);
    assert.equal(store.deposit('c', 100n, 'tx-1'), false);
    assert.equal(store.balance('c'), 100n);
    assert.throws(() => store.deposit('c', 0n, 'tx-2'));
    assert.throws(() => store.deposit('c', MAX_ACCOUNT_NANOTONS, 'tx-3'), BooksError, 'a balance past the bound is refused');
    assert.equal(store.balance('c'), 100n);
    store.close();
  }));

test('a hold needs the balance and a fresh job id; settling charges, credits, numbers receipts; once', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
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

test('books that do not balance, or charge more than the hold, are refused and write nothing', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
    store.deposit('c', 1000n, 'd');
    store.reserve('c', 'job-2', 100n, Date.now() + 60_000);
    assert.throws(() => store.settle(job('job-2', [credit('A', 'w', 200n, 180n)]), receipt), /exceeds its hold/);
    assert.throws(() => store.settle(job('job-2', [credit('A', 'w', 50n, 45n)], { commission: 4n }), receipt), /Σ credits/);
    assert.throws(() => store.settle(job('job-2', [credit('A', 'w', 50n, 45n)], { charge: 60n, commission: 15n }), receipt), /Σ credit costs/);
    assert.throws(() => store.settle(job('job-2', [credit('A', 'w', 50n, 51n)]), receipt), /out of bounds/, 'a credit above its cost');
    assert.equal(store.balance('c'), 900n, 'the hold is still there');
    assert.equal(store.account('A').cumulative, 0n);
    assert.deepEqual(store.unackedReceipts('w'), []);
    assert.ok(store.settle(job('job-2', [credit('A', 'w', 50n, 45n)]), receipt));
    assert.equal(store.balance('c'), 950n);
    store.close();
  }));

test('receipts wait for acknowledgement, in order, and survive a restart', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
    for (const id of ['j1', 'j2', 'j3']) store.settle(job(id, [credit('A', 'w', 10n, 9n)], { clientId: 'unmetered' }), receipt);
    assert.deepEqual(store.unackedReceipts('w').map((r) => r.seq), [1, 2, 3]);
    store.ackReceipts('w', 2);
    assert.deepEqual(store.unackedReceipts('w').map((r) => r.seq), [3]);
    store.close();
    const again = openSqliteStore(dir);
    assert.deepEqual(again.unackedReceipts('w').map((r) => r.seq), [3]);
    assert.deepEqual(again.unackedReceipts('w', 3), []);
    again.close();
  }));

test('holds expire, and every hold is refunded at start; state survives reopening', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
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
    const again = openSqliteStore(dir);
    assert.deepEqual(again.releaseAllHolds(), ['job-z']);
    assert.equal(again.balance('c'), 50n);
    assert.deepEqual(again.account('A'), { account: 'A', cumulative: 12n, seq: 2 });
    assert.deepEqual(again.unpushed(10n), [{ account: 'A', cumulative: 12n, seq: 2 }]);
    again.markPushed('A', 12n);
    assert.deepEqual(again.unpushed(1n), []);
    assert.equal(again.getSetting('vault'), 'EQvault');
    again.close();
  }));

test('a worker id is bound to the first identity key that proves it, durably', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
    const first = store.bindWorkerKey('w', 'key-a', 1);
    assert.equal(first.status, 'new');
    assert.equal(first.status === 'new' && first.record.reputation, NEW_IDENTITY_REPUTATION);
    assert.equal(store.bindWorkerKey('w', 'key-a', 2).status, 'known');
    assert.equal(store.bindWorkerKey('w', 'key-b', 3).status, 'mismatch');
    const record = store.workerRecord('w')!;
    store.saveWorkerRecord({ ...record, reputation: 0.7, strikes: 3, ejectedAt: 5 });
    store.close();
    const again = openSqliteStore(dir);
    assert.equal(again.bindWorkerKey('w', 'key-b', 4).status, 'mismatch', 'after a restart too');
    const ejected = again.bindWorkerKey('w', 'key-a', 4);
    assert.equal(ejected.status, 'ejected');
    assert.equal(again.workerRecord('w')?.reputation, 0.7);
    again.recordDispute({ jobId: 'j', workerId: 'w', kind: 'completion_over_count', claimed: 100, counted: 10, at: 9 });
    assert.deepEqual(again.disputes('w'), [{ jobId: 'j', workerId: 'w', kind: 'completion_over_count', claimed: 100, counted: 10, at: 9 }]);
    again.close();
  }));

test('a store created before named migrations adopts them without losing data', () =>
  withStore((dir) => {
    const legacy = new Database(join(dir, 'coordinator.sqlite'));
    legacy.exec(`CREATE TABLE clients (id TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));
      CREATE TABLE deposits (reference TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount INTEGER NOT NULL);
      CREATE TABLE holds (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount INTEGER NOT NULL);
      CREATE TABLE jobs (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, model TEXT NOT NULL, cost INTEGER NOT NULL, settled_at INTEGER NOT NULL);
      CREATE TABLE job_credits (job_id TEXT NOT NULL, account TEXT NOT NULL, worker_id TEXT NOT NULL, earned INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, PRIMARY KEY (job_id, worker_id));
      CREATE TABLE accounts (account TEXT PRIMARY KEY, cumulative INTEGER NOT NULL, seq INTEGER NOT NULL, pushed INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO clients VALUES ('c', 77);
      PRAGMA user_version = 1;`);
    legacy.close();
    const store = openSqliteStore(dir);
    assert.equal(store.balance('c'), 77n);
    assert.equal(store.reserve('c', 'j', 7n, Date.now() + 1000), 'held');
    store.close();
  }));
