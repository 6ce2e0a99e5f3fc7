/**
 * A client that lies in its sealed usage receipts, against a real coordinator (SQLite, a real
 * socket) and workers speaking the real protocol. In sealed mode the coordinator cannot read the
 * answer, so a client that posts a receipt key caps its own bill: a receipt of zero tokens makes
 * the job free and leaves the worker unpaid. The coordinator cannot tell from one job who lied;
 * across jobs it can: receipts that fall short of the claims of several different workers, often,
 * pause the client's receipts (network/coordinator/client-receipts.ts), while a client served by
 * one dishonest worker is never paused by that worker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCoordinator, clientIdForKey, type Coordinator } from '../network/coordinator/server.js';
import { createLogger } from '../network/coordinator/log.js';
import { PAUSE_DISPUTED, PAUSE_WORKERS } from '../network/coordinator/client-receipts.js';
import { SealedJobError, SilkwormClient, type UsageMeter } from '../network/client/sdk.js';
import { openRequest, ReplayGuard, type JobKeyPair } from '../network/protocol/sealed.js';
import { encodeAnswerPart } from '../network/protocol/answer-parts.js';
import { identityKeyPairFromSeed } from '../network/protocol/descriptor.js';
import type { Usage } from '../network/protocol/worker-frames.js';
import OpenAI from 'openai';
import { startGateway } from '../network/client/gateway.js';
import { FakeWorker, randomIdentity, sealedDescriptor } from './fake-worker.js';
import { eventually, Harness } from './harness.js';

const LIAR = 'sk-lying-client';
const HONEST = 'sk-honest-client';
const ADMIN = 'admin';
const MODEL = 'silkworm-test';
const ANSWER = 'defghi';
/** What every worker here claims: the prompt as its engine would count it, and one token a character. */
const TRUTH: Usage = { promptTokens: 11, completionTokens: ANSWER.length };

/** A meter that counts one token a character and `prompt` for any prompt; `scale` shrinks every count (a liar's). */
function meter(scale: number): UsageMeter {
  return { countPrompt: () => Math.floor(TRUTH.promptTokens * scale), countText: (text) => Math.floor(text.length * scale), countToolCalls: () => 0 };
}

describe('a client that under-reports its sealed usage receipts', () => {
  const harness = new Harness();
  let coordinator: Coordinator;
  const fakes: FakeWorker[] = [];
  const liarId = clientIdForKey(LIAR);
  const honestId = clientIdForKey(HONEST);

  /** Joins a fake that serves every sealed job it is offered with ANSWER, claiming `claim`. */
  const sealedWorker = async (workerId: string, claim: Usage) => {
    const identity = randomIdentity();
    const fake = await FakeWorker.join(coordinator.url, workerId, { identity });
    fakes.push(fake);
    const { frame, keyPair } = await sealedDescriptor(workerId, identity, { id: MODEL });
    fake.send(frame);
    await eventually(() => coordinator.registry.get(workerId)?.descriptor !== undefined, 5000, `${workerId}'s descriptor`);
    void serveForever(fake, workerId, keyPair, claim);
  };
  const serveForever = async (fake: FakeWorker, workerId: string, keyPair: JobKeyPair, claim: Usage) => {
    const replayGuard = new ReplayGuard();
    for (;;) {
      let offer;
      try {
        offer = await fake.nextNew('job.sealed_offer', 600_000);
      } catch {
        return; // the socket closed: the test is over
      }
      const opened = await openRequest(offer.envelope, { keyPair, workerId, coordinatorId: coordinator.id, models: [MODEL], replayGuard });
      assert.ok(opened.ok, 'the fake opened its sealed job');
      fake.send({ type: 'job.accept', jobId: offer.jobId });
      for (const ch of ANSWER) fake.send({ type: 'job.sealed_chunk', jobId: offer.jobId, ...(await opened.value.responseSealer.seal(encodeAnswerPart({ text: ch }))), tokens: 1 });
      fake.send({ type: 'job.sealed_chunk', jobId: offer.jobId, ...(await opened.value.responseSealer.seal('', { final: true, finishReason: 'length' })), tokens: 0 });
      fake.send({ type: 'job.done', jobId: offer.jobId, finishReason: 'length', usage: claim });
    }
  };
  /** A sealed client of `apiKey` that always picks among `workers`, in turn; with receipts counted by `receiptMeter` when given. */
  const sealedClient = (apiKey: string, workers: string[], receiptMeter?: UsageMeter) => {
    let turn = 0;
    return new SilkwormClient({
      coordinatorUrl: coordinator.url,
      apiKey,
      maxAttempts: 1,
      pickWorker: (candidates) => {
        const wanted = workers[turn++ % workers.length];
        const found = candidates.find((c) => c.workerId === wanted);
        assert.ok(found, `${wanted} is listed`);
        return found;
      },
      ...(receiptMeter ? { receipts: { key: identityKeyPairFromSeed(Buffer.alloc(32, apiKey.length)), meter: () => Promise.resolve(receiptMeter) } } : {}),
    });
  };
  /** One sealed job to its end: the text, and the usage the coordinator reported; then its settlement. */
  const ask = async (client: SilkwormClient) => {
    let text = '';
    let usage: Usage | undefined;
    for await (const event of client.chat({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], params: { temperature: 0 }, maxTokens: ANSWER.length })) {
      if (event.type === 'text') text += event.text;
      if (event.type === 'done') usage = event.usage;
    }
    await coordinator.jobs.settled();
    return { text, usage };
  };
  const admin = (path: string, method = 'GET') => fetch(`${coordinator.url}/v1/admin/receipt-pauses${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });

  before(async () => {
    coordinator = await startCoordinator({
      host: '127.0.0.1',
      port: 0,
      dataDir: await harness.tempDir(),
      apiKeys: [LIAR, HONEST],
      adminKey: ADMIN,
      explorationRate: 0,
      requestTimeoutMs: 20_000,
      logger: createLogger('c', { level: 'silent' }),
    });
    for (const [client, reference] of [[liarId, 'd-liar'], [honestId, 'd-honest']] as const) {
      const res = await fetch(`${coordinator.url}/v1/admin/deposits`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ client, nanotons: '1000000000000', reference }) });
      assert.equal(res.status, 201);
    }
    for (const id of ['w1', 'w2', 'w3']) await sealedWorker(id, TRUTH);
    await sealedWorker('inflater', { promptTokens: 500, completionTokens: 500 });
  });
  after(async () => {
    for (const f of fakes) f.socket.terminate();
    await coordinator.close();
    await harness.cleanup();
  });

  test('an honest receipt within the tolerance of the worker’s claim is no dispute, and caps the bill', async () => {
    // The client's tokenizer may merge what the engine generated as two tokens: a little lower is honest.
    const client = sealedClient(HONEST, ['w1'], { ...meter(1), countText: (text) => Math.max(0, text.length - 1) });
    const balance = coordinator.store.balance(honestId);
    const { text, usage } = await ask(client);
    assert.equal(text, ANSWER);
    assert.deepEqual(usage, { ...TRUTH, completionTokens: ANSWER.length - 1 }, 'the usage reported is what the client is billed: its receipt caps the worker’s claim');
    assert.ok(coordinator.store.balance(honestId) < balance, 'the job was billed');
    assert.deepEqual(coordinator.store.disputes('w1'), [], 'within 10 % + 2: no dispute');
    assert.equal(coordinator.store.receiptsPausedAt(honestId), undefined);
  });

  test('one dishonest worker disputing every receipt of an honest client does not pause it', async () => {
    const client = sealedClient(HONEST, ['inflater'], meter(1));
    for (let i = 0; i < PAUSE_DISPUTED + 2; i++) assert.equal((await ask(client)).text, ANSWER);
    assert.equal(coordinator.store.disputes('inflater').filter((d) => d.kind === 'over_client_receipt').length, PAUSE_DISPUTED + 2);
    assert.equal(coordinator.store.receiptsPausedAt(honestId), undefined, 'one worker cannot pause a client');
    assert.equal((await ask(client)).text, ANSWER, 'its sealed jobs with receipts are still served');
  });

  test('receipts that fall short of several workers’ claims, often, are paused: the liar’s next sealed job with a receipt key is refused', async () => {
    const workers = ['w1', 'w2', 'w3'];
    assert.ok(workers.length >= PAUSE_WORKERS);
    const liar = sealedClient(LIAR, workers, meter(0));
    const balance = coordinator.store.balance(liarId);
    for (let i = 0; i < PAUSE_DISPUTED; i++) {
      assert.equal(coordinator.store.receiptsPausedAt(liarId), undefined, `not paused before receipt ${i + 1}`);
      assert.equal((await ask(liar)).text, ANSWER);
    }
    // Until the pause, each lie cost the liar nothing: the loss is bounded by PAUSE_DISPUTED jobs.
    assert.equal(coordinator.store.balance(liarId), balance, 'the lying receipts made those jobs free');
    for (const w of workers) assert.ok(coordinator.store.disputes(w).some((d) => d.kind === 'over_client_receipt'), `${w} disputed a receipt`);
    assert.notEqual(coordinator.store.receiptsPausedAt(liarId), undefined, `paused at the ${PAUSE_DISPUTED}th disputed receipt`);

    const offered = fakes.reduce((n, f) => n + f.frames.filter((fr) => fr.type === 'job.sealed_offer').length, 0);
    await assert.rejects(ask(liar), (error: unknown) => {
      assert.ok(error instanceof SealedJobError);
      assert.equal(error.status, 403);
      assert.equal(error.code, 'receipts_paused');
      assert.equal(error.retryable, false);
      assert.match(error.message, /without the x-silkworm-receipt-key header/);
      return true;
    });
    assert.equal(fakes.reduce((n, f) => n + f.frames.filter((fr) => fr.type === 'job.sealed_offer').length, 0), offered, 'no worker was offered the refused job');
    assert.equal(coordinator.store.balance(liarId), balance, 'nothing was held for it');

    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    assert.match(metrics, /^silkworm_client_receipts_paused_total 1$/m, 'the operator’s metrics count the pause');
    assert.match(metrics, new RegExp(`^silkworm_disputes_total\\{kind="over_client_receipt"\\} ${2 * PAUSE_DISPUTED + 3}$`, 'm'), 'and every disputed receipt: the inflater’s PAUSE_DISPUTED + 3, the liar’s PAUSE_DISPUTED');
    const own = (await (await fetch(`${coordinator.url}/v1/balance`, { headers: { authorization: `Bearer ${LIAR}` } })).json()) as { receipts_paused_at: string | null };
    assert.equal(own.receipts_paused_at, new Date(coordinator.store.receiptsPausedAt(liarId)!).toISOString(), 'the client sees its pause with its balance');
    const listed = (await (await admin('')).json()) as { data: { client: string; disputed: number; workers: number }[] };
    assert.deepEqual(listed.data.map((p) => [p.client, p.disputed, p.workers]), [[liarId, PAUSE_DISPUTED, workers.length]], 'the operator sees the pause and why');
  });

  test('a paused client is still served without a receipt key, billed on the coordinator’s own bounds', async () => {
    const balance = coordinator.store.balance(liarId);
    const { text } = await ask(sealedClient(LIAR, ['w2']));
    assert.equal(text, ANSWER);
    assert.ok(balance - coordinator.store.balance(liarId) > 0n, 'the job was billed this time');
  });

  test('the gateway of a paused client goes on without receipts: its OpenAI client is served, and the gateway says why', async () => {
    const warnings: string[] = [];
    const logger = createLogger('g', { level: 'warn', destination: { write: (line: string) => void warnings.push(line) } });
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, coordinatorUrl: coordinator.url, apiKey: LIAR, logger });
    try {
      const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'local', maxRetries: 0 });
      const balance = coordinator.store.balance(liarId);
      for (let i = 0; i < 2; i++) {
        const answer = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: ANSWER.length, temperature: 0 });
        assert.equal(answer.choices[0]?.message.content, ANSWER);
      }
      await coordinator.jobs.settled();
      assert.ok(balance - coordinator.store.balance(liarId) > 0n, 'billed on the bounds');
      assert.equal(warnings.filter((w) => w.includes('paused this account')).length, 1, 'one warning: the second request did not offer a receipt again');
      assert.notEqual(coordinator.store.receiptsPausedAt(liarId), undefined, 'still paused');
    } finally {
      await gateway.close();
    }
  });

  test('the operator resumes a paused client; its receipts are judged afresh from then on', async () => {
    assert.equal((await admin(`/${encodeURIComponent(honestId)}`, 'DELETE')).status, 404, 'an unpaused client cannot be resumed');
    assert.equal((await fetch(`${coordinator.url}/v1/admin/receipt-pauses`, { headers: { authorization: `Bearer ${LIAR}` } })).status, 401, 'a client cannot resume itself');
    const resumed = await admin(`/${encodeURIComponent(liarId)}`, 'DELETE');
    assert.equal(resumed.status, 200);
    assert.equal(coordinator.store.receiptsPausedAt(liarId), undefined);
    assert.deepEqual(((await (await admin('')).json()) as { data: unknown[] }).data, []);
    assert.equal(((await (await fetch(`${coordinator.url}/v1/balance`, { headers: { authorization: `Bearer ${LIAR}` } })).json()) as { receipts_paused_at: string | null }).receipts_paused_at, null);
    // One more lie does not pause it again at once: the receipts before the resume no longer count.
    assert.equal((await ask(sealedClient(LIAR, ['w1'], meter(0)))).text, ANSWER);
    assert.equal(coordinator.store.receiptsPausedAt(liarId), undefined);
  });
});
