/**
 * A worker's standing while the shared store cannot be reached: an event or a dispute whose call
 * never reached the database is kept and made again until it lands, once, with the time it
 * happened; one cut off during its call (it may have been recorded) is logged and dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SettlementSpool, SPOOL_FILE, type StandingWrite } from './settlement-spool.js';
import { openSqliteStore } from './sqlite-store.js';
import { StoreUnavailableError, type AsyncCoordinatorStore, type Dispute } from './store.js';
import { WorkerRegistry } from './worker-registry.js';
import { WorkerStanding } from './worker-standing.js';
import { createLogger } from './log.js';
import type { ReputationEvent } from './reputation.js';

async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 5_000; !check(); await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
  }
}

test('events and disputes that never reached the store are kept and recorded once it answers; one cut off mid-call is dropped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-standing-'));
  const store = openSqliteStore(dir);
  try {
    // The store's non-blocking face, as on PostgreSQL: away (nothing reached it), cut mid-call, or answering.
    let state: 'away' | 'cut' | 'up' = 'away';
    const calls: string[] = [];
    const fail = () => {
      throw state === 'away' ? new StoreUnavailableError('connect ECONNREFUSED 127.0.0.1:5432', true) : new StoreUnavailableError('Connection terminated unexpectedly');
    };
    const remote = {
      recordWorkerEvent: async (workerId: string, event: ReputationEvent, now: number) => {
        calls.push(`${event}@${now}`);
        if (state !== 'up') fail();
        return store.recordWorkerEvent(workerId, event, now);
      },
      recordDispute: async (dispute: Dispute) => {
        calls.push(`dispute ${dispute.jobId}`);
        if (state !== 'up') fail();
        store.recordDispute(dispute);
      },
    } as unknown as AsyncCoordinatorStore;
    const logs: string[] = [];
    const logger = createLogger('test', { level: 'error', destination: { write: (line: string) => void logs.push(line) } });
    const standing = new WorkerStanding(Object.assign(Object.create(store) as typeof store, { nonBlocking: remote }), new WorkerRegistry(), logger);
    store.bindWorkerKey('w', 'key-w', 1_000);

    standing.record('w', 'clean');
    const happened = Date.now();
    standing.dispute({ jobId: 'job-1', workerId: 'w', kind: 'completion_tokens', claimed: 50, counted: 40, at: happened });
    await until(() => standing.keptWrites === 2, 'both writes to be kept');
    // Cut off during its call, this one may have been recorded already: not made again.
    state = 'cut';
    standing.record('w', 'cut_off');
    await until(() => logs.some((line) => line.includes('recording a worker event failed')), 'the cut-off event to be reported');
    assert.equal(standing.keptWrites, 2);

    state = 'up';
    await until(() => standing.keptWrites === 0 && store.disputes('w').length > 0, 'the kept writes to land');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const record = store.workerRecord('w')!;
    assert.equal(record.cleanJobs, 1, 'the clean job counted once');
    assert.equal(record.cutoffs, 0, 'the event cut off mid-call was not made again');
    assert.deepEqual(
      store.disputes('w').map((d) => [d.jobId, d.claimed, d.counted, d.at]),
      [['job-1', 50, 40, happened]],
      'the dispute on file once, with the time it happened',
    );
    const cleanTries = calls.filter((c) => c.startsWith('clean@'));
    assert.ok(cleanTries.length >= 2 && new Set(cleanTries).size === 1, `made again with the time it happened (${cleanTries.join(', ')})`);
    assert.equal(standing.stopRetrying(), 0);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('on SQLite, an event, a dispute or a client receipt the disk could not take is kept, not thrown at the job that caused it, and recorded once the disk takes writes again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-standing-'));
  const store = openSqliteStore(dir);
  try {
    const logs: string[] = [];
    const logger = createLogger('test', { level: 'error', destination: { write: (line: string) => void logs.push(line) } });
    const standing = new WorkerStanding(store, new WorkerRegistry(), logger);
    store.bindWorkerKey('w', 'key-w', 1_000);
    const db = (store as unknown as { db: Database.Database }).db;
    db.pragma('query_only = ON');
    const happened = Date.now();
    assert.doesNotThrow(() => standing.record('w', 'clean'));
    assert.doesNotThrow(() => standing.dispute({ jobId: 'job-2', workerId: 'w', kind: 'completion_tokens', claimed: 9, counted: 7, at: happened }));
    assert.doesNotThrow(() => standing.clientReceipt({ jobId: 'job-3', clientId: 'c', disputedBy: 'w', at: happened }));
    assert.equal(standing.keptWrites, 3);
    assert.equal(store.workerRecord('w')?.cleanJobs, 0);
    db.pragma('query_only = OFF');
    await until(() => standing.keptWrites === 0, 'the kept writes to land');
    assert.equal(store.workerRecord('w')?.cleanJobs, 1, 'counted once');
    assert.deepEqual(store.disputes('w').map((d) => [d.jobId, d.at]), [['job-2', happened]]);
    assert.equal(store.recordClientReceipt({ jobId: 'job-4', clientId: 'c', disputedBy: 'w', at: happened + 1 }).disputed, 2, 'the kept receipt counts');
    assert.deepEqual(logs, [], 'nothing failed for good');
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('kept writes go to the spool file: marked begun while a try is under way, gone once landed; a stop mid-try leaves them begun, and the next start drops them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-standing-'));
  const store = openSqliteStore(dir);
  const spool = SettlementSpool.open(dir);
  const raw = new Database(join(dir, SPOOL_FILE), { readonly: true });
  const fileRows = () => raw.prepare('SELECT begun FROM kept_standing ORDER BY id').all().map((r) => (r as { begun: number }).begun);
  try {
    let state: 'away' | 'hang' | 'up' = 'away';
    let tries = 0;
    const remote = {
      recordWorkerEvent: async (workerId: string, event: ReputationEvent, now: number) => {
        tries++;
        if (state === 'away') throw new StoreUnavailableError('connect ECONNREFUSED 127.0.0.1:5432', true);
        if (state === 'hang') return new Promise<never>(() => undefined);
        return store.recordWorkerEvent(workerId, event, now);
      },
    } as unknown as AsyncCoordinatorStore;
    const logger = createLogger('test', { level: 'silent' });
    const face = Object.assign(Object.create(store) as typeof store, { nonBlocking: remote });
    const standingSpool = { keep: (w: StandingWrite) => spool.keepStanding(w), begin: (ids: readonly number[]) => spool.beginStanding(ids), end: (done: readonly number[], again: readonly number[]) => spool.endStanding(done, again) };
    store.bindWorkerKey('w', 'key-w', 1_000);

    const first = new WorkerStanding(face, new WorkerRegistry(), logger, standingSpool);
    first.record('w', 'clean');
    first.record('w', 'lost');
    await until(() => first.keptWrites === 2, 'both events to be kept');
    assert.deepEqual(fileRows(), [0, 0], 'on disk, not begun');
    // A try that never reaches the database leaves them as they were.
    await until(() => tries >= 4 && first.keptWrites === 2, 'a round of tries to fail');
    assert.deepEqual(fileRows(), [0, 0], 'unmarked again after the round');
    // The next try hangs (the instance stops during it): both stay begun.
    state = 'hang';
    await until(() => first.keptWrites === 0 && fileRows().every((b) => b === 1), 'a round to begin');
    first.stopRetrying();

    // The next start: the begun writes are dropped (they may have been recorded), nothing is made twice.
    const found = spool.takeUpStanding();
    assert.equal(found.begun, 2);
    assert.deepEqual(found.writes, []);

    // Kept again, then landed: gone from the file, recorded once.
    state = 'away';
    const second = new WorkerStanding(face, new WorkerRegistry(), logger, standingSpool);
    second.record('w', 'clean');
    await until(() => second.keptWrites === 1, 'the event to be kept');
    state = 'up';
    await until(() => second.keptWrites === 0 && fileRows().length === 0, 'the event to land and leave the file');
    assert.equal(store.workerRecord('w')?.cleanJobs, 1);
    assert.equal(store.workerRecord('w')?.lostJobs, 0, 'the dropped one was not made');
    second.stopRetrying();
  } finally {
    raw.close();
    spool.close();
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('closing waits for a round of kept writes under way: one that ends unreached is unmarked in the spool, for the next start to make', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-standing-'));
  const store = openSqliteStore(dir);
  try {
    let answer: (() => void) | undefined;
    let tries = 0;
    const remote = {
      // The first try fails at once; the second is under way when the coordinator closes, and then fails unreached.
      recordWorkerEvent: () => {
        tries++;
        if (tries === 1) return Promise.reject(new StoreUnavailableError('connect ECONNREFUSED 127.0.0.1:5432', true));
        return new Promise((_, reject) => (answer = () => reject(new StoreUnavailableError('connect ECONNREFUSED 127.0.0.1:5432', true))));
      },
    } as unknown as AsyncCoordinatorStore;
    const marks: string[] = [];
    const spool = { keep: () => 7, begin: (ids: readonly number[]) => void marks.push(`begin ${ids.join()}`), end: (done: readonly number[], again: readonly number[]) => void marks.push(`end done=${done.join()} again=${again.join()}`) };
    const standing = new WorkerStanding(Object.assign(Object.create(store) as typeof store, { nonBlocking: remote }), new WorkerRegistry(), createLogger('test', { level: 'silent' }), spool);
    standing.record('w', 'clean');
    await until(() => tries === 2, 'the retry to be under way');
    assert.deepEqual(marks, ['begin 7']);
    const closing = standing.roundEnded(5_000);
    setTimeout(() => answer?.(), 50);
    await closing;
    assert.deepEqual(marks, ['begin 7', 'end done= again=7'], 'unmarked, not left begun (the next start would drop it)');
    assert.equal(standing.stopRetrying(), 1);
    await standing.roundEnded(10); // nothing under way: returns at once
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
