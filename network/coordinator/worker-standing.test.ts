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
import type Database from 'better-sqlite3';
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

test('on SQLite, an event or a dispute the disk could not take is kept, not thrown at the job that caused it, and recorded once the disk takes writes again', async () => {
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
    assert.equal(standing.keptWrites, 2);
    assert.equal(store.workerRecord('w')?.cleanJobs, 0);
    db.pragma('query_only = OFF');
    await until(() => standing.keptWrites === 0, 'the kept writes to land');
    assert.equal(store.workerRecord('w')?.cleanJobs, 1, 'counted once');
    assert.deepEqual(store.disputes('w').map((d) => [d.jobId, d.at]), [['job-2', happened]]);
    assert.deepEqual(logs, [], 'nothing failed for good');
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
