/**
 * A coordinator killed in the middle of a job (SIGKILL: no shutdown, nothing settled): its next
 * start bills what the job had delivered by its last checkpoint of the jobs in flight. The worker
 * is paid for that (its receipt comes when it connects again), the client is charged it once and
 * gets the rest of its hold back, and the books audit clean. Before, the whole hold was refunded
 * and the worker was paid nothing for the work it delivered.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { clientIdForKey } from '../network/coordinator/server.js';
import { auditCoordinator } from '../network/coordinator/audit.js';
import { FakeWorker, randomIdentity } from './fake-worker.js';
import { Harness, eventually } from './harness.js';

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
