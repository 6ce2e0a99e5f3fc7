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
