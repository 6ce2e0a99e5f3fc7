/**
 * A model that thinks before it answers (Qwen 3, DeepSeek R1, gpt-oss), served for real: the
 * generated test model's thinking variant writes a thought, closes it, then answers. Its
 * thoughts are generated work: the worker streams them as reasoning, the coordinator counts them
 * with the model's tokenizer and bills them with the answer, and clients get them as
 * `reasoning_content` (as DeepSeek's API, vLLM and llama.cpp's server return them) with OpenAI's
 * `completion_tokens_details.reasoning_tokens`. An honest worker serving such a model is paid for
 * its thoughts and never disputed, in both modes, and its answers pass spot checks, which re-score
 * the thoughts with the answer (every job is checked here). A worker that pads its thoughts with
 * text the model did not write, to be paid for more tokens, fails them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startCoordinator, clientIdForKey, type Coordinator } from '../network/coordinator/server.js';
import { createLogger } from '../network/coordinator/log.js';
import { loadCatalogFile } from '../network/coordinator/catalog-api.js';
import { startGateway, type Gateway } from '../network/client/gateway.js';
import { DEFAULT_PRICE_LIST, jobCost, priceOf } from '../network/protocol/pricing.js';
import { successorText } from '../main/models/test-model.js';
import { LlamaEngine } from '../main/engine/llama-engine.js';
import { FakeWorker, randomIdentity, sealedDescriptor } from './fake-worker.js';
import { openRequest, ReplayGuard } from '../network/protocol/sealed.js';
import { encodeAnswerPart } from '../network/protocol/answer-parts.js';
import { eventually, Harness, metricValue } from './harness.js';

const KEY = 'sk-thinking';
const ADMIN = 'admin-thinking';
const MODEL = 'silkworm-test';
/** What the thinking test model writes: this thought, then "</think>", then the answer. */
const THOUGHT = '!"';
const answerOf = (tokens: number) => successorText('>', tokens);

describe('a model that thinks before it answers', () => {
  const harness = new Harness({ model: { thinking: true } });
  let coordinator: Coordinator;
  let gateway: Gateway;
  let workerId = '';
  let worker: Awaited<ReturnType<Harness['worker']>>;
  let sha256 = '';
  const admin = (path: string, init: RequestInit = {}) => fetch(`${coordinator.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' } });
  const balance = async () => BigInt(((await (await fetch(`${coordinator.url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { balance_nanotons: string }).balance_nanotons);
  const disputes = async (id = workerId) => ((await (await admin(`/v1/admin/workers/${id}`)).json()) as { disputes: number }).disputes;
  const price = priceOf(DEFAULT_PRICE_LIST, MODEL);

  before(async () => {
    const catalog = await harness.catalog(MODEL);
    sha256 = catalog.sha256;
    coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), apiKeys: [KEY], adminKey: ADMIN, catalog: await loadCatalogFile(catalog.file), verifyRate: 1, logger: createLogger('c', { level: 'silent' }) });
    await coordinator.spotChecksLoaded;
    const deposited = await admin('/v1/admin/deposits', { method: 'POST', body: JSON.stringify({ client: clientIdForKey(KEY), nanotons: '10000000000', reference: 'thinking-1' }) });
    assert.equal(deposited.status, 201);
    worker = await harness.worker(coordinator.url);
    ({ workerId } = worker);
    await eventually(() => coordinator.registry.get(workerId)?.descriptor !== undefined, 10_000, 'the worker descriptor');
    gateway = await startGateway({ host: '127.0.0.1', port: 0, coordinatorUrl: coordinator.url, apiKey: KEY, minTier: 'unsandboxed', logger: createLogger('g', { level: 'silent' }) });
  });
  after(async () => {
    await gateway?.close();
    await coordinator?.close();
    await harness.cleanup();
  });

  for (const mode of ['transport', 'sealed'] as const) {
    test(`${mode}: the thoughts stream as reasoning_content, are billed as completion and reported as reasoning_tokens`, async () => {
      const openai = new OpenAI({ baseURL: `${mode === 'transport' ? coordinator.url : gateway.url}/v1`, apiKey: KEY, maxRetries: 0 });
      // The last job is settled (spot checks settle after they score): its hold is back.
      await coordinator.jobs.settled();
      const before = await balance();
      const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 30, temperature: 0, stream: true, stream_options: { include_usage: true } });
      let reasoning = '';
      let content = '';
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
        if (delta?.reasoning_content) assert.equal(content, '', 'thoughts come before the answer');
        reasoning += delta?.reasoning_content ?? '';
        content += delta?.content ?? '';
        usage = chunk.usage ?? usage;
      }
      // 30 tokens: 2 of thought, 8 of "</think>" (markers are neither shown nor counted), 20 of answer.
      assert.equal(reasoning, THOUGHT);
      assert.equal(content, answerOf(20));
      assert.ok(usage);
      assert.equal(usage.completion_tokens, THOUGHT.length + 20, 'the thoughts are billed with the answer');
      assert.equal(usage.completion_tokens_details?.reasoning_tokens, THOUGHT.length);
      // Sealed jobs settle once the gateway's signed receipt is in, just after the stream ends.
      const charged = jobCost(price, { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }, 1);
      for (let waited = 0; (await balance()) !== before - charged && waited < 20_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await balance(), before - charged, 'the client paid for the thoughts too');
      assert.equal(await disputes(), 0, 'the honest worker’s claim, thoughts included, matched the counts');

      const whole = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 16, temperature: 0 });
      const message = whole.choices[0]?.message as (OpenAI.ChatCompletionMessage & { reasoning_content?: string }) | undefined;
      assert.equal(message?.reasoning_content, THOUGHT);
      assert.equal(message?.content, answerOf(6));
      assert.equal(whole.usage?.completion_tokens, THOUGHT.length + 6);
      assert.equal(await disputes(), 0);
    });
  }

  test('spot checks re-scored the transport answers, thoughts included, and passed them all', async () => {
    assert.equal(await metricValue(coordinator.url, 'silkworm_spot_checks_total', 'result="passed"'), 2, 'both transport jobs were checked (sealed ones cannot be)');
    assert.equal(await metricValue(coordinator.url, 'silkworm_spot_checks_total', 'result="failed"'), 0);
    assert.equal(await metricValue(coordinator.url, 'silkworm_spot_checks_total', 'result="unscored"'), 0);
  });

  test('a worker that pads the model’s thoughts to be paid for more fails the check: the client pays nothing, the worker is struck', async () => {
    // The honest worker leaves; a dishonest one runs the same model but streams invented thoughts before the real ones.
    worker.proc.kill();
    for (let waited = 0; coordinator.registry.get(workerId) && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.equal(coordinator.registry.get(workerId), undefined, 'the honest worker is gone');
    const { engine } = await LlamaEngine.load({ modelPath: await harness.model(), threads: 1, contextSize: 512, sequences: 1, gpu: 'cpu', warmupTokens: 0, sandbox: false }, () => undefined);
    const padder = await FakeWorker.join(coordinator.url, 'padder', { identity: randomIdentity(), sha256 });
    try {
      await coordinator.jobs.settled();
      const before = await balance();
      const openai = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: KEY, maxRetries: 0 });
      const pending = openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 80, temperature: 0 });
      const offer = await padder.nextNew('job.offer');
      padder.send({ type: 'job.accept', jobId: offer.jobId });
      let seq = 0;
      const padding = 'Let me consider every angle of this. ';
      padder.send({ type: 'job.chunk', jobId: offer.jobId, seq: seq++, text: '', tokens: padding.length, reasoning: padding });
      const result = await engine.generate(offer.messages, { ...offer.params, maxTokens: offer.params.maxTokens - padding.length }, undefined, new AbortController().signal, (text, tokens, _calls, reasoning) =>
        padder.send({ type: 'job.chunk', jobId: offer.jobId, seq: seq++, text, tokens, ...(reasoning ? { reasoning } : {}) }),
      );
      padder.send({ type: 'job.done', jobId: offer.jobId, finishReason: 'length', usage: { ...result.usage, completionTokens: result.usage.completionTokens + padding.length } });
      const answer = await pending;
      const message = answer.choices[0]?.message as (OpenAI.ChatCompletionMessage & { reasoning_content?: string }) | undefined;
      assert.equal(message?.reasoning_content, `${padding}${THOUGHT}`, 'the padding reached the client as thoughts');
      await coordinator.jobs.settled();
      assert.equal(await metricValue(coordinator.url, 'silkworm_spot_checks_total', 'result="failed"'), 1);
      assert.equal(coordinator.store.workerRecord('padder')?.verifyFailures, 1, 'struck');
      assert.equal(await balance(), before, 'the client paid nothing for the padded answer');
    } finally {
      padder.close();
      await engine.dispose();
    }
  });

  // A long thought the quitter streamed (only a dishonest one would invent it, but the next worker
  // cannot tell): its tokens are prompt to the next worker, so a sealed retry declares and receipts them.
  const LONG_THOUGHT = 'Let me weigh this greeting before I answer. '.repeat(2);
  for (const [mode, first] of [['transport', THOUGHT[0]], ['sealed', THOUGHT[0]], ['sealed', LONG_THOUGHT]] as const) {
    const long = first === LONG_THOUGHT;
    test(`${mode}: a worker lost mid-thought${long ? ' (a long one)' : ''}: the next goes on from the thought so far, and the client gets one thought, paid for once`, async () => {
      await eventually(() => coordinator.registry.size === 0, 10_000, 'no worker connected');
      // A worker that takes the job, writes the thought's first token(s), then its PC dies.
      const quitterId = `quitter-${mode}${long ? '-long' : ''}`;
      const identity = randomIdentity();
      const quitter = await FakeWorker.join(coordinator.url, quitterId, { identity, sha256 });
      const { frame, keyPair } = await sealedDescriptor(quitterId, identity, { id: MODEL, sha256 });
      quitter.send(frame);
      await eventually(() => coordinator.registry.get(quitterId)?.descriptor !== undefined, 10_000, 'the quitter descriptor');
      // The sealed route lists workers afresh for each try, as a client whose list is current does.
      const sealedGateway = mode === 'sealed' ? await startGateway({ host: '127.0.0.1', port: 0, coordinatorUrl: coordinator.url, apiKey: KEY, minTier: 'unsandboxed', descriptorCacheMs: 0, logger: createLogger('g', { level: 'silent' }) }) : undefined;
      let rescuer: Awaited<ReturnType<Harness['worker']>> | undefined;
      try {
        await coordinator.jobs.settled();
        const before = await balance();
        const openai = new OpenAI({ baseURL: `${sealedGateway?.url ?? coordinator.url}/v1`, apiKey: KEY, maxRetries: 0 });
        const answer = { reasoning: '', content: '', usage: undefined as OpenAI.CompletionUsage | undefined };
        // Read in the background: the response starts once a worker has taken the job.
        const read = (async () => {
          const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: long ? 200 : 30, temperature: 0, stream: true, stream_options: { include_usage: true } });
          for await (const chunk of stream) {
            const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
            answer.reasoning += delta?.reasoning_content ?? '';
            answer.content += delta?.content ?? '';
            answer.usage = chunk.usage ?? answer.usage;
          }
        })();
        if (mode === 'transport') {
          const offer = await quitter.nextNew('job.offer');
          quitter.send({ type: 'job.accept', jobId: offer.jobId });
          quitter.send({ type: 'job.chunk', jobId: offer.jobId, seq: 0, text: '', tokens: 1, reasoning: first });
        } else {
          const offer = await quitter.nextNew('job.sealed_offer');
          const opened = await openRequest(offer.envelope, { keyPair, workerId: quitterId, coordinatorId: coordinator.id, models: [MODEL], replayGuard: new ReplayGuard() });
          assert.ok(opened.ok);
          quitter.send({ type: 'job.accept', jobId: offer.jobId });
          quitter.send({ type: 'job.sealed_chunk', jobId: offer.jobId, ...(await opened.value.responseSealer.seal(encodeAnswerPart({ text: '', reasoning: first }))), tokens: 1 });
        }
        await eventually(() => answer.reasoning === first, 10_000, 'the first thought token(s) reached the client');
        rescuer = await harness.worker(coordinator.url);
        const rescuerId = rescuer.workerId;
        await eventually(() => coordinator.registry.get(rescuerId)?.descriptor !== undefined, 10_000, 'the real worker descriptor');
        quitter.close();
        await read;
        if (long) {
          // The retry's worker evaluated the long thought before writing: the client's receipt says so.
          assert.ok(answer.reasoning.startsWith(LONG_THOUGHT) && answer.reasoning.length > LONG_THOUGHT.length, 'it went on thinking from there');
          // Sealed jobs settle once the gateway's signed receipt is in (or its wait ends).
          await coordinator.jobs.settled();
          assert.equal(await metricValue(coordinator.url, 'silkworm_disputes_total', 'kind="over_client_receipt"'), 0, 'the receipt counted the prompt the worker evaluated');
          assert.equal(await disputes(rescuerId), 0);
          return;
        }
        assert.equal(answer.reasoning, THOUGHT, 'one thought: the real worker went on from the first token, it did not think again');
        assert.equal(answer.content, answerOf(20));
        assert.equal(await disputes(rescuerId), 0, 'the real worker’s claim matched what the coordinator counted');
        if (mode === 'transport') {
          // One job: the prompt once, the thought and the answer once each, as if nobody had failed.
          assert.equal(answer.usage?.completion_tokens, THOUGHT.length + 20);
          assert.equal(answer.usage?.completion_tokens_details?.reasoning_tokens, THOUGHT.length);
          await coordinator.jobs.settled();
          assert.equal(await balance(), before - jobCost(price, { promptTokens: answer.usage.prompt_tokens, completionTokens: answer.usage.completion_tokens }, 1));
        }
      } finally {
        quitter.close();
        rescuer?.proc.kill();
        await sealedGateway?.close();
      }
    });
  }

  test('a long thought carried to the next worker is prompt to it: its larger prompt claim is not held against it', async () => {
    await eventually(() => coordinator.registry.size === 0, 10_000, 'no worker connected');
    const thought = 'Let me weigh this greeting before I answer. '.repeat(2);
    const quitter = await FakeWorker.join(coordinator.url, 'long-quitter', { identity: randomIdentity(), sha256 });
    let heir: FakeWorker | undefined;
    try {
      const openai = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: KEY, maxRetries: 0 });
      const pending = openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 200, temperature: 0 });
      const first = await quitter.nextNew('job.offer');
      quitter.send({ type: 'job.accept', jobId: first.jobId });
      quitter.send({ type: 'job.chunk', jobId: first.jobId, seq: 0, text: '', tokens: 40, reasoning: thought });
      heir = await FakeWorker.join(coordinator.url, 'heir', { identity: randomIdentity(), sha256 });
      await eventually(() => coordinator.registry.get('heir') !== undefined, 10_000, 'the next worker registered');
      quitter.close();
      const offer = await heir.nextNew('job.offer');
      assert.equal(offer.continuationReasoning, thought, 'the thought so far travels with the job');
      assert.equal(offer.continuation, undefined, 'no text yet');
      heir.send({ type: 'job.accept', jobId: offer.jobId });
      heir.send({ type: 'job.chunk', jobId: offer.jobId, seq: 0, text: 'Hi', tokens: 1 });
      // It evaluated the prompt and the thought before writing: its prompt is theirs together.
      heir.send({ type: 'job.done', jobId: offer.jobId, finishReason: 'stop', usage: { promptTokens: 13 + thought.length, completionTokens: 1 } });
      const answer = await pending;
      assert.equal((answer.choices[0]?.message as { reasoning_content?: string } | undefined)?.reasoning_content, thought);
      assert.ok(answer.usage && answer.usage.prompt_tokens < 20, `the prompt is billed once, as the coordinator counts it (${answer.usage?.prompt_tokens})`);
      await coordinator.jobs.settled();
      assert.equal(await disputes('heir'), 0, 'no prompt_over_count against the worker that went on');
    } finally {
      quitter.close();
      heir?.close();
    }
  });
});
