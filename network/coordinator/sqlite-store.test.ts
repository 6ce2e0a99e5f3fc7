/** The coordinator's store: holds, charges, refunds and credits are exact and happen once. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from './sqlite-store.js';

async function withStore(run: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-store-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('deposits apply once per reference', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
    assert.equal(store.deposit('c', 100n, 'tx-1'), true);
    assert.equal(store.deposit('c', 100n, 'tx-1'), false);
    assert.equal(store.balance('c'), 100n);
    assert.throws(() => store.deposit('c', 0n, 'tx-2'));
    store.close();
  }));

test('a hold needs the balance; settling charges the cost and refunds the rest; once', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
    store.deposit('c', 1000n, 'd');
    assert.equal(store.reserve('c', 'job-big', 1001n), false);
    assert.equal(store.balance('c'), 1000n, 'a refused hold takes nothing');
    assert.equal(store.reserve('c', 'job-1', 600n), true);
    assert.equal(store.balance('c'), 400n);
    const credits = [{ account: 'EQaddr', workerId: 'w1', earned: 180n, promptTokens: 5, completionTokens: 10 }];
    const totals = store.settle({ jobId: 'job-1', clientId: 'c', model: 'm', cost: 200n, credits });
    assert.deepEqual(totals, [{ account: 'EQaddr', cumulative: 180n, seq: 1 }]);
    assert.equal(store.balance('c'), 800n);
    assert.equal(store.settle({ jobId: 'job-1', clientId: 'c', model: 'm', cost: 200n, credits }), undefined, 'a second settle of the same job does nothing');
    assert.equal(store.balance('c'), 800n);
    assert.deepEqual(store.account('EQaddr'), { account: 'EQaddr', cumulative: 180n, seq: 1 });
    store.close();
  }));

test('a released hold is refunded in full; state survives reopening', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
    store.deposit('c', 50n, 'd');
    store.reserve('c', 'job-x', 50n);
    assert.equal(store.balance('c'), 0n);
    store.release('job-x');
    store.release('job-x');
    assert.equal(store.balance('c'), 50n);
    store.settle({ jobId: 'j2', clientId: 'c', model: 'm', cost: 0n, credits: [{ account: 'A', workerId: 'w', earned: 7n, promptTokens: 0, completionTokens: 1 }] });
    store.settle({ jobId: 'j3', clientId: 'c', model: 'm', cost: 0n, credits: [{ account: 'A', workerId: 'w', earned: 5n, promptTokens: 0, completionTokens: 1 }] });
    store.setSetting('vault', 'EQvault');
    store.close();
    const again = openSqliteStore(dir);
    assert.equal(again.balance('c'), 50n);
    assert.deepEqual(again.account('A'), { account: 'A', cumulative: 12n, seq: 2 });
    assert.deepEqual(again.unpushed(10n), [{ account: 'A', cumulative: 12n, seq: 2 }]);
    again.markPushed('A', 12n);
    assert.deepEqual(again.unpushed(1n), []);
    assert.equal(again.getSetting('vault'), 'EQvault');
    again.close();
  }));
