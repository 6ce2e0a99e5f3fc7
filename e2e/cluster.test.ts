/**
 * Several coordinators as one: two instances share PostgreSQL (`--store`) and a NATS bus
 * (`--bus`). A client calling one instance is served by a worker connected to the other; the
 * worker's receipt, the cancel of a client that hangs up, and the books all cross the bus; a
 * receipt never acknowledged is sent again, as first sent, by the other instance. When
 * the instance a job's worker is on is killed, the job continues on a worker of the surviving
 * instance from the text already streamed, and the real worker reconnects there. Malformed bus
 * messages are dropped. Needs `postgres` and `nats-server` (skipped, with the reason, where one
 * is missing).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { clientIdForKey } from '../network/coordinator/server.js';
import { openPgStore, type PgStore } from '../network/coordinator/pg-store.js';
import { DEFAULT_PRICE_LIST, jobCost, splitCost } from '../network/protocol/pricing.js';
import { missingBinary, startNats, startPostgres, type TestEngine } from '../network/node-kit/test-engines.js';
import { FakeWorker, randomIdentity } from './fake-worker.js';
import { Harness, type SilkwormProcess } from './harness.js';

const KEY = 'sk-cluster';
const ADMIN = 'admin-cluster';
const MODEL = 'silkworm-test';
/** Served only by the scripted workers, so the real one never takes their jobs. */
const FAKE_MODEL = 'scripted-model';
const skip = missingBinary('postgres') ?? missingBinary('nats-server') ?? false;
if (skip) console.log(`skipped: coordinators on one bus — ${skip}`);

interface Health {
  workers: number;
  cluster?: { instances: number; workers: number; bus: 'connected' | 'reconnecting' };
}

describe('two coordinators on one PostgreSQL store and one NATS bus', { skip }, () => {
  const harness = new Harness();
  let postgres: TestEngine;
  let nats: TestEngine;
  let a: { proc: SilkwormProcess; url: string };
  let b: { proc: SilkwormProcess; url: string };
  let worker: Awaited<ReturnType<Harness['worker']>>;
  let books: PgStore;
  const fakes: FakeWorker[] = [];

  const health = async (url: string) => (await (await fetch(`${url}/healthz`)).json()) as Health;
  const balance = async (url: string) => BigInt(((await (await fetch(`${url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { balance_nanotons: string }).balance_nanotons);
  const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
  /** Waits until `url` routes over `workers` workers in all (its own and the other instance's). */
  const seesWorkers = async (url: string, workers: number) => {
    const deadline = Date.now() + 20_000;
    let last: Health | undefined;
    while (Date.now() < deadline) {
      last = await health(url).catch(() => undefined);
      if (last?.cluster?.workers === workers) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`${url} never saw ${workers} workers across the cluster (last: ${JSON.stringify(last)})`);
  };

  before(async () => {
    [postgres, nats] = await Promise.all([startPostgres(), startNats()]);
    const extra = ['--store', postgres.url, '--bus', nats.url, '--admin-key', ADMIN];
    a = await harness.coordinator({ apiKeys: [KEY], extra });
    b = await harness.coordinator({ apiKeys: [KEY], extra });
    // Connected to b; a is its second address.
    worker = await harness.worker(`${b.url},${a.url}`);
    books = await openPgStore({ url: postgres.url, instanceId: 'test-reader', poolSize: 1 });
    const deposit = await fetch(`${a.url}/v1/admin/deposits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client: clientIdForKey(KEY), nanotons: '1000000000', reference: 'tx-cluster' }),
    });
    assert.equal(deposit.status, 201);
  });
  after(async () => {
    for (const fake of fakes) fake.close();
    await books?.close();
    await harness.cleanup();
    await Promise.all([postgres?.stop(), nats?.stop()]);
  });

  test('a client calling instance a is served, billed and receipted by a worker connected to b', async () => {
    const seen = await seesWorkers(a.url, 1);
    assert.equal(seen.workers, 0, 'a has no worker of its own');
    assert.deepEqual(seen.cluster, { instances: 2, workers: 1, bus: 'connected' }, 'and routes over b’s');

    const before = await balance(a.url);
    const receipt = worker.proc.waitForNext((l) => l.msg === 'job receipt', 20_000, 'receipt');
    const answer = await client(a.url).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 8, temperature: 0 });
    const text = answer.choices[0]?.message.content ?? '';
    assert.ok(text.length > 0, 'answered through a by the worker on b');
    const direct = await client(b.url).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 8, temperature: 0 });
    assert.equal(direct.choices[0]?.message.content, text, 'the same greedy answer as through b itself');

    assert.ok(answer.usage);
    const cost = jobCost(DEFAULT_PRICE_LIST.default, { promptTokens: answer.usage.prompt_tokens, completionTokens: answer.usage.completion_tokens }, 1);
    const line = await receipt;
    assert.equal(line.outcome, 'done');
    assert.equal(BigInt(String(line.earnedNanotons)), splitCost(cost, DEFAULT_PRICE_LIST.commissionBps).worker, "the worker's receipt, relayed from a through b, credits its share of a's charge");
    await worker.proc.waitFor((l) => l.msg === 'job receipt' && l.jobId !== line.jobId, 20_000, 'second receipt');
    const account = await books.account(`worker:${worker.workerId}`);
    assert.equal(account?.seq, 2, 'credited once per job, whichever instance billed it');
    assert.equal(await balance(b.url), await balance(a.url));
    assert.ok(before - (await balance(a.url)) >= cost, 'both jobs charged from the one shared balance');
    // The operator sees where each instance's jobs went.
    const dispatched = async (url: string) => (await (await fetch(`${url}/metrics`)).text()).match(/^silkworm_jobs_dispatched_total\{worker_on="(\w+)"\} (\d+)$/gm) ?? [];
    assert.deepEqual(await dispatched(a.url), ['silkworm_jobs_dispatched_total{worker_on="other_instance"} 1']);
    assert.deepEqual(await dispatched(b.url), ['silkworm_jobs_dispatched_total{worker_on="this_instance"} 1']);
    // And the bus's measured round trip to the other instance, which routing adds for its workers.
    const roundTrip = async () => (await (await fetch(`${a.url}/metrics`)).text()).match(/^silkworm_bus_round_trip_seconds\{peer="([^"]+)"\} (\S+)$/m);
    const deadline = Date.now() + 10_000;
    let measured = await roundTrip();
    while (!measured && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      measured = await roundTrip();
    }
    assert.ok(measured, 'a reports its round trip to b');
    assert.ok(Number(measured[2]) > 0 && Number(measured[2]) < 1, `a round trip on one machine is well under a second: ${measured[2]} s`);
  });

  test('a client that hangs up on a stops the job on the worker connected to b, and its slot frees', async () => {
    const controller = new AbortController();
    const failed = worker.proc.waitForNext((l) => l.msg === 'job failed' && l.code === 'cancelled', 20_000, 'cancelled on the worker');
    const stream = await client(a.url).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a long answer' }], max_tokens: 400, temperature: 0, stream: true }, { signal: controller.signal });
    let streamed = 0;
    try {
      for await (const chunk of stream) {
        if (!chunk.choices[0]?.delta.content) continue;
        streamed++;
        controller.abort();
        break;
      }
    } catch (error) {
      assert.ok(controller.signal.aborted, `the stream failed before the client hung up: ${String(error)}`);
    }
    assert.equal(streamed, 1, 'the client read one chunk, then hung up');
    const stopped = await failed;
    assert.ok(Number(stopped.completionTokens) < 400, `stopped early (${String(stopped.completionTokens)} tokens)`);
    // The worker's single slot was freed on both instances: the next job through a is served.
    const next = await client(a.url).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 4, temperature: 0 });
    assert.ok((next.choices[0]?.message.content ?? '').length > 0);
  });

  test('malformed bus messages are dropped and change nothing', async () => {
    const nc: NatsConnection = await connect({ servers: nats.url });
    try {
      nc.publish('silkworm.presence', 'not json');
      nc.publish('silkworm.presence', JSON.stringify({ type: 'workers', instance: 'intruder', workers: [{ id: 'ghost', running: -1 }], gone: [] }));
      await nc.flush();
      await a.proc.waitFor((l) => l.msg === 'malformed bus message; dropped', 10_000, 'dropped');
      await a.proc.waitFor((l) => l.msg === 'bus message is not JSON; dropped', 10_000, 'dropped');
    } finally {
      await nc.close();
    }
    assert.equal((await health(a.url)).cluster?.workers, 1, 'no ghost worker was added');
  });

  test('a receipt its worker never acknowledged is sent again, as first sent, when the worker connects to the other instance', async () => {
    const identity = randomIdentity();
    const first = await FakeWorker.join(b.url, 'forgetful', { model: FAKE_MODEL, identity });
    await seesWorkers(a.url, 2);
    const offered = first.nextNew('job.offer', 10_000);
    const answered = client(a.url).chat.completions.create({ model: FAKE_MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, temperature: 0 });
    const offer = await offered;
    first.send({ type: 'job.accept', jobId: offer.jobId });
    first.send({ type: 'job.chunk', jobId: offer.jobId, seq: 0, text: 'Hello', tokens: 1 });
    first.send({ type: 'job.done', jobId: offer.jobId, finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 } });
    assert.equal((await answered).choices[0]?.message.content, 'Hello');
    // Settled by a, stored in PostgreSQL, relayed through b; never acknowledged.
    const sent = await first.nextNew('job.receipt', 10_000);
    assert.equal(sent.jobId, offer.jobId);
    first.close();
    await first.closed;
    await seesWorkers(a.url, 1);
    // Built again on a from the figures stored with the settlement.
    const again = await FakeWorker.join(a.url, 'forgetful', { model: FAKE_MODEL, identity });
    try {
      assert.deepEqual(await again.next('job.receipt', 10_000), sent);
      again.send({ type: 'receipt.ack', upTo: sent.seq });
    } finally {
      again.close();
      await again.closed;
    }
    await seesWorkers(a.url, 1);
  });

  test('killing the instance a job’s worker is on: the job continues on the other instance’s worker, and the real worker moves there', async () => {
    const first = await FakeWorker.join(b.url, 'scripted-on-b', { model: FAKE_MODEL });
    fakes.push(first);
    await seesWorkers(a.url, 2);
    const offered = first.nextNew('job.offer', 10_000);
    // The response starts with the first chunk, so the stream is read while the worker answers.
    const chunks: string[] = [];
    const reading = (async () => {
      const stream = await client(a.url).chat.completions.create({ model: FAKE_MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 50, temperature: 0, stream: true });
      for await (const chunk of stream) chunks.push(chunk.choices[0]?.delta.content ?? '');
    })();
    const offer = await offered;
    first.send({ type: 'job.accept', jobId: offer.jobId });
    first.send({ type: 'job.chunk', jobId: offer.jobId, seq: 0, text: 'Hello', tokens: 1 });
    first.send({ type: 'job.chunk', jobId: offer.jobId, seq: 1, text: ' wor', tokens: 1 });

    const second = await FakeWorker.join(a.url, 'scripted-on-a', { model: FAKE_MODEL });
    fakes.push(second);
    while (chunks.join('') !== 'Hello wor') await new Promise((resolve) => setTimeout(resolve, 20));

    const moved = worker.proc.waitForNext((l) => l.msg === 'connected to the coordinator' && String(l.coordinator).includes(new URL(a.url).host), 60_000, 'moved to a');
    b.proc.kill('SIGKILL');
    const continued = await second.nextNew('job.offer', 15_000);
    assert.equal(continued.jobId, offer.jobId, 'the same job');
    assert.equal(continued.continuation, 'Hello wor', 'it goes on from what the client already has');
    second.send({ type: 'job.accept', jobId: continued.jobId });
    second.send({ type: 'job.chunk', jobId: continued.jobId, seq: 0, text: 'ld', tokens: 1 });
    second.send({ type: 'job.done', jobId: continued.jobId, finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 } });
    await reading;
    assert.equal(chunks.join(''), 'Hello world', 'the client got one answer, across two workers on two instances');

    await moved;
    await seesWorkers(a.url, 2);
    const served = await client(a.url).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 4, temperature: 0 });
    assert.ok((served.choices[0]?.message.content ?? '').length > 0, 'the real worker serves through a after b died');
    assert.equal((await health(a.url)).cluster?.instances, 1, 'b is no longer counted');
  });
});
