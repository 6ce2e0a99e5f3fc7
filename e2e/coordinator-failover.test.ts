/**
 * Several coordinators as one, when one dies: two instances share a PostgreSQL store, a worker
 * is given both URLs; instance a is killed (SIGKILL) and the worker moves to b, which serves
 * and bills the next request from the same shared balance. Needs `postgres` (skipped, with
 * the reason, where it is missing).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { clientIdForKey } from '../network/coordinator/server.js';
import { missingBinary, startPostgres, type TestEngine } from '../network/node-kit/test-engines.js';
import { Harness, type SilkwormProcess } from './harness.js';

const KEY = 'sk-failover';
const ADMIN = 'admin-failover';
const MODEL = 'silkworm-test';
const skip = missingBinary('postgres') ?? false;
if (skip) console.log(`skipped: coordinator failover — ${skip}`);

describe('a worker fails over between coordinator instances', { skip }, () => {
  const harness = new Harness();
  let postgres: TestEngine;
  let a: { proc: SilkwormProcess; url: string };
  let b: { proc: SilkwormProcess; url: string };
  let worker: Awaited<ReturnType<Harness['worker']>>;

  const balance = async (url: string) => BigInt(((await (await fetch(`${url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { balance_nanotons: string }).balance_nanotons);
  const ask = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 }).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 8, temperature: 0 });

  before(async () => {
    postgres = await startPostgres();
    const extra = ['--store', postgres.url, '--admin-key', ADMIN];
    a = await harness.coordinator({ apiKeys: [KEY], extra });
    b = await harness.coordinator({ apiKeys: [KEY], extra });
    worker = await harness.worker(`${a.url},${b.url}`);
  });
  after(async () => {
    await harness.cleanup();
    await postgres?.stop();
  });

  test('killing the instance a worker is on moves it to the next; the shared books carry on', async () => {
    const deposit = await fetch(`${a.url}/v1/admin/deposits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client: clientIdForKey(KEY), nanotons: '1000000000', reference: 'tx-failover' }),
    });
    assert.equal(deposit.status, 201);
    const first = await ask(a.url);
    const text = first.choices[0]?.message.content ?? '';
    assert.ok(text.length > 0, 'served through instance a');
    const afterFirst = await balance(b.url);
    assert.ok(afterFirst < 1_000_000_000n, 'charged, as b sees it');

    const moved = worker.proc.waitForNext((l) => l.msg === 'connected to the coordinator' && String(l.coordinator).includes(new URL(b.url).host), 60_000);
    a.proc.kill('SIGKILL');
    await moved;
    const second = await ask(b.url);
    assert.equal(second.choices[0]?.message.content, text, 'the same greedy answer, served through instance b after a died');
    assert.ok((await balance(b.url)) < afterFirst, 'the second job was charged from the same balance');
  });
});
