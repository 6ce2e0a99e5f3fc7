/**
 * The serving path end to end with real processes: the official openai client → coordinator →
 * headless worker → job process running llama.cpp on the generated test model.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Harness, eventually } from './harness.js';
import { successorText } from '../main/models/test-model.js';

const KEY = 'sk-test-serving';
const MODEL = 'silkworm-test';

describe('serving a chat completion', () => {
  const harness = new Harness();
  let url = '';
  let client: OpenAI;
  let worker: Awaited<ReturnType<Harness['worker']>>;

  before(async () => {
    ({ url } = await harness.coordinator({ apiKeys: [KEY], extra: ['--unmetered'] }));
    worker = await harness.worker(url);
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(() => harness.cleanup());

  test('the openai client streams a completion with exact text and usage', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'abc' }],
      max_tokens: 40,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, successorText('abc', 40));
    assert.ok(chunks > 2, 'streamed in several chunks');
    assert.equal(finish, 'length');
    assert.ok(usage, 'usage chunk received');
    assert.equal(usage.completion_tokens, 40);
    assert.ok(usage.prompt_tokens >= 4, `prompt tokens counted by the engine (${usage.prompt_tokens})`);
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
  });

  test('non-streaming returns one answer with usage', async () => {
    const { data: completion, response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'xyz' }], max_tokens: 12, temperature: 0 })
      .withResponse();
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices[0]?.message.content, successorText('xyz', 12));
    assert.equal(completion.choices[0]?.finish_reason, 'length');
    assert.equal(completion.usage?.completion_tokens, 12);
    assert.equal(response.headers.get('x-silkworm-confidentiality'), 'transport');
  });

  test('the same seed at temperature 1 gives the same text', async () => {
    const ask = async () =>
      (await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 60, temperature: 1, seed: 42 })).choices[0]?.message.content;
    const first = await ask();
    assert.equal(await ask(), first);
    assert.notEqual(first, successorText('abc', 60), 'sampling at temperature 1 departs from the greedy text');
  });

  test('GET /v1/models lists the served model; /healthz and /metrics answer', async () => {
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      [MODEL],
    );
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { workers: number }).workers, 1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^silkworm_workers_connected 1$/m);
    assert.match(metrics, /^silkworm_tokens_total\{kind="completion"\} [1-9]\d*$/m);
    assert.match(metrics, /^silkworm_jobs_finished_total\{outcome="done"\} [1-9]\d*$/m);
  });

  test('a wrong or missing API key is refused with 401', async () => {
    const stranger = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(stranger.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
    const bare = await fetch(`${url}/v1/models`);
    assert.equal(bare.status, 401);
  });

  test('an unknown model is a 404 naming it', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'hi' }] }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found' && /gpt-9/.test(e.message),
    );
  });

  test('absurd max_tokens, unknown fields and n>1 are 400s that say what is wrong', async () => {
    const bad = async (body: Record<string, unknown>, pattern: RegExp) => {
      const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(r.status, 400, JSON.stringify(body));
      const error = ((await r.json()) as { error: { message: string; type: string } }).error;
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, pattern);
    };
    const base = { model: MODEL, messages: [{ role: 'user', content: 'hi' }] };
    await bad({ ...base, max_tokens: 1_000_000_000 }, /max_tokens/);
    await bad({ ...base, max_tokens: 5000 }, /max_tokens is too large: 5000/);
    await bad({ ...base, max_tokens: -1 }, /max_tokens/);
    await bad({ ...base, frobnicate: true }, /Unrecognized request argument supplied: frobnicate/);
    await bad({ ...base, tools: [] }, /tools must not be an empty array/);
    await bad({ ...base, n: 3 }, /only n=1/);
    await bad({ ...base, messages: [] }, /messages must not be empty/);
    await bad({ ...base, temperature: 7 }, /temperature/);
    await bad({ model: MODEL }, /messages/);
    const notJson = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: '{nope' });
    assert.equal(notJson.status, 400);
  });

  test('an oversized body is refused with 413 and the server keeps serving', async () => {
    const huge = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }] });
    const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: huge });
    assert.equal(r.status, 413);
    const ok = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 3, temperature: 0 });
    assert.equal(ok.choices[0]?.message.content, 'def');
  });

  test('a client that goes away cancels the job on the worker', async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 1900, temperature: 0, stream: true });
    const failedBefore = worker.proc.count('job failed');
    let received = 0;
    // Leaving the loop aborts the HTTP request, as a closed browser tab or a killed client would.
    for await (const chunk of stream) {
      received += chunk.choices[0]?.delta.content?.length ?? 0;
      if (received > 0) break;
    }
    const failed = await worker.proc.waitForNext((l) => l.msg === 'job failed', 10_000, 'job failed');
    assert.equal(failed.code, 'cancelled');
    assert.ok(Number(failed.completionTokens) < 1900, `stopped early (${String(failed.completionTokens)} tokens)`);
    await eventually(() => worker.proc.count('job failed') === failedBefore + 1, 1000, 'one failure');
  });
});
