/**
 * Settlements asked for in one turn of the event loop share one commit: each is still checked
 * on its own (a refused one fails alone), receipts go out only after the commit, and every
 * caller hears how its own settlement ended.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Billing } from './billing.js';
import { openSqliteStore } from './sqlite-store.js';
import type { MeteredPart } from './metering.js';

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

test('nobody hears of a batch before its disk flush resolves; a failed flush ends the batch as failed, with no receipt', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-billing-'));
  const store = openSqliteStore(dir);
  try {
    // The real store, with its disk flush held back until the test lets it go.
    const flushes: { resolve: () => void; reject: (error: Error) => void }[] = [];
    const gated = Object.create(store) as typeof store;
    gated.synced = () => store.synced().then(() => new Promise<void>((resolve, reject) => flushes.push({ resolve, reject })));
    const billing = new Billing({ store: gated });
    store.deposit('client', 1_000_000_000n, 'd');
    const hold = billing.worstCase('m', 10, 1000, 1, 1);
    for (const id of ['x', 'y']) assert.equal(store.reserve('client', id, hold, Date.now() + 60_000), 'held');
    const receipts: string[] = [];
    billing.on('receipt', (workerId, receipt) => receipts.push(`${workerId}:${receipt.jobId}`));
    const heard: string[] = [];
    const ended = (id: string) => new Promise<unknown>((resolve) => billing.settleSoon(id, 'client', 'm', 'done', [part(`w-${id}`, 100)], (error) => (heard.push(id), resolve(error ?? 'ok'))));

    const x = ended('x');
    while (flushes.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(store.account('worker:w-x').seq, 1, 'the commit is written');
    assert.deepEqual([receipts, heard], [[], []], 'but no receipt and no caller hears of it before the flush');
    flushes.shift()?.resolve();
    assert.equal(await x, 'ok');
    assert.deepEqual(receipts, ['w-x:x']);

    const y = ended('y');
    while (flushes.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    flushes.shift()?.reject(new Error('EIO: i/o error, fsync'));
    assert.match(String(await y), /EIO/);
    assert.deepEqual(receipts, ['w-x:x'], 'no receipt for a batch not known to be on disk');
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('batches are announced in commit order even when a later disk flush finishes first (a worker takes receipts in sequence)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-billing-'));
  const store = openSqliteStore(dir);
  try {
    const flushes: (() => void)[] = [];
    const gated = Object.create(store) as typeof store;
    gated.synced = () => store.synced().then(() => new Promise<void>((resolve) => flushes.push(resolve)));
    const billing = new Billing({ store: gated });
    store.deposit('client', 1_000_000_000n, 'd');
    const hold = billing.worstCase('m', 10, 1000, 1, 1);
    for (const id of ['p', 'q']) assert.equal(store.reserve('client', id, hold, Date.now() + 60_000), 'held');
    const receipts: string[] = [];
    billing.on('receipt', (workerId, receipt) => receipts.push(`${receipt.jobId}#${receipt.seq}`));
    const ended = (id: string) => new Promise<unknown>((resolve) => billing.settleSoon(id, 'client', 'm', 'done', [part('same-worker', 100)], (error) => resolve(error ?? 'ok')));
    const p = ended('p');
    while (flushes.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    const q = ended('q'); // a second batch, committed after the first
    while (flushes.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    flushes[1]?.(); // the later flush completes first
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(receipts, [], 'the second batch waits for the first');
    flushes[0]?.();
    assert.deepEqual(await Promise.all([p, q]), ['ok', 'ok']);
    assert.deepEqual(receipts, ['p#1', 'q#2']);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
