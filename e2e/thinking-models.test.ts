/**
 * A model that thinks before it answers (Qwen 3, DeepSeek R1, gpt-oss), served for real: the
 * generated test model's thinking variant writes a thought, closes it, then answers. Its
 * thoughts are generated work: the worker streams them as reasoning, the coordinator counts them
 * with the model's tokenizer and bills them with the answer, and clients get them as
 * `reasoning_content` (as DeepSeek's API, vLLM and llama.cpp's server return them) with OpenAI's
 * `completion_tokens_details.reasoning_tokens`. An honest worker serving such a model is paid for
 * its thoughts and never disputed, in both modes.
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
import { eventually, Harness } from './harness.js';

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
  const admin = (path: string, init: RequestInit = {}) => fetch(`${coordinator.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' } });
  const balance = async () => BigInt(((await (await fetch(`${coordinator.url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { balance_nanotons: string }).balance_nanotons);
  const disputes = async () => ((await (await admin(`/v1/admin/workers/${workerId}`)).json()) as { disputes: number }).disputes;
  const price = priceOf(DEFAULT_PRICE_LIST, MODEL);

  before(async () => {
    const catalog = await harness.catalog(MODEL);
    coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), apiKeys: [KEY], adminKey: ADMIN, catalog: await loadCatalogFile(catalog.file), logger: createLogger('c', { level: 'silent' }) });
    const deposited = await admin('/v1/admin/deposits', { method: 'POST', body: JSON.stringify({ client: clientIdForKey(KEY), nanotons: '10000000000', reference: 'thinking-1' }) });
    assert.equal(deposited.status, 201);
    ({ workerId } = await harness.worker(coordinator.url));
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
});
