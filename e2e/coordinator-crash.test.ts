/**
 * A coordinator killed in the middle of a job (SIGKILL: no shutdown, nothing settled): its next
 * start bills what the job had delivered by its last checkpoint of the jobs in flight. The worker
 * is paid for that (its receipt comes when it connects again), the client is charged it once and
 * gets the rest of its hold back, and the books audit clean. Before, the whole hold was refunded
 * and the worker was paid nothing for the work it delivered.
 *
 * One of two instances sharing PostgreSQL killed the same way, and never started again: the other
 * bills the same checkpoint once the operator retires the dead one (instances-api.ts).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import pg from 'pg';
import { clientIdForKey, startCoordinator, type Coordinator } from '../network/coordinator/server.js';
import { auditCoordinator } from '../network/coordinator/audit.js';
import { createLogger } from '../network/coordinator/log.js';
import { missingBinary, startNats, startPostgres, type TestEngine } from '../network/node-kit/test-engines.js';
import { FakeWorker, randomIdentity } from './fake-worker.js';
import { Harness, eventually, type SilkwormProcess } from './harness.js';

const KEY = 'sk-crash';
const ADMIN = 'admin-crash';
const MODEL = 'crash-model';

describe('a coordinator killed in the middle of a job', () => {
  const harness = new Harness();
  after(() => harness.cleanup());

  test('its next start bills what the job delivered by the last checkpoint: the worker paid, the client charged once, the rest refunded', async () => {
    const dataDir = await harness.tempDir();
    const first = await harness.coordinator({ apiKeys: [KEY], dataDir, extra: ['--admin-key', ADMIN] });
    const deposit = 1_000_000_000n;
    const deposited = await fetch(`${first.url}/v1/admin/deposits`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ client: clientIdForKey(KEY), nanotons: deposit.toString(), reference: 'crash-d1' }) });
    assert.equal(deposited.status, 201);
    const identity = randomIdentity();
    const fake = await FakeWorker.join(first.url, 'crash-w1', { model: MODEL, identity });
    const client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const answer = (async () => {
      let read = '';
      try {
        for await (const chunk of await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a' }], max_tokens: 500, stream: true })) read += chunk.choices[0]?.delta?.content ?? '';
      } catch {
        // The coordinator dies under the stream.
      }
      return read;
    })();
    const { jobId } = await fake.nextNew('job.offer');
    fake.send({ type: 'job.accept', jobId });
    // A token every 20 ms until the coordinator has checkpointed the job (every 5 s, jobs 2 s old).
    let sent = 0;
    const streaming = setInterval(() => fake.send({ type: 'job.chunk', jobId, seq: sent++, text: 'x', tokens: 1 }), 20);
    const file = new Database(join(dataDir, 'coordinator.sqlite'), { readonly: true });
    let checkpointed: { credits: { completionTokens: number }[] } | undefined;
    try {
      await eventually(() => {
        const row = file.prepare('SELECT job FROM job_checkpoints WHERE job_id = ?').get(jobId) as { job: string } | undefined;
        checkpointed = row ? (JSON.parse(row.job) as typeof checkpointed) : undefined;
        return checkpointed !== undefined;
      }, 15_000, 'the job to be checkpointed');
    } finally {
      file.close();
    }
    const atCheckpoint = checkpointed!.credits[0]!.completionTokens;
    assert.ok(atCheckpoint > 0 && atCheckpoint <= sent, `checkpointed ${atCheckpoint} of ${sent} tokens sent`);
    first.proc.kill('SIGKILL');
    await first.proc.exited;
    clearInterval(streaming);
    fake.close();
    await fake.closed;
    assert.ok((await answer).length >= atCheckpoint, 'the client had read at least what was checkpointed');

    const second = await harness.coordinator({ apiKeys: [KEY], dataDir, extra: ['--admin-key', ADMIN] });
    const billed = await second.proc.waitFor((l) => l.msg === 'billed what the jobs cut off when this coordinator last stopped had delivered, as last checkpointed', 5_000, 'the checkpointed job billed');
    assert.equal(billed.jobs, 1);
    // The worker connects again and gets its receipt for what the checkpoint counted.
    const back = await FakeWorker.join(second.url, 'crash-w1', { model: MODEL, identity });
    try {
      const receipt = await back.next('job.receipt', 10_000);
      assert.equal(receipt.jobId, jobId);
      assert.equal(receipt.outcome, 'failed');
      assert.equal(receipt.usage.completionTokens, atCheckpoint, 'paid for what was delivered by the checkpoint');
      const balance = BigInt(((await (await fetch(`${second.url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { balance_nanotons: string }).balance_nanotons);
      assert.equal(deposit - balance, BigInt(receipt.costNanotons), 'the client is charged that once; the rest of the hold is back');
      const audit = await auditCoordinator(dataDir);
      assert.deepEqual(audit.findings, [], 'the books balance');
      assert.equal(audit.checked.jobs, 1);
    } finally {
      back.close();
      await back.closed;
    }
  });
});

/** Completion tokens of a job as checkpointed in PostgreSQL, or 0 while it has no checkpoint. */
async function checkpointedTokens(raw: pg.Client, jobId: string): Promise<number> {
  const row = (await raw.query('SELECT job FROM job_checkpoints WHERE job_id = $1', [jobId])).rows[0] as { job: string } | undefined;
  return row ? (JSON.parse(row.job) as { credits: { completionTokens: number }[] }).credits[0]!.completionTokens : 0;
}

/**
 * Credits KEY's client through `instance`, joins a scripted worker there and streams a job until
 * the instance has checkpointed it in PostgreSQL; then SIGKILLs the instance. Returns the job,
 * the tokens sent, what the last checkpoint counted, and the worker's identity.
 */
async function killMidJob(instance: { url: string; proc: SilkwormProcess }, postgresUrl: string, workerId: string, deposit: bigint) {
  const deposited = await fetch(`${instance.url}/v1/admin/deposits`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ client: clientIdForKey(KEY), nanotons: deposit.toString(), reference: `${workerId}-d1` }) });
  assert.equal(deposited.status, 201);
  const identity = randomIdentity();
  const fake = await FakeWorker.join(instance.url, workerId, { model: MODEL, identity });
  const client = new OpenAI({ baseURL: `${instance.url}/v1`, apiKey: KEY, maxRetries: 0 });
  const answer = (async () => {
    try {
      for await (const chunk of await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'a' }], max_tokens: 500, stream: true })) void chunk;
    } catch {
      // The instance dies under the stream.
    }
  })();
  const { jobId } = await fake.nextNew('job.offer');
  fake.send({ type: 'job.accept', jobId });
  let sent = 0;
  const streaming = setInterval(() => fake.send({ type: 'job.chunk', jobId, seq: sent++, text: 'x', tokens: 1 }), 20);
  const raw = new pg.Client({ connectionString: postgresUrl });
  await raw.connect();
  let atCheckpoint = 0;
  try {
    for (const deadline = Date.now() + 15_000; (await checkpointedTokens(raw, jobId)) === 0; await new Promise((resolve) => setTimeout(resolve, 100))) {
      assert.ok(Date.now() < deadline, 'the job was checkpointed');
    }
    instance.proc.kill('SIGKILL');
    await instance.proc.exited;
    // The row as it stood when the instance died.
    atCheckpoint = await checkpointedTokens(raw, jobId);
  } finally {
    clearInterval(streaming);
    await raw.end();
  }
  await answer;
  fake.close();
  await fake.closed;
  assert.ok(atCheckpoint > 0 && atCheckpoint <= sent, `checkpointed ${atCheckpoint} of ${sent} tokens sent`);
  return { jobId, sent, atCheckpoint, identity };
}

const pgSkip = missingBinary('postgres') ?? false;
if (pgSkip) console.log(`skipped: retiring a dead instance — ${pgSkip}`);

describe('an instance sharing PostgreSQL killed in the middle of a job, never to run again', { skip: pgSkip }, () => {
  const harness = new Harness();
  let postgres: TestEngine | undefined;
  let survivor: Coordinator | undefined;
  after(async () => {
    await survivor?.close();
    await harness.cleanup();
    await postgres?.stop();
  });

  test('the operator retires it from another instance: what its job delivered by the last checkpoint is billed once, and its worker paid', async () => {
    postgres = await startPostgres();
    const dead = await harness.coordinator({ apiKeys: [KEY], extra: ['--store', postgres.url, '--admin-key', ADMIN] });
    survivor = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), store: postgres.url, apiKeys: [KEY], adminKey: ADMIN, retireQuietMs: 1_000, logger: createLogger('c', { level: 'silent' }) });
    const admin = (path: string, method = 'GET') => fetch(`${survivor!.url}/v1/admin/instances${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
    const deadId = ((await (await fetch(`${dead.url}/healthz`)).json()) as { coordinatorId: string }).coordinatorId;
    const deposit = 1_000_000_000n;
    const { jobId, atCheckpoint, identity } = await killMidJob(dead, postgres.url, 'retire-w1', deposit);

    const listed = (await (await admin('')).json()) as { data: { instance: string; running: boolean; checkpoints: number; holds: number }[] };
    assert.deepEqual(
      listed.data.filter((w) => w.instance === deadId).map((w) => [w.running, w.checkpoints, w.holds]),
      [[false, 1, 1]],
      'the operator sees the dead instance, its checkpoint and its hold',
    );
    assert.equal((await admin(`/${encodeURIComponent(survivor.id)}/retire`, 'POST')).status, 409, 'an instance cannot retire itself');
    // By the time an operator retires it, the others' sweeps have refunded its holds whole.
    const expire = new pg.Client({ connectionString: postgres.url });
    await expire.connect();
    await expire.query('UPDATE holds SET expires_at = 1 WHERE job_id = $1', [jobId]);
    await expire.end();
    assert.deepEqual(survivor.store.releaseExpiredHolds(Date.now()), [jobId]);
    assert.equal(BigInt(((await (await fetch(`${survivor.url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { balance_nanotons: string }).balance_nanotons), deposit, 'refunded whole');
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the quiet period since its last checkpoint
    const retired = await admin(`/${encodeURIComponent(deadId)}/retire`, 'POST');
    assert.equal(retired.status, 200);
    assert.deepEqual(await retired.json(), { instance: deadId, settled: 1, refused: [], unreadable: 0 });
    assert.equal((await admin(`/${encodeURIComponent(deadId)}/retire`, 'POST')).status, 404, 'nothing is billed twice');

    // The worker, now on the surviving instance, gets its receipt for what the checkpoint counted.
    const back = await FakeWorker.join(survivor.url, 'retire-w1', { model: MODEL, identity });
    try {
      const receipt = await back.next('job.receipt', 10_000);
      assert.equal(receipt.jobId, jobId);
      assert.equal(receipt.usage.completionTokens, atCheckpoint, 'paid for what was delivered by the checkpoint');
      const balance = BigInt(((await (await fetch(`${survivor.url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { balance_nanotons: string }).balance_nanotons);
      assert.equal(deposit - balance, BigInt(receipt.costNanotons), 'the client is charged that once, from its balance (the hold was refunded)');
      const audit = await auditCoordinator('', { store: postgres.url });
      assert.deepEqual(audit.findings, [], 'the books balance');
      assert.equal(audit.checked.jobs, 1);
    } finally {
      back.close();
      await back.closed;
    }
  });
});

const busSkip = missingBinary('postgres') ?? missingBinary('nats-server') ?? false;
if (busSkip) console.log(`skipped: receipts billed at a restart, through the bus — ${busSkip}`);

describe('an instance on PostgreSQL and NATS killed in the middle of a job, then started again', { skip: busSkip }, () => {
  const harness = new Harness();
  let postgres: TestEngine | undefined;
  let nats: TestEngine | undefined;
  let other: Coordinator | undefined;
  after(async () => {
    await other?.close();
    await harness.cleanup();
    await postgres?.stop();
    await nats?.stop();
  });

  test('the receipt it bills at its start reaches the worker, now on another instance, through the bus: no reconnection needed', async () => {
    postgres = await startPostgres();
    nats = await startNats();
    const extra = ['--store', postgres.url, '--bus', nats.url, '--admin-key', ADMIN];
    const dataDir = await harness.tempDir();
    const first = await harness.coordinator({ apiKeys: [KEY], dataDir, extra });
    other = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), store: postgres.url, bus: nats.url, apiKeys: [KEY], logger: createLogger('c', { level: 'silent' }) });
    const { jobId, sent, identity } = await killMidJob(first, postgres.url, 'restart-w1', 1_000_000_000n);

    // The worker moves to the other instance, and stays there.
    const moved = await FakeWorker.join(other.url, 'restart-w1', { model: MODEL, identity });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // its resend of unacknowledged receipts (none yet) is over
      assert.equal(moved.frames.filter((f) => f.type === 'job.receipt').length, 0);
      const again = await harness.coordinator({ apiKeys: [KEY], dataDir, extra });
      await again.proc.waitFor((l) => l.msg === 'billed what the jobs cut off when this coordinator last stopped had delivered, as last checkpointed', 5_000, 'the checkpointed job billed');
      const receipt = await moved.next('job.receipt', 15_000);
      assert.equal(receipt.jobId, jobId, 'relayed through the bus to the instance the worker is on');
      assert.ok(receipt.usage.completionTokens > 0 && receipt.usage.completionTokens <= sent);
    } finally {
      moved.close();
      await moved.closed;
    }
  });
});
