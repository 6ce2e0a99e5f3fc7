/**
 * Two PostgreSQL store instances on one database, racing as two coordinator instances would:
 * no overdraft, no double credit, a worker's receipt numbers unique, books re-checked, and the
 * holds of an instance that died recovered by the other. Needs `postgres` (skipped, with the
 * reason, only where its binaries are missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testPostgres } from '../node-kit/test-postgres.js';
import { BooksError } from './books-check.js';
import { openPgStore, type PgStore } from './pg-store.js';
import { credit, job, receipt } from './store-contract.js';

const { skip, database } = testPostgres('PostgreSQL store concurrency');

/** The database twoInstances() made last. */
let lastDatabase = '';

/** Two instances on a fresh database. */
async function twoInstances(): Promise<[PgStore, PgStore]> {
  const url = (lastDatabase = await database('race'));
  // Opened together: the migration runs once under its advisory lock.
  return Promise.all([openPgStore({ url, instanceId: 'a', poolSize: 6 }), openPgStore({ url, instanceId: 'b', poolSize: 6 })]);
}

test('holds racing from two instances never overdraw a balance', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.deposit('c', 1000n, 'd1');
    const attempts = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).reserve('c', `job-${i}`, 30n, Date.now() + 60_000));
    const results = await Promise.all(attempts);
    const held = results.filter((r) => r === 'held').length;
    assert.equal(held, 33, 'exactly as many 30-nanoton holds as 1000 covers');
    assert.equal(results.filter((r) => r === 'short').length, 27);
    assert.equal(await b.balance('c'), 10n);
    // The same job id from both instances at once: one hold.
    await a.deposit('c', 100n, 'd2');
    const twice = await Promise.all([a.reserve('c', 'same', 5n, Date.now() + 60_000), b.reserve('c', 'same', 5n, Date.now() + 60_000)]);
    assert.deepEqual([...twice].sort(), ['duplicate', 'held']);
    assert.equal(await a.balance('c'), 105n);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a job settled by both instances at once is credited once; receipt numbers stay unique per worker', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.deposit('c', 10_000n, 'd');
    const ids = Array.from({ length: 30 }, (_, i) => `job-${i}`);
    for (const id of ids) assert.equal(await (id.endsWith('1') ? b : a).reserve('c', id, 100n, Date.now() + 60_000), 'held');
    const settled = await Promise.all(ids.flatMap((id) => [a.settle(job(id, [credit('EQacc', 'w', 50n, 45n)]), receipt), b.settle(job(id, [credit('EQacc', 'w', 50n, 45n)]), receipt)]));
    const frames = settled.filter((f) => f !== undefined).flat();
    assert.equal(frames.length, 30, 'one settlement per job');
    assert.deepEqual(frames.map((f) => f.seq).sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.deepEqual(await b.account('EQacc'), { account: 'EQacc', cumulative: 30n * 45n, seq: 30 });
    assert.equal(await a.balance('c'), 10_000n - 30n * 50n, 'each charged 50 and refunded the rest of its hold, once');
    assert.deepEqual((await a.unackedReceipts('w')).map((r) => r.seq), Array.from({ length: 30 }, (_, i) => i + 1));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('unbalanced books are refused on PostgreSQL and write nothing', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.deposit('c', 100n, 'd');
    await a.reserve('c', 'j', 60n, Date.now() + 60_000);
    await assert.rejects(b.settle(job('j', [credit('A', 'w', 50n, 45n)], { commission: 4n }), receipt), BooksError);
    await assert.rejects(b.settle(job('j', [credit('A', 'w', 70n, 60n)]), receipt), /exceeds its hold/);
    assert.equal(await a.jobIdUsed('j'), true, 'still held');
    assert.equal((await a.account('A')).cumulative, 0n);
    assert.equal(await a.balance('c'), 40n);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("a dead instance's holds are recovered by the other; a restart releases only its own", { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.deposit('c', 100n, 'd');
    const deadline = Date.now() + 3_600_000;
    assert.equal(await a.reserve('c', 'a-expiring', 10n, deadline), 'held');
    assert.equal(await a.reserve('c', 'a-live', 20n, Number.MAX_SAFE_INTEGER), 'held');
    await a.close(); // instance a dies with its holds taken
    assert.deepEqual(await b.releaseAllHolds(), [], "b's start refunds neither another instance's holds nor unexpired ones");
    assert.equal(await b.reserve('c', 'b-live', 30n, Number.MAX_SAFE_INTEGER), 'held');
    assert.deepEqual(await b.releaseExpiredHolds(deadline), ['a-expiring'], "the dead instance's hold comes back at its deadline");
    assert.equal(await b.balance('c'), 50n);
    const aAgain = await openPgStore({ url: lastDatabase, instanceId: 'a', poolSize: 2 });
    try {
      assert.deepEqual(await aAgain.releaseAllHolds(), ['a-live'], 'instance a restarted refunds what it held before');
      assert.equal(await b.balance('c'), 70n);
      assert.equal(await b.jobIdUsed('b-live'), true);
    } finally {
      await aAgain.close();
    }
  } finally {
    await b.close();
  }
});

test("a worker's standing moved by both instances at once loses no event", { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.bindWorkerKey('w', 'key', 1);
    // Clean jobs settled by both instances at once, as when clients of each use the same worker.
    const events = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).recordWorkerEvent('w', 'clean', 10 + i)));
    assert.ok(events.every((event) => event !== undefined));
    const record = (await b.workerRecord('w'))!;
    assert.equal(record.cleanJobs, 40, 'every event counted once');
    // Each event read what the one before it wrote: the counts seen before are 0..39, once each.
    assert.deepEqual(events.map((event) => event!.before.cleanJobs).sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('events and acknowledgements of several workers arriving together are each applied once, in order', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await Promise.all(['w1', 'w2', 'w3'].map((id) => a.bindWorkerKey(id, `key-${id}`, 1)));
    // Sent in one turn: one batch on each instance, racing the other's.
    const sent = ['w1', 'w2', 'ghost', 'w1', 'w3', 'w1', 'w2'].map((id, i) => ((i % 2 === 0 ? a : b) as PgStore).recordWorkerEvent(id, i === 5 ? 'cut_off' : 'clean', 100 + i, { ttftMs: 50 + i }));
    const events = await Promise.all(sent);
    assert.equal(events[2], undefined, 'a worker id never bound');
    const w1 = (await a.workerRecord('w1'))!;
    assert.deepEqual([w1.cleanJobs, w1.cutoffs], [2, 1]);
    assert.equal((await a.workerRecord('w2'))!.cleanJobs, 2);
    assert.equal((await b.workerRecord('w3'))!.cleanJobs, 1);
    // Each of w1's three events started from another's result: the counts seen before are 0, 1, 2.
    const seen = [0, 3, 5].map((i) => events[i]!.before.cleanJobs + events[i]!.before.cutoffs).sort();
    assert.deepEqual(seen, [0, 1, 2]);

    await a.deposit('c', 1_000n, 'd');
    for (const [i, worker] of ['w1', 'w1', 'w2'].entries()) {
      await a.reserve('c', `j${i}`, 100n, Date.now() + 60_000);
      await a.settle(job(`j${i}`, [credit('EQacc', worker, 50n, 45n)]), receipt);
    }
    // w1 acknowledges 1 (then 2, in the same turn), w2 its only one, an unknown worker anything.
    await Promise.all([a.ackReceipts('w1', 1), a.ackReceipts('w2', 1), a.ackReceipts('w1', 2), a.ackReceipts('nobody', 9)]);
    assert.deepEqual(await b.unackedReceipts('w1'), []);
    assert.deepEqual(await b.unackedReceipts('w2'), []);
    await a.reserve('c', 'j3', 100n, Date.now() + 60_000);
    await a.settle(job('j3', [credit('EQacc', 'w1', 50n, 45n)]), receipt);
    await a.ackReceipts('w1', 2);
    assert.deepEqual((await b.unackedReceipts('w1')).map((r) => r.seq), [3], 'only up to the number acknowledged');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('one worker id bound by both instances at once: one key wins, the other is refused; the same key is known', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    for (let i = 0; i < 20; i++) {
      const [x, y] = await Promise.all([a.bindWorkerKey(`w${i}`, 'key-a', 1), b.bindWorkerKey(`w${i}`, i % 2 === 0 ? 'key-b' : 'key-a', 2)]);
      const statuses = [x.status, y.status].sort();
      assert.deepEqual(statuses, i % 2 === 0 ? ['mismatch', 'new'] : ['known', 'new'], `w${i}`);
      const winner = x.status === 'new' ? 'key-a' : i % 2 === 0 ? 'key-b' : 'key-a';
      assert.equal((await a.workerRecord(`w${i}`))?.identityKey, winner);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
