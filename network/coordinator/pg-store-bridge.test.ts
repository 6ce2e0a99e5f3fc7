/**
 * The PostgreSQL store's bridge: its non-blocking face (what a request's hold, settlement and
 * standing go through) gives the same answers as the blocking calls, each to its own caller
 * while blocking calls come and go; money calls run at once, a worker's settlements in order;
 * a receipt that cannot be built fails its settlement, whose books stay written. Needs
 * `postgres` (skipped, with the reason, only where its binaries are missing).
 */
import { test } from 'node:test';
import { MessagePort, type Worker } from 'node:worker_threads';
import assert from 'node:assert/strict';
import { testPostgres } from '../node-kit/test-postgres.js';
import { openPgStoreSync, type SyncPgStore } from './pg-store-bridge.js';
import { credit, job, receipt } from './store-contract.js';
import { BooksError } from './books-check.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';
import { Billing } from './billing.js';
import { openSqliteStore } from './sqlite-store.js';
import { StoreBrokenError, StoreUnavailableError, type CoordinatorStore, type JobReceiptFrame } from './store.js';
import { CHAIN_GLOBAL_ID, verifyVoucher } from '../protocol/voucher.js';

const { skip, database } = testPostgres("the PostgreSQL store's bridge");

async function open(): Promise<SyncPgStore> {
  return openPgStoreSync({ url: await database('bridge'), instanceId: 'inst', poolSize: 4 });
}

test('non-blocking calls answer each caller, with blocking calls made while they are in flight', { skip }, async () => {
  const store = await open();
  try {
    const fast = store.nonBlocking;
    store.deposit('c', 1_000n, 'd1');
    await fast.bindWorkerKey('w', 'key', 1);
    // Many calls in flight at once, of several kinds; a blocking call in the middle of them.
    const events = Array.from({ length: 20 }, (_, i) => fast.recordWorkerEvent('w', 'clean', 10 + i));
    const balances = Array.from({ length: 10 }, () => fast.balance('c'));
    assert.equal(store.balance('c'), 1_000n, 'a blocking call answered while non-blocking ones are pending');
    const settings = ['a', 'b', 'c'].map((v) => fast.setSetting(`k-${v}`, v));
    await Promise.all(settings);
    assert.deepEqual(await Promise.all(['a', 'b', 'c'].map((v) => fast.getSetting(`k-${v}`))), ['a', 'b', 'c']);
    assert.deepEqual(await Promise.all(balances), Array.from({ length: 10 }, () => 1_000n));
    const applied = await Promise.all(events);
    assert.equal(store.workerRecord('w')?.cleanJobs, 20, 'every event stored once');
    assert.deepEqual(applied.map((a) => a?.before.cleanJobs).sort((x, y) => x! - y!), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(await fast.recordWorkerEvent('nobody', 'clean', 1), undefined);
  } finally {
    store.close();
  }
});

test('money calls made at once stay exact; a settlement builds its receipts on the caller', { skip }, async () => {
  const store = await open();
  try {
    const fast = store.nonBlocking;
    await fast.deposit('c', 100n, 'd1');
    // Both sent before either is answered: one is held, the other finds the balance spent.
    const both = await Promise.all([fast.reserve('c', 'j1', 80n, Date.now() + 60_000), fast.reserve('c', 'x', 80n, Date.now() + 60_000)]);
    assert.deepEqual([...both].sort(), ['held', 'short']);
    if (both[1] === 'held') await fast.release('x');
    assert.equal(await fast.reserve('c', 'j1', 80n, Date.now() + 60_000), both[0] === 'held' ? 'duplicate' : 'held');
    assert.equal(await fast.reserve('c', 'j1', 1n, Date.now() + 60_000), 'duplicate');
    // The builder may itself wait (it runs on the caller's thread, where the voucher key is).
    const built: number[] = [];
    const frames = await fast.settle(job('j1', [credit('EQacc', 'w', 50n, 45n)]), async (c, total, seq) => {
      await new Promise((resolve) => setImmediate(resolve));
      built.push(seq);
      return receipt(c, total, seq);
    });
    assert.deepEqual(built, [1]);
    assert.deepEqual(frames?.map((f) => [f.seq, f.cumulativeNanotons]), [[1, '45']]);
    assert.equal(await fast.settle(job('j1', [credit('EQacc', 'w', 50n, 45n)]), receipt), undefined, 'settled once');
    // A blocking money call queued behind a non-blocking settlement: the settlement's receipt is
    // built during the blocking wait, so neither waits on the other.
    assert.equal(await fast.reserve('c', 'j3', 10n, Date.now() + 60_000), 'held');
    const settling = fast.settle(job('j3', [credit('EQacc', 'w', 5n, 4n)]), receipt);
    assert.deepEqual(store.releaseExpiredHolds(0), [], 'answered, not stuck behind the settlement');
    assert.deepEqual((await settling)?.map((f) => f.seq), [2]);
    store.deposit('c', 5n, 'd2');
    assert.equal(store.balance('c'), 50n, 'charged 50 and 5, the rest of both holds refunded, 5 deposited');
    assert.deepEqual((await fast.unackedReceipts('w')).map((r) => r.seq), [1, 2]);
    await fast.ackReceipts('w', 2);
    assert.deepEqual(await fast.unackedReceipts('w'), []);
  } finally {
    store.close();
  }
});

test("settlements of different workers run at once; one worker's run in the order they were sent", { skip }, async () => {
  const store = await open();
  try {
    const fast = store.nonBlocking;
    await fast.deposit('c', 1_000n, 'd1');
    for (const j of ['a1', 'b1', 'w1', 'w2', 'w3']) assert.equal(await fast.reserve('c', j, 100n, Date.now() + 60_000), 'held');
    // Worker a's receipt is built only once worker b's is being built: were settlements run one
    // at a time, a's would wait for ever (here: fail after 5 s).
    let bStarted!: () => void;
    const bBuilding = new Promise<void>((resolve) => (bStarted = resolve));
    const gate = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("a's settlement never saw b's start")), 5_000).unref());
    const [a, b] = await Promise.all([
      fast.settle(job('a1', [credit('EQacc-a', 'a', 50n, 45n)]), async (c, total, seq) => {
        await Promise.race([bBuilding, gate]);
        return receipt(c, total, seq);
      }),
      fast.settle(job('b1', [credit('EQacc-b', 'b', 50n, 45n)]), (c, total, seq) => {
        bStarted();
        return receipt(c, total, seq);
      }),
    ]);
    assert.deepEqual([a?.[0]?.seq, b?.[0]?.seq], [1, 1]);
    // One worker's three settlements sent at once: numbered in the order they were sent, none
    // waiting on a number another took.
    const order: string[] = [];
    const settled = await Promise.all(
      ['w1', 'w2', 'w3'].map((j) =>
        fast.settle(job(j, [credit('EQacc-w', 'w', 10n, 9n)]), (c, total, seq) => {
          order.push(j);
          return receipt(c, total, seq);
        }),
      ),
    );
    assert.deepEqual(order, ['w1', 'w2', 'w3']);
    assert.deepEqual(settled.map((f) => [f?.[0]?.seq, f?.[0]?.cumulativeNanotons]), [[1, '9'], [2, '18'], [3, '27']], 'w1, w2, w3 in that order');
    assert.equal(await fast.balance('c'), 1_000n - 50n - 50n - 30n);
  } finally {
    store.close();
  }
});

test("billing on PostgreSQL: receipts built on the store's thread are those billing builds on SQLite, vouchers signed alike", { skip }, async () => {
  const pgStore = await open();
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-bridge-'));
  const sqliteStore = openSqliteStore(dir);
  try {
    const voucherKey = keyPairFromSeed(Buffer.alloc(32, 7));
    const vault = new Address(0, Buffer.alloc(32, 1)).toString();
    const payoutAddress = new Address(0, Buffer.alloc(32, 2)).toString();
    const settleOn = async (store: CoordinatorStore): Promise<{ billing: Billing; receipts: JobReceiptFrame[] }> => {
      const billing = new Billing({ store, voucherKey, vault, chainGlobalId: CHAIN_GLOBAL_ID.testnet });
      const receipts: JobReceiptFrame[] = [];
      billing.on('receipt', (_worker, frame) => receipts.push(frame));
      const fast = store.nonBlocking;
      if (fast) await fast.deposit('client', 1_000_000_000n, 'd');
      else store.deposit('client', 1_000_000_000n, 'd');
      for (const jobId of ['j1', 'j2']) assert.deepEqual(await billing.reserve('client', jobId, billing.worstCase('m', 10, 100, 1, 2), Date.now() + 60_000), { ok: true });
      const settled = (jobId: string, parts: Parameters<Billing['settleSoon']>[4]) => new Promise<unknown>((resolve) => billing.settleSoon(jobId, 'client', 'm', 'done', parts, resolve));
      // A job split between a worker with a payout address (a voucher) and one without (none).
      assert.equal(await settled('j1', [{ workerId: 'w', payoutAddress, coefficient: 1, usage: { promptTokens: 10, completionTokens: 40 } }, { workerId: 'v', payoutAddress: undefined, coefficient: 1, usage: { promptTokens: 0, completionTokens: 20 } }]), undefined);
      assert.equal(await settled('j2', [{ workerId: 'w', payoutAddress, coefficient: 1, usage: { promptTokens: 10, completionTokens: 60 } }]), undefined);
      return { billing, receipts };
    };
    const onPg = await settleOn(pgStore);
    const onSqlite = await settleOn(sqliteStore);
    assert.equal(onPg.receipts.length, 3);
    assert.deepEqual(onPg.receipts, onSqlite.receipts, 'the same receipts, vouchers included (Ed25519 signatures are deterministic)');
    const withVoucher = onPg.receipts.filter((r) => r.voucher);
    assert.deepEqual(withVoucher.map((r) => [r.jobId, r.seq]), [['j1', 1], ['j2', 2]], "only the payout address's receipts carry a voucher");
    for (const r of withVoucher) {
      const check = verifyVoucher(r.voucher, voucherKey.publicKey, vault, CHAIN_GLOBAL_ID.testnet);
      assert.equal(check.ok, true, check.ok ? "" : check.message);
      assert.deepEqual(r.voucher, onPg.billing.voucherFor(r.account, BigInt(r.cumulativeNanotons), r.seq));
    }
    // Sent again as first sent: PostgreSQL built them again from the stored figures, and signed alike.
    assert.deepEqual(await onPg.billing.unackedReceipts('w', 0), withVoucher);
    assert.deepEqual(await onPg.billing.unackedReceipts('v', 0), onPg.receipts.filter((r) => !r.voucher));
    assert.deepEqual(await onSqlite.billing.unackedReceipts('w', 0), withVoucher);
  } finally {
    pgStore.close();
    sqliteStore.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("an instance restarted after a peer's sweep refunded its expired holds still bills its checkpoints, from the client's balance", { skip }, async () => {
  const url = await database('checkpoints');
  const peer = await openPgStoreSync({ url, instanceId: 'b', poolSize: 2 });
  let a = await openPgStoreSync({ url, instanceId: 'a', poolSize: 2 });
  try {
    const billing = new Billing({ store: a });
    a.deposit('client', 1_000_000_000n, 'd');
    const held = billing.worstCase('m', 10, 100, 1, 1);
    assert.deepEqual(await billing.reserve('client', 'cut', held, Date.now() + 50), { ok: true });
    await billing.checkpoint([{ jobId: 'cut', clientId: 'client', model: 'm', parts: [{ workerId: 'w', payoutAddress: undefined, coefficient: 1, usage: { promptTokens: 10, completionTokens: 40 } }] }]);
    // Instance a is killed mid-job; a peer's expiry sweep refunds its hold whole.
    a.close();
    assert.deepEqual(peer.releaseExpiredHolds(Date.now() + 1_000), ['cut']);
    assert.equal(peer.balance('client'), 1_000_000_000n);
    // a starts again.
    a = await openPgStoreSync({ url, instanceId: 'a', poolSize: 2 });
    const next = new Billing({ store: a });
    assert.deepEqual(await next.settleCheckpoints(new Set()), { settled: 1, refused: [], unreadable: [] });
    const charge = 1_000_000_000n - a.balance('client');
    assert.ok(charge > 0n && charge < held, `charged ${charge} from the balance, what the checkpoint counted`);
    assert.deepEqual((await next.unackedReceipts('w', 0)).map((r) => [r.jobId, r.usage.completionTokens, r.costNanotons]), [['cut', 40, String(charge)]], 'the worker is paid');
    assert.deepEqual(a.checkpoints(), { jobs: [], unreadable: [] }, 'then forgotten');
    assert.deepEqual(a.releaseAllHolds(), [], 'no hold left behind');
  } finally {
    a.close();
    peer.close();
  }
});

test('a receipt that cannot be built after its settlement: the job stays settled once, and the receipt goes out when asked again', { skip }, async () => {
  const store = await open();
  try {
    const fast = store.nonBlocking;
    await fast.deposit('c', 200n, 'd1');
    assert.equal(await fast.reserve('c', 'j', 60n, Date.now() + 60_000), 'held');
    await assert.rejects(
      fast.settle(job('j', [credit('EQacc', 'w', 50n, 45n)]), () => {
        throw new Error('no voucher key');
      }),
      /Job j was settled, but its receipts could not be built: no voucher key/,
    );
    assert.equal((await fast.account('EQacc')).cumulative, 45n, 'on the books');
    assert.equal(await fast.balance('c'), 150n, 'charged 50, the rest of the hold refunded');
    assert.deepEqual((await fast.unackedReceipts('w')).map((r) => [r.jobId, r.seq, r.cumulativeNanotons, r.earnedNanotons]), [['j', 1, '45', '45']], 'built from what was stored');
    // Settled once: the blocking face's second try credits nothing, and builds nothing.
    assert.equal(
      store.settle(job('j', [credit('EQacc', 'w', 50n, 45n)]), () => {
        throw new Error('never asked');
      }),
      undefined,
    );
    // The blocking face reports a builder's failure the same way.
    assert.equal(store.reserve('c', 'k', 60n, Date.now() + 60_000), 'held');
    assert.throws(
      () =>
        store.settle(job('k', [credit('EQacc', 'w', 50n, 45n)]), () => {
          throw new Error('still no key');
        }),
      /Job k was settled, but its receipts could not be built: still no key/,
    );
    // And the books' own errors keep their kind across the thread.
    assert.equal(await fast.reserve('c', 'l', 60n, Date.now() + 60_000), 'held');
    await assert.rejects(fast.settle(job('l', [credit('EQacc', 'w', 70n, 60n)]), receipt), (error: unknown) => error instanceof BooksError && /exceeds its hold/.test(error.message));
    assert.deepEqual((await fast.settle(job('l', [credit('EQacc', 'w', 50n, 45n)]), receipt))?.map((f) => f.seq), [3]);
    assert.equal(await fast.balance('c'), 50n);
  } finally {
    store.close();
  }
});

test('non-blocking calls made in one turn cross to the thread in one message; a blocking call still answers in between', { skip }, async () => {
  const store = await open();
  const post = MessagePort.prototype.postMessage;
  let posted = 0;
  MessagePort.prototype.postMessage = function (this: MessagePort, ...args: Parameters<MessagePort['postMessage']>) {
    posted++;
    return post.apply(this, args);
  };
  try {
    const fast = store.nonBlocking;
    await fast.deposit('c', 100n, 'd');
    posted = 0;
    const balances = Promise.all(Array.from({ length: 20 }, (_, i) => fast.balance(i % 2 === 0 ? 'c' : 'nobody')));
    assert.equal(posted, 0, 'nothing sent before the end of the turn');
    // A blocking call sends what waits first, then itself, and answers the others meanwhile.
    assert.equal(store.balance('c'), 100n);
    assert.equal(posted, 2, 'the 20 calls in one message, then the blocking one');
    assert.deepEqual(await balances, Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 100n : 0n)));
    posted = 0;
    const more = await Promise.all(Array.from({ length: 10 }, () => fast.jobIdUsed('j')));
    assert.deepEqual(more, Array.from({ length: 10 }, () => false));
    assert.equal(posted, 1);
  } finally {
    MessagePort.prototype.postMessage = post;
    store.close();
  }
});

test('calls after close are refused with a clear error', { skip }, async () => {
  const store = await open();
  store.close();
  await assert.rejects(store.nonBlocking.balance('c'), /The PostgreSQL store is closed/);
  assert.throws(() => store.balance('c'), /The PostgreSQL store is closed/);
});

test('a store thread that stops refuses what waited and every call after, at once, as unavailable; whenBroken says why', { skip }, async () => {
  const store = await open();
  try {
    assert.equal(store.balance('c'), 0n);
    const thread = (store as unknown as { worker: Worker }).worker;
    const waiting = store.nonBlocking.balance('c');
    await thread.terminate();
    const why = await store.whenBroken;
    assert.match(why?.message ?? '', /The PostgreSQL store's thread stopped \(it exited with code 1\): this instance can read or write nothing more until it restarts\./);
    await assert.rejects(waiting, (error: unknown) => error instanceof StoreBrokenError && !error.unwritten, 'a call under way may have been written');
    assert.throws(() => store.balance('c'), (error: unknown) => error instanceof StoreBrokenError && error instanceof StoreUnavailableError && error.unwritten, 'a call after it was never sent');
    await assert.rejects(store.nonBlocking.deposit('c', 1n, 'r'), (error: unknown) => error instanceof StoreBrokenError && error.unwritten);
    assert.equal(store.reachability?.().reachable, false);
  } finally {
    store.close();
  }
});
