/**
 * Failures on the serving path with real processes: load shared by two workers, a job process
 * or a whole worker killed mid-job (the job continues elsewhere, exactly), and a coordinator
 * restart the workers ride out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Harness, eventually, isAlive, type SilkwormProcess } from './harness.js';
import { successorText } from '../main/models/test-model.js';

const MODEL = 'silkworm-test';
const LONG = 1900; // tokens: long enough to kill something mid-stream (the test model's context is 2048)

/** Streams 'abc' → LONG tokens; calls `midway` once after the first text arrives. */
async function streamLong(client: OpenAI, midway: () => void | Promise<void>): Promise<{ text: string; usage: OpenAI.CompletionUsage | undefined }> {
  const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: LONG, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage: OpenAI.CompletionUsage | undefined;
  let fired = false;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
    if (!fired && text.length > 0) {
      fired = true;
      await midway();
    }
  }
  return { text, usage };
}

describe('failover', () => {
  const harness = new Harness();
  let url = '';
  let client: OpenAI;
  const workers: Awaited<ReturnType<Harness['worker']>>[] = [];

  /** The worker whose log says it started the most recent job. */
  async function servingWorker(): Promise<(typeof workers)[number]> {
    const started = workers.map((w) => w.proc.waitForNext((l) => l.msg === 'job started', 10_000).then(() => w));
    return Promise.race(started);
  }

  before(async () => {
    ({ url } = await harness.coordinator());
    workers.push(await harness.worker(url), await harness.worker(url));
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => harness.cleanup());

  test('two workers share the load', async () => {
    const served = (p: SilkwormProcess) => p.count('job served');
    const before = workers.map((w) => served(w.proc));
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 300, temperature: 0 })),
    );
    for (const a of answers) assert.equal(a.choices[0]?.message.content, successorText('abc', 300));
    await eventually(() => workers.reduce((n, w, i) => n + served(w.proc) - (before[i] ?? 0), 0) === 6, 5000, 'six jobs logged');
    const perWorker = workers.map((w, i) => served(w.proc) - (before[i] ?? 0));
    assert.ok(perWorker.every((n) => n >= 1), `each worker served some jobs: ${perWorker.join(' / ')}`);
  });

  test('kill -9 of the job process mid-job: the stream continues on the other worker, exactly', async () => {
    let victim: (typeof workers)[number] | undefined;
    const serving = servingWorker();
    const { text, usage } = await streamLong(client, async () => {
      victim = await serving;
      process.kill(victim.enginePid, 'SIGKILL');
    });
    assert.ok(victim);
    assert.equal(text.length, LONG);
    assert.equal(text, successorText('abc', LONG));
    assert.equal(usage?.completion_tokens, LONG);
    // The supervisor restarts the job process and reloads the model.
    const restarted = await victim.proc.waitFor((l) => l.msg === 'job process restarted and model reloaded', 30_000, 'engine restart');
    assert.notEqual(Number(restarted.enginePid), victim.enginePid);
    victim.enginePid = Number(restarted.enginePid);
  });

  test('kill -9 of a worker mid-job: the stream continues elsewhere and its job process exits too', async () => {
    let victim: (typeof workers)[number] | undefined;
    const serving = servingWorker();
    const { text } = await streamLong(client, async () => {
      victim = await serving;
      victim.proc.kill('SIGKILL');
    });
    assert.ok(victim);
    assert.equal(text, successorText('abc', LONG));
    const orphan = victim.enginePid;
    await eventually(() => !isAlive(orphan), 5000, 'the job process to exit with its worker');
    workers.splice(workers.indexOf(victim), 1);
  });

  test('with no other worker left, a job whose worker dies ends in a clean error, never a hang', async () => {
    assert.equal(workers.length, 1);
    const [last] = workers;
    assert.ok(last);
    const started = Date.now();
    await assert.rejects(
      streamLong(client, () => last.proc.kill('SIGKILL')),
      (e: unknown) => e instanceof OpenAI.APIError && /worker/i.test(e.message),
    );
    assert.ok(Date.now() - started < 10_000);
    workers.length = 0;
  });
});

describe('coordinator restart', () => {
  const harness = new Harness();
  after(() => harness.cleanup());

  test('the worker reconnects to a restarted coordinator and serves again', async () => {
    const first = await harness.coordinator();
    const port = Number(new URL(first.url).port);
    const worker = await harness.worker(first.url);
    first.proc.kill('SIGKILL');
    await first.proc.exited;
    await worker.proc.waitFor((l) => l.msg === 'lost the coordinator', 10_000, 'lost');
    const second = await harness.coordinator({ port, dataDir: first.dataDir });
    await worker.proc.waitForNext((l) => l.msg === 'connected to the coordinator', 20_000, 'reconnected');
    const client = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 5, temperature: 0 });
    assert.equal(answer.choices[0]?.message.content, 'defgh');
  });
});
