/**
 * Two coordinator instances on one PostgreSQL (`--store postgres://…`) act on one set of books:
 * a deposit made through one is spendable through the other, a job served through one is
 * charged once and credited once, and the other sees the client's balance, the worker's
 * identity and its earnings. Needs `postgres` (skipped, with the reason, where it is missing).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { clientIdForKey } from '../network/coordinator/server.js';
import { openPgStore, type PgStore } from '../network/coordinator/pg-store.js';
import { DEFAULT_PRICE_LIST, jobCost, splitCost } from '../network/protocol/pricing.js';
import { missingBinary, startPostgres, type TestEngine } from '../network/node-kit/test-engines.js';
import { Harness } from './harness.js';
import { FakeWorker, randomIdentity } from './fake-worker.js';

const KEY = 'sk-shared';
const ADMIN = 'admin-shared';
const MODEL = 'silkworm-test';
const skip = missingBinary('postgres') ?? false;
if (skip) console.log(`skipped: coordinators sharing PostgreSQL — ${skip}`);

describe('two coordinators on one PostgreSQL store', { skip }, () => {
  const harness = new Harness();
  let postgres: TestEngine;
  let a: string;
  let b: string;
  let books: PgStore;
  let workerId: string;

  const balance = async (url: string) => BigInt(((await (await fetch(`${url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { balance_nanotons: string }).balance_nanotons);

  before(async () => {
    postgres = await startPostgres();
    const extra = ['--store', postgres.url, '--admin-key', ADMIN];
    // One after the other: the second finds the schema the first migrated.
    a = (await harness.coordinator({ apiKeys: [KEY], extra })).url;
    b = (await harness.coordinator({ apiKeys: [KEY], extra })).url;
    workerId = (await harness.worker(a)).workerId;
    books = await openPgStore({ url: postgres.url, instanceId: 'test-reader', poolSize: 1 });
  });
  after(async () => {
    await books?.close();
    await harness.cleanup();
    await postgres?.stop();
  });

  test('a deposit through one instance is spent through the other, charged and credited once', async () => {
    const response = await fetch(`${b}/v1/admin/deposits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client: clientIdForKey(KEY), nanotons: '1000000000', reference: 'tx-shared' }),
    });
    assert.equal(response.status, 201);
    assert.equal(await balance(a), 1_000_000_000n, 'instance a sees what was deposited through b');

    const client = new OpenAI({ baseURL: `${a}/v1`, apiKey: KEY, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 12, temperature: 0 });
    assert.ok(answer.usage);
    const cost = jobCost(DEFAULT_PRICE_LIST.default, { promptTokens: answer.usage.prompt_tokens, completionTokens: answer.usage.completion_tokens }, 1);
    assert.ok(cost > 0n);
    assert.equal(await balance(b), 1_000_000_000n - cost, 'instance b sees the charge, the rest of the hold refunded');
    assert.equal(await balance(a), await balance(b));
    const earned = splitCost(cost, DEFAULT_PRICE_LIST.commissionBps).worker;
    assert.deepEqual(await books.account(`worker:${workerId}`), { account: `worker:${workerId}`, cumulative: earned, seq: 1 });
    assert.equal((await books.workerRecord(workerId))?.workerId, workerId, "the worker's identity is in the shared store");
  });

  test('one worker id has one key across instances; a second hello is refused however soon it follows the first', async () => {
    const identity = randomIdentity();
    const first = await FakeWorker.join(b, 'bound-on-b', { identity });
    // The same id with another key, through the other instance: refused, whichever instance bound it.
    const impostor = await FakeWorker.connect(a);
    impostor.send(impostor.hello('bound-on-b'));
    assert.equal((await impostor.next('error')).code, 'identity_mismatch');
    assert.equal((await impostor.closed).code, 4007);
    // A hello sent again at once (the first may still be being bound in the store): a protocol
    // violation, never a second identity.
    const eager = await FakeWorker.connect(a);
    eager.send(eager.hello('eager'));
    eager.send(eager.hello('eager-2'));
    assert.equal((await eager.closed).code, 4002);
    assert.equal((await eager.next('error')).code, 'unexpected_frame');
    assert.equal(await books.workerRecord('eager-2'), undefined, 'the second hello bound nothing');
    // The first identity, reconnecting through a, is known there.
    first.socket.close();
    await first.closed;
    const again = await FakeWorker.join(a, 'bound-on-b', { identity });
    assert.equal((await again.next('welcome')).coordinatorId !== '', true);
    again.socket.close();
    await again.closed;
  });
});
