/**
 * Sealed mode end to end with real parts: the openai client → silkworm gateway (seals) →
 * coordinator (relays ciphertext) → worker → OS-sandboxed job process (opens, generates,
 * seals the answer). A canary prompt must appear nowhere but in the client's hands.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import { pino } from 'pino';
import { startCoordinator, type Coordinator } from '../network/coordinator/server.js';
import { startGateway, type Gateway } from '../network/client/gateway.js';
import { sealRequest, newJobId } from '../network/protocol/sealed.js';
import { fromBase64Url, toBase64Url } from '../network/protocol/encoding.js';
import { successorText } from '../main/models/test-model.js';
import { Harness, eventually } from './harness.js';

const CANARY = 'CANARY-7f3a9c-please-never-log-me';
const MODEL = 'silkworm-test';

/** Every file under `dir` that contains `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, String(entry));
    if (!(await stat(path)).isFile()) continue;
    if ((await readFile(path)).includes(needle)) found.push(path);
  }
  return found;
}

describe('sealed mode', () => {
  const harness = new Harness();
  const coordinatorLog: string[] = [];
  let coordinator: Coordinator;
  let coordinatorDir = '';
  let worker: Awaited<ReturnType<Harness['worker']>>;
  let gateway: Gateway;
  let client: OpenAI;

  before(async () => {
    coordinatorDir = await harness.tempDir();
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (coordinatorLog.push(chunk.toString()), done()) });
    coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: coordinatorDir, apiKeys: [], logger: pino({ level: 'debug' }, sink) });
    worker = await harness.worker(coordinator.url);
    await eventually(() => [...coordinator.registry.all()].some((w) => w.descriptor !== undefined && w.available), 10_000, 'the worker descriptor');
    gateway = await startGateway({ host: '127.0.0.1', port: 0, coordinatorUrl: coordinator.url, minTier: 'sandboxed' });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await gateway.close();
    await coordinator.close();
    await harness.cleanup();
  });

  test('the coordinator publishes the worker’s signed descriptor with its sandboxed tier', async () => {
    const list = (await (await fetch(`${coordinator.url}/v1/workers?model=${MODEL}&tier=sandboxed`)).json()) as { data: { descriptor: { tier: string; workerId: string } }[] };
    assert.equal(list.data.length, 1);
    assert.equal(list.data[0]?.descriptor.tier, 'sandboxed');
    assert.equal(list.data[0]?.descriptor.workerId, worker.workerId);
    const tee = (await (await fetch(`${coordinator.url}/v1/workers?tier=tee`)).json()) as { data: unknown[] };
    assert.equal(tee.data.length, 0, 'no worker claims the tee tier');
  });

  test('a stock openai client streams through the gateway, sealed end to end, exact text', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: `${CANARY} abc` }], max_tokens: 30, temperature: 0, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    assert.equal(response.headers.get('x-silkworm-confidentiality'), 'sealed');
    assert.equal(response.headers.get('x-silkworm-worker-tier'), 'sandboxed');
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, successorText('abc', 30));
    assert.equal(usage?.completion_tokens, 30);
    const once = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `${CANARY} xyz` }], max_tokens: 5, temperature: 0 });
    assert.equal(once.choices[0]?.message.content, successorText('xyz', 5));
  });

  test('kill -9 of the job process mid-generation ends the stream with an error', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `${CANARY} abc` }], max_tokens: 1900, temperature: 0, stream: true });
    await assert.rejects(async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) process.kill(worker.enginePid, 'SIGKILL');
    });
    const restarted = await worker.proc.waitFor((l) => l.msg === 'job process restarted and model reloaded', 30_000, 'engine restart');
    worker.enginePid = Number(restarted.enginePid);
  });

  test('the canary prompt and its answer reach no log, database or temp file outside the client', async () => {
    const answer = successorText('abc', 30);
    assert.ok(coordinatorLog.length > 0, 'the coordinator logged at debug level');
    assert.equal(coordinatorLog.filter((l) => l.includes(CANARY) || l.includes(answer)).length, 0, 'coordinator log');
    assert.equal(worker.proc.output.filter((l) => l.includes(CANARY) || l.includes(answer)).length, 0, 'worker log');
    assert.deepEqual(await filesContaining(coordinatorDir, CANARY), []);
    const workerDir = String(worker.proc.child.spawnargs[worker.proc.child.spawnargs.indexOf('--data') + 1]);
    assert.deepEqual(await filesContaining(workerDir, CANARY), []);
    const temp = (await readdir(tmpdir())).filter((n) => !n.startsWith('silkworm-') && !n.startsWith('tsx-'));
    for (const name of temp) {
      const path = join(tmpdir(), name);
      if ((await stat(path).catch(() => undefined))?.isFile()) assert.equal((await readFile(path)).includes(CANARY), false, path);
    }
  });

  test('tampered, replayed and misaddressed envelopes fail closed', async () => {
    const workers = (await (await fetch(`${coordinator.url}/v1/workers`)).json()) as { coordinatorId: string; data: { descriptor: { workerId: string; hpke: { publicKey: string } } }[] };
    const target = workers.data[0]?.descriptor;
    assert.ok(target);
    const seal = async (jobId = newJobId()) =>
      (
        await sealRequest({
          recipientPublicKey: target.hpke.publicKey,
          jobId,
          model: MODEL,
          coordinatorId: workers.coordinatorId,
          workerId: target.workerId,
          maxTokens: 5,
          body: { messages: [{ role: 'user', content: 'abc' }], params: { temperature: 0 } },
        })
      ).envelope;
    const post = async (envelope: unknown) => {
      const r = await fetch(`${coordinator.url}/v1/sealed/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
      return { status: r.status, text: await r.text() };
    };
    const good = await seal();
    const bytes = fromBase64Url(good.ciphertext);
    assert.ok(bytes);
    bytes[3] = (bytes[3] ?? 0) ^ 1;
    const flipped = await post({ ...good, ciphertext: toBase64Url(bytes) });
    assert.equal(flipped.status, 200);
    assert.match(flipped.text, /"type":"error".*decrypt_failed/);
    assert.doesNotMatch(flipped.text, /"type":"chunk"/);

    const fine = await seal();
    const first = await post(fine);
    assert.match(first.text, /"type":"usage"/);
    assert.equal((await post(fine)).status, 409, 'a replay is refused by the coordinator');

    const otherModel = await post({ ...(await seal()), model: 'other' });
    assert.equal(otherModel.status, 404);
    const wrongCoordinator = await post({ ...(await seal()), coordinatorId: 'coord-someone-else' });
    assert.equal(wrongCoordinator.status, 421);
    const staleKey = await post({ ...(await seal()), recipientKey: toBase64Url(new Uint8Array(32).fill(9)) });
    assert.equal(staleKey.status, 409);
    // A declared prompt that cannot fit the worker's context with max_tokens is refused before any hold or work.
    const started = worker.proc.count('job started');
    const overContext = await post({ ...(await seal()), promptTokens: 2048 });
    assert.equal(overContext.status, 400);
    assert.match(overContext.text, /context_length_exceeded/);
    assert.equal(worker.proc.count('job started'), started);
  });
});
