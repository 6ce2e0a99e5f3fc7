/**
 * What coordinators do while what they share goes away for a while.
 * - Their PostgreSQL database (restarting, or cut off): clients are told so with a retryable
 *   503 (`store_unavailable`, Retry-After) rather than an internal error; a job that ends
 *   meanwhile is still settled once the database is back, so its worker is paid for what it
 *   delivered and its client charged once. The database sits behind a TCP proxy the test cuts
 *   (listener closed, every connection dropped) and restores.
 * - Their NATS bus (stopped, then started again on its port): an instance with no worker of its
 *   own answers a retryable 503 (`cluster_unavailable`), not "no such model", while the other
 *   serves its own workers; both route over the whole cluster again once the bus is back.
 * - The disk of a coordinator on SQLite (full, failing, remounted read-only): the same 503 for
 *   requests, and a job that ends meanwhile is settled once the disk takes writes again. The
 *   store's connection made read-only stands in for the disk: every write fails with
 *   SQLITE_READONLY (sqlite-store.test.ts fills a database to its page limit for SQLITE_FULL).
 * Needs `postgres` and `nats-server` for the first two (each skipped, with the reason, where one
 * is missing).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type Database from 'better-sqlite3';
import { startCoordinator, clientIdForKey, type Coordinator } from '../network/coordinator/server.js';
import { createLogger } from '../network/coordinator/log.js';
import { testPostgres } from '../network/node-kit/test-postgres.js';
import { CuttableProxy } from '../network/node-kit/test-proxy.js';
import { openPgStoreSync } from '../network/coordinator/pg-store-bridge.js';
import { auditCoordinator } from '../network/coordinator/audit.js';
import { SettlementSpool } from '../network/coordinator/settlement-spool.js';
import { identityKeyPairFromSeed } from '../network/protocol/descriptor.js';
import { randomBytes } from 'node:crypto';
import { missingBinary, startNats, type TestEngine } from '../network/node-kit/test-engines.js';
import type { CoordinatorFrame } from '../network/protocol/worker-frames.js';
import { FakeWorker, randomIdentity, sealedDescriptor } from './fake-worker.js';
import { sealRequest } from '../network/protocol/sealed.js';
import { eventually } from './harness.js';

const KEY = 'sk-outage';
const ADMIN = 'admin-outage';
const MODEL = 'outage-model';
const DEPOSIT = 1_000_000_000_000n;
const { skip, database } = testPostgres('a coordinator whose database goes away');

describe('a coordinator whose database cannot be reached for a while', { skip }, () => {
  let proxy: CuttableProxy;
  let coordinator: Coordinator;
  let dataDir: string;
  let client: OpenAI;
  const clientId = clientIdForKey(KEY);
  const balance = async () => (await fetch(`${coordinator.url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json() as Promise<{ balance_nanotons: string }>;
  const health = async () => {
    const response = await fetch(`${coordinator.url}/healthz`);
    return { status: response.status, body: (await response.json()) as { store?: string; storeSince?: string } };
  };
  const storeGauge = async () => Number(/^silkworm_store_reachable (\d+)$/m.exec(await (await fetch(`${coordinator.url}/metrics`)).text())?.[1]);
  const deferredGauge = async () => Number(/^silkworm_settlements_deferred (\d+)$/m.exec(await (await fetch(`${coordinator.url}/metrics`)).text())?.[1]);

  let directUrl: string;
  let start: () => Promise<Coordinator>;

  /**
   * A streamed job of `text` (a token a character) served by `fake`: the hold is taken, the
   * database is cut off, then the job ends. Resolves with its id and what the client read.
   */
  const endJobWhileCut = async (fake: FakeWorker, text: string) => {
    const answer = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a' }], max_tokens: text.length, stream: true, stream_options: { include_usage: true } });
    const { jobId } = await fake.nextNew('job.offer');
    fake.send({ type: 'job.accept', jobId });
    [...text].forEach((piece, seq) => fake.send({ type: 'job.chunk', jobId, seq, text: piece, tokens: 1 }));
    await proxy.cut();
    fake.send({ type: 'job.done', jobId, finishReason: 'length', usage: { promptTokens: 1, completionTokens: text.length } });
    let read = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of await answer) {
      read += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    return { jobId, text: read, usage };
  };

  /**
   * A sealed job under `jobId` sent to another instance, one that reaches the database, with a
   * fake worker of its own that takes sealed jobs: refused as a job seen before, nothing held.
   */
  const refusedReuse = async (jobId: string) => {
    const otherDir = await mkdtemp(join(tmpdir(), 'silkworm-outage-other-'));
    const other = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: otherDir, apiKeys: [KEY], store: directUrl, logger: createLogger('o', { level: 'silent' }) });
    const identity = randomIdentity();
    const sealedWorker = await FakeWorker.join(other.url, 'outage-sealed', { model: MODEL, identity });
    try {
      const { frame, keyPair } = await sealedDescriptor('outage-sealed', identity, { id: MODEL });
      sealedWorker.send(frame);
      await eventually(() => other.registry.get('outage-sealed')?.descriptor !== undefined, 5_000, 'the sealed worker’s descriptor');
      const { envelope } = await sealRequest({ recipientPublicKey: keyPair.publicKey, jobId, model: MODEL, coordinatorId: other.id, workerId: 'outage-sealed', maxTokens: 5, body: { messages: [{ role: 'user', content: 'a' }], params: { temperature: 0 } } });
      const before = other.store.balance(clientId);
      const reused = await fetch(`${other.url}/v1/sealed/jobs`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
      assert.equal(reused.status, 409, await reused.clone().text());
      assert.equal(((await reused.json()) as { error: { code: string } }).error.code, 'duplicate_job');
      assert.equal(other.store.balance(clientId), before, 'nothing held for it');
      assert.equal(sealedWorker.frames.some((f) => f.type === 'job.sealed_offer'), false, 'no worker was offered it');
    } finally {
      sealedWorker.close();
      await sealedWorker.closed;
      await other.close();
      await rm(otherDir, { recursive: true, force: true });
    }
  };

  before(async () => {
    directUrl = await database('outage');
    const url = new URL(directUrl);
    proxy = await CuttableProxy.start({ host: url.hostname, port: Number(url.port) });
    url.port = String(proxy.port);
    dataDir = await mkdtemp(join(tmpdir(), 'silkworm-outage-'));
    start = () => startCoordinator({ host: '127.0.0.1', port: 0, dataDir, apiKeys: [KEY], adminKey: ADMIN, store: url.toString(), explorationRate: 0, logger: createLogger('c', { level: process.env.OUTAGE_LOG ?? 'silent' }) });
    coordinator = await start();
    const deposited = await fetch(`${coordinator.url}/v1/admin/deposits`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ client: clientId, nanotons: DEPOSIT.toString(), reference: 'd1' }) });
    assert.equal(deposited.status, 201);
    client = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await proxy?.restore();
    await coordinator?.close();
    await proxy?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('clients get a retryable 503 naming the cause, not an internal error; all works again once it is back', async () => {
    const fake = await FakeWorker.join(coordinator.url, 'outage-w1', { model: MODEL });
    try {
      await proxy.cut();
      const read = await fetch(`${coordinator.url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } });
      assert.equal(read.status, 503);
      assert.ok(Number(read.headers.get('retry-after')) > 0, 'says when to try again');
      const body = (await read.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'store_unavailable');
      assert.match(body.error.message, /cannot reach its database/);
      // A request's hold cannot be taken: refused before any worker is asked.
      await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a' }], max_tokens: 4 }), (error: unknown) => error instanceof OpenAI.APIError && error.status === 503 && error.code === 'store_unavailable');
      assert.equal(fake.frames.filter((f) => f.type === 'job.offer').length, 0, 'no worker was offered the job');
      // A worker that connects meanwhile is told why it cannot be admitted, and reconnects later.
      const newcomer = await FakeWorker.connect(coordinator.url);
      newcomer.send(newcomer.hello('outage-w0', { model: MODEL }));
      assert.deepEqual(await newcomer.closed, { code: 4009, reason: 'the coordinator cannot reach its database; reconnect' });
      const away = await health();
      assert.equal(away.status, 200, 'still 200: every instance shares the database, and a balancer should not take them all out');
      assert.equal(away.body.store, 'unreachable');
      assert.equal(await storeGauge(), 0);
      await proxy.restore();
      assert.equal((await balance()).balance_nanotons, DEPOSIT.toString(), 'nothing was held or lost');
      assert.equal((await health()).body.store, 'reachable');
      assert.equal(await storeGauge(), 1);

      // With no call to tell, /healthz asks the database itself once what it knows is 5 s old.
      await proxy.cut();
      const cutAt = Date.now();
      for (;;) {
        const seen = await health();
        if (seen.body.store === 'unreachable') {
          assert.ok(Date.parse(seen.body.storeSince!) >= cutAt, 'unreachable since after the cut');
          break;
        }
        assert.ok(Date.now() - cutAt < 15_000, '/healthz never saw the database away');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await proxy.restore();
    } finally {
      fake.close();
      await fake.closed;
    }
  });

  test('a job that ends while the database is away is settled once it is back: its worker is paid, its client charged once', async () => {
    const fake = await FakeWorker.join(coordinator.url, 'outage-w2', { model: MODEL });
    try {
      const before = BigInt((await balance()).balance_nanotons);
      const { jobId, text, usage } = await endJobWhileCut(fake, 'bcdefghi');
      assert.equal(text, 'bcdefghi', 'the client has its answer, whole');
      assert.equal(usage?.completion_tokens, 8);
      assert.equal(await deferredGauge(), 1, 'the settlement waits for the database');
      assert.equal(fake.frames.filter((f) => f.type === 'job.receipt').length, 0, 'no receipt before the job is on the books');

      await proxy.restore();
      const receipt = await fake.next('job.receipt', 20_000);
      assert.equal(receipt.jobId, jobId);
      assert.equal(receipt.usage.completionTokens, 8, 'paid for what it delivered');
      await eventually(() => coordinator.billing.deferredSettlements === 0, 5_000, 'the deferred settlement to land');
      assert.equal(await deferredGauge(), 0);
      const charged = before - BigInt((await balance()).balance_nanotons);
      assert.ok(charged > 0n && charged === BigInt(receipt.costNanotons), `charged once, the job's cost (${charged} against ${receipt.costNanotons})`);
      assert.ok(BigInt(receipt.earnedNanotons) > 0n && BigInt(receipt.earnedNanotons) <= charged);
      // The worker's standing moved by the job is recorded too, once the database answers.
      await eventually(() => coordinator.store.workerRecord('outage-w2')?.cleanJobs === 1, 15_000, "the job to count on the worker's record");
      assert.deepEqual(coordinator.store.releaseExpiredHolds(Number.MAX_SAFE_INTEGER), [], 'no hold left behind');
    } finally {
      fake.close();
      await fake.closed;
    }
  });

  test('receipts a worker asks for again while the database is away are sent once it is back', async () => {
    const fake = await FakeWorker.join(coordinator.url, 'outage-w5', { model: MODEL });
    try {
      const answer = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a' }], max_tokens: 3 });
      const { jobId } = await fake.nextNew('job.offer');
      fake.send({ type: 'job.accept', jobId });
      [...'uvw'].forEach((piece, seq) => fake.send({ type: 'job.chunk', jobId, seq, text: piece, tokens: 1 }));
      fake.send({ type: 'job.done', jobId, finishReason: 'length', usage: { promptTokens: 1, completionTokens: 3 } });
      await answer;
      const first = await fake.next('job.receipt');
      // Not acknowledged: the worker asks for it again, while the database is away.
      await proxy.cut();
      const count = () => fake.frames.filter((f) => f.type === 'job.receipt').length;
      fake.send({ type: 'receipts.request', after: 0 });
      fake.send({ type: 'receipts.request', after: 0 });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(count(), 1, 'nothing to send while the database is away');
      await proxy.restore();
      const again = await fake.nextNew('job.receipt', 20_000);
      assert.deepEqual(again, first, 'the same receipt, sent again once the database is back');
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(count(), 2, 'once, for both asks');
      fake.send({ type: 'receipt.ack', upTo: first.seq });
    } finally {
      fake.close();
      await fake.closed;
    }
  });

  test('one away longer than the hold lasts: another instance refunds the expired hold, and the late settlement charges the balance instead', async () => {
    const fake = await FakeWorker.join(coordinator.url, 'outage-w3', { model: MODEL });
    try {
      const before = BigInt((await balance()).balance_nanotons);
      const { jobId } = await endJobWhileCut(fake, 'jklmno');
      await eventually(() => coordinator.billing.deferredSettlements === 1, 10_000, 'the settlement to be deferred');
      // Meanwhile another instance, which reaches the database, sweeps the holds past their time.
      const sweeper = await openPgStoreSync({ url: directUrl, instanceId: 'instance-b', poolSize: 1 });
      try {
        assert.deepEqual(sweeper.releaseExpiredHolds(Number.MAX_SAFE_INTEGER), [jobId]);
        assert.equal(sweeper.balance(clientId), before, 'the client has its whole hold back');
      } finally {
        sweeper.close();
      }

      // A dishonest client takes that job's id for a sealed job of its own, through an instance
      // that reaches the database: were it held, the kept settlement would land on its hold.
      await refusedReuse(jobId);

      await proxy.restore();
      const receipt = await fake.next('job.receipt', 20_000);
      assert.equal(receipt.jobId, jobId);
      assert.equal(receipt.usage.completionTokens, 6, 'the worker is paid for what it delivered');
      await eventually(() => coordinator.billing.deferredSettlements === 0, 5_000, 'the deferred settlement to land');
      const charged = before - BigInt((await balance()).balance_nanotons);
      assert.equal(charged, BigInt(receipt.costNanotons), 'the client is charged the cost once, from its balance');
      assert.deepEqual(coordinator.store.releaseExpiredHolds(Number.MAX_SAFE_INTEGER), [], 'no hold left behind');
      const audit = await auditCoordinator(dataDir, { store: directUrl });
      assert.deepEqual(audit.findings, [], 'the shared books balance');
      assert.equal(audit.checked.jobs, 3, 'the jobs of this suite so far');
    } finally {
      fake.close();
      await fake.closed;
    }
  });

  test('an instance restarted while the database is away settles at its next start what it kept: its worker is paid, its client charged once, the job counted on its record once', async () => {
    const identity = identityKeyPairFromSeed(randomBytes(32));
    const fake = await FakeWorker.join(coordinator.url, 'outage-w4', { model: MODEL, identity });
    const before = BigInt((await balance()).balance_nanotons);
    let jobId: string;
    try {
      ({ jobId } = await endJobWhileCut(fake, 'pqrst'));
      await eventually(() => coordinator.billing.deferredSettlements === 1, 10_000, 'the settlement to be kept');
    } finally {
      fake.close();
      await fake.closed;
    }
    // The operator restarts the instance while the database is still away.
    await coordinator.close();
    await proxy.restore();
    coordinator = await start();
    const back = await FakeWorker.join(coordinator.url, 'outage-w4', { model: MODEL, identity });
    try {
      const receipt = await back.next('job.receipt', 20_000);
      assert.equal(receipt.jobId, jobId);
      assert.equal(receipt.usage.completionTokens, 5, 'the worker is paid for what it delivered before the restart');
      await eventually(() => coordinator.billing.deferredSettlements === 0, 5_000, 'the kept settlement to land');
      assert.equal(before - BigInt((await balance()).balance_nanotons), BigInt(receipt.costNanotons), 'the client is charged its cost once');
      // The job counts on the worker's record too: the event kept before the restart, recorded once after it.
      await eventually(() => coordinator.store.workerRecord('outage-w4')?.cleanJobs === 1, 15_000, "the job to count on the worker's record");
      const audit = await auditCoordinator(dataDir, { store: directUrl });
      assert.deepEqual(audit.findings, [], 'the shared books balance');
      const spool = SettlementSpool.open(dataDir);
      try {
        assert.deepEqual(spool.load(), { jobs: [], unreadable: [] }, 'nothing left kept');
        await eventually(() => spool.standingWrites() === 0, 5_000, 'no standing write left in the file');
      } finally {
        spool.close();
      }
    } finally {
      back.close();
      await back.closed;
    }
  });
});

/** Serves every job offered to `fake`: accepted, `text` one character a chunk, done. */
function serveEveryOffer(fake: FakeWorker, text: string): void {
  fake.socket.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as CoordinatorFrame;
    if (frame.type !== 'job.offer') return;
    fake.send({ type: 'job.accept', jobId: frame.jobId });
    [...text].forEach((ch, seq) => fake.send({ type: 'job.chunk', jobId: frame.jobId, seq, text: ch, tokens: 1 }));
    fake.send({ type: 'job.done', jobId: frame.jobId, finishReason: 'length', usage: { promptTokens: 1, completionTokens: text.length } });
  });
}

const noNats = missingBinary('nats-server') ?? false;
if (noNats) console.log(`skipped: coordinators whose bus goes away — ${noNats}`);

describe('coordinators whose bus goes away for a while', { skip: skip || noNats }, () => {
  let nats: TestEngine;
  let natsPort: number;
  const coordinators: Coordinator[] = [];
  let dir: string;
  const ask = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 }).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a' }], max_tokens: 3 });
  const routes = async (c: Coordinator) => ((await (await fetch(`${c.url}/healthz`)).json()) as { cluster?: { workers: number } }).cluster?.workers ?? 0;
  const until = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  before(async () => {
    nats = await startNats();
    natsPort = Number(new URL(nats.url).port);
    const store = await database('bus_outage');
    dir = await mkdtemp(join(tmpdir(), 'silkworm-bus-outage-'));
    for (const name of ['a', 'b']) coordinators.push(await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: join(dir, name), apiKeys: [], store, bus: nats.url, explorationRate: 0, logger: createLogger('c', { level: process.env.OUTAGE_LOG ?? 'silent' }) }));
  });
  after(async () => {
    for (const c of coordinators) await c.close();
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('an instance with no worker of its own answers 503 cluster_unavailable while cut off, and routes over the cluster again once the bus is back', async () => {
    const [a, b] = coordinators as [Coordinator, Coordinator];
    const fake = await FakeWorker.join(a.url, 'bus-w1', { model: MODEL });
    serveEveryOffer(fake, 'bcd');
    try {
      await until(async () => (await routes(b)) === 1, "b to route to a's worker");
      assert.equal((await ask(b.url)).choices[0]?.message.content, 'bcd', 'served through the bus');

      await nats.stop();
      await until(async () => (await (await fetch(`${b.url}/metrics`)).text()).includes('silkworm_bus_connected 0'), 'b to see the bus gone');
      await assert.rejects(ask(b.url), (error: unknown) => error instanceof OpenAI.APIError && error.status === 503 && error.code === 'cluster_unavailable' && /lost the link to the other instances/.test(error.message));
      assert.deepEqual(((await (await fetch(`${b.url}/healthz`)).json()) as { cluster: unknown }).cluster, { instances: 1, workers: 0, bus: 'reconnecting' });
      assert.equal((await ask(a.url)).choices[0]?.message.content, 'bcd', 'a still serves its own worker');

      nats = await startNats({ port: natsPort });
      await until(async () => (await routes(b)) === 1, "b to route to a's worker again");
      assert.match(await (await fetch(`${b.url}/metrics`)).text(), /^silkworm_bus_connected 1$/m);
      assert.deepEqual(((await (await fetch(`${b.url}/healthz`)).json()) as { cluster: unknown }).cluster, { instances: 2, workers: 1, bus: 'connected' });
      assert.equal((await ask(b.url)).choices[0]?.message.content, 'bcd', 'served through the bus again');
    } finally {
      fake.close();
      await fake.closed;
    }
  });
});

describe('a coordinator on SQLite whose disk cannot be written for a while', () => {
  test('requests get a retryable 503; a job that ends meanwhile is settled once it can be: its worker paid, its client charged once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'silkworm-disk-'));
    const coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir, apiKeys: [KEY], adminKey: ADMIN, explorationRate: 0, logger: createLogger('d', { level: process.env.OUTAGE_LOG ?? 'silent' }) });
    const fake = await FakeWorker.join(coordinator.url, 'disk-w1', { model: MODEL });
    try {
      const clientId = clientIdForKey(KEY);
      coordinator.store.deposit(clientId, DEPOSIT, 'disk-d1');
      const client = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: KEY, maxRetries: 0 });
      // The disk stops taking writes: the store's connection made read-only, so every write
      // fails with SQLITE_READONLY, as on a file system remounted read-only after disk errors.
      const db = (coordinator.store as unknown as { db: Database.Database }).db;
      const answer = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a' }], max_tokens: 5, stream: true, stream_options: { include_usage: true } });
      const { jobId } = await fake.nextNew('job.offer');
      fake.send({ type: 'job.accept', jobId });
      [...'vwxyz'].forEach((piece, seq) => fake.send({ type: 'job.chunk', jobId, seq, text: piece, tokens: 1 }));
      db.pragma('query_only = ON');
      fake.send({ type: 'job.done', jobId, finishReason: 'length', usage: { promptTokens: 1, completionTokens: 5 } });
      let read = '';
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of await answer) {
        read += chunk.choices[0]?.delta?.content ?? '';
        usage = chunk.usage ?? usage;
      }
      assert.equal(read, 'vwxyz', 'the client has its whole answer');
      assert.equal(usage?.completion_tokens, 5);
      assert.equal(coordinator.billing.deferredSettlements, 1, 'the settlement is kept');
      assert.equal(fake.frames.some((f) => f.type === 'job.receipt'), false, 'no receipt before the job is on the books');

      // A new request's hold cannot be written: a retryable 503, no worker asked.
      const offers = fake.frames.filter((f) => f.type === 'job.offer').length;
      await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a' }], max_tokens: 4 }), (error: unknown) => error instanceof OpenAI.APIError && error.status === 503 && error.code === 'store_unavailable');
      assert.equal(fake.frames.filter((f) => f.type === 'job.offer').length, offers, 'no worker was offered the job');

      // Writable again (the operator fixed the disk): the kept settlement lands on its own.
      db.pragma('query_only = OFF');
      const receipt = await fake.next('job.receipt', 20_000);
      assert.equal(receipt.jobId, jobId);
      assert.equal(receipt.usage.completionTokens, 5, 'the worker is paid for what it delivered');
      assert.equal(coordinator.billing.deferredSettlements, 0);
      assert.equal(DEPOSIT - coordinator.store.balance(clientId), BigInt(receipt.costNanotons), 'the client is charged the cost once');
      await eventually(() => coordinator.store.workerRecord('disk-w1')?.cleanJobs === 1, 10_000, 'the job to count on the worker’s record');
      const audit = await auditCoordinator(dataDir);
      assert.deepEqual(audit.findings, [], 'the books balance');
      assert.equal(audit.checked.jobs, 1);
    } finally {
      fake.close();
      await fake.closed;
      await coordinator.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
