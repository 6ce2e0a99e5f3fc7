import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startGateway, type Gateway, type GatewayOptions } from './gateway.js';
import { makeFakeWorker, startFakeCoordinator, type FakeCoordinator, type FakeWorker } from './testing/fake-coordinator.js';
import { JobKeyPair } from '../protocol/sealed.js';
import { toBase64Url } from '../protocol/encoding.js';
import type { OpenedJob } from '../protocol/sealed.js';
import { pino } from 'pino';

const CANARY = 'CANARY-41d9e secret prompt';
const ANSWER_MARK = 'sealed-answer-7c2';

// The fake engine: proves it read the prompt without echoing it (the canary stays out of answers).
function answer(job: OpenedJob): string[] {
  const sawCanary = job.messages.some((m) => m.content.includes('CANARY-41d9e'));
  return ['Hello', ' from', ` ${ANSWER_MARK}`, sawCanary ? ' (prompt received)' : ' (no prompt)'];
}

const silent = pino({ level: 'silent' });
const openFakes: FakeCoordinator[] = [];
const openGateways: Gateway[] = [];

async function network(workers: FakeWorker[], options: Partial<GatewayOptions> = {}) {
  const fake = await startFakeCoordinator(workers, { apiKey: 'coord-key' });
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, coordinatorUrl: fake.url, apiKey: 'coord-key', logger: silent, descriptorCacheMs: 0, ...options });
  openFakes.push(fake);
  openGateways.push(gateway);
  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'not-used-by-the-gateway', maxRetries: 0 });
  return { fake, gateway, openai };
}

let shared: Awaited<ReturnType<typeof network>>;
before(async () => {
  shared = await network([await makeFakeWorker('worker-a', 'sandboxed', answer)]);
});
after(async () => {
  for (const gateway of openGateways) await gateway.close();
  for (const fake of openFakes) await fake.close();
});

function assertNoPlaintext(fake: FakeCoordinator): void {
  const seen = fake.seen.join('\n');
  assert.ok(fake.seen.some((entry) => entry.includes('"ciphertext"')), 'the coordinator did relay a sealed job');
  assert.ok(!seen.includes('CANARY'), 'the prompt never reaches the coordinator');
  assert.ok(!seen.includes(ANSWER_MARK) && !seen.includes('prompt received'), 'nor does the answer');
}

test('streaming through the gateway: a stock openai client gets the sealed answer, usage and headers', async () => {
  const { data: stream, response } = await shared.openai.chat.completions
    .create({ model: 'tiny', messages: [{ role: 'user', content: CANARY }], stream: true, stream_options: { include_usage: true } })
    .withResponse();
  assert.equal(response.headers.get('x-silkworm-confidentiality'), 'sealed');
  assert.equal(response.headers.get('x-silkworm-worker-tier'), 'sandboxed');
  assert.equal(response.headers.get('x-silkworm-worker-id'), 'worker-a');
  let text = '';
  let finish: string | null = null;
  let usage;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  assert.equal(text, `Hello from ${ANSWER_MARK} (prompt received)`);
  assert.equal(finish, 'stop');
  assert.deepEqual(usage, { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
  assertNoPlaintext(shared.fake);
});

test('non-streaming through the gateway, with the prompt only ever opened by the worker', async () => {
  const { data, response } = await shared.openai.chat.completions
    .create({ model: 'tiny', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: CANARY }], max_tokens: 32, temperature: 0.2, seed: 5 })
    .withResponse();
  assert.equal(response.headers.get('x-silkworm-confidentiality'), 'sealed');
  assert.equal(data.choices[0]?.message.content, `Hello from ${ANSWER_MARK} (prompt received)`);
  assert.equal(data.choices[0]?.finish_reason, 'stop');
  assert.equal(data.usage?.total_tokens, 15);
  const job = shared.fake.workers[0]!.opened.at(-1)!;
  assert.deepEqual(job.params, { temperature: 0.2, seed: 5, maxTokens: 32 });
  assert.equal(job.messages[1]?.content, CANARY);
  assertNoPlaintext(shared.fake);
});

test('/v1/models lists sealed models with the honest tier note; /healthz answers', async () => {
  const models = await shared.openai.models.list();
  const tiny = models.data.find((m) => m.id === 'tiny') as unknown as Record<string, unknown>;
  assert.equal(tiny.confidentiality, 'sealed');
  assert.deepEqual(tiny.tiers, ['sandboxed']);
  assert.match(String(tiny.confidentiality_note), /administrator rights/);
  const health = await fetch(`${shared.gateway.url}/healthz`);
  assert.equal(health.status, 200);
});

test('strict validation, and browser or rebinding requests refused', async () => {
  await assert.rejects(
    shared.openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], logit_bias: { 1: 1 } }),
    (error: InstanceType<typeof OpenAI.APIError>) => error.status === 400 && /logit_bias/.test(error.message),
  );
  await assert.rejects(shared.openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), (error: InstanceType<typeof OpenAI.APIError>) => error.status === 404);
  const body = JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'x' }] });
  const fromPage = await fetch(`${shared.gateway.url}/v1/chat/completions`, { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body });
  assert.equal(fromPage.status, 403);
  await assert.rejects(startGateway({ host: '0.0.0.0', port: 0, coordinatorUrl: shared.fake.url, logger: silent }), /loopback/);
});

test('beyond loopback only with a local key, which every request must carry; web pages refused all the same', async () => {
  const key = 'gw-local-key-0123456789';
  await assert.rejects(startGateway({ host: '0.0.0.0', port: 0, coordinatorUrl: shared.fake.url, localKey: 'short', logger: silent }), /at least 16 characters/);
  const { gateway } = await network([await makeFakeWorker('worker-k', 'sandboxed', answer)], { host: '0.0.0.0', localKey: key });
  const base = `http://127.0.0.1:${new URL(gateway.url).port}`;
  const anonymous = await fetch(`${base}/v1/models`);
  assert.equal(anonymous.status, 401);
  const refused = (await anonymous.json()) as { error: { code: string; type: string; message: string } };
  assert.equal(refused.error.code, 'invalid_api_key');
  assert.match(refused.error.message, /local key/);
  assert.equal((await fetch(`${base}/v1/models`, { headers: { authorization: 'Bearer wrong-key-0123456789' } })).status, 401);
  const keyed = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
  const completion = await keyed.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }] });
  assert.match(completion.choices[0]?.message.content ?? '', new RegExp(ANSWER_MARK));
  // A page that somehow learned the key still gets nothing: no CORS, no answer.
  for (const method of ['OPTIONS', 'GET']) {
    const fromPage = await fetch(`${base}/v1/models`, { method, headers: { origin: 'http://127.0.0.1:3000', authorization: `Bearer ${key}` } });
    assert.equal(fromPage.status, 403, method);
    assert.equal(fromPage.headers.get('access-control-allow-origin'), null);
    assert.equal(((await fromPage.json()) as { error: { code: string } }).error.code, 'forbidden_origin');
  }
});

test('a tampered descriptor (key swapped by the coordinator) is refused before anything is sealed', async () => {
  const worker = await makeFakeWorker('worker-t', 'sandboxed', answer);
  const { fake, openai } = await network([worker]);
  const mine = await JobKeyPair.generate();
  fake.published = [{ ...worker.signed, descriptor: { ...worker.signed.descriptor, hpke: { ...worker.signed.descriptor.hpke, publicKey: mine.publicKey } } }];
  await assert.rejects(
    openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: CANARY }] }),
    (error: InstanceType<typeof OpenAI.APIError>) => error.status === 404 && /failed verification/.test(error.message),
  );
  assert.ok(!fake.seen.some((entry) => entry.includes('ciphertext')), 'nothing was sealed to the swapped key');
});

test('a flipped bit in an answer chunk fails closed: an error, never altered text', async () => {
  const { fake, openai } = await network([await makeFakeWorker('worker-f', 'sandboxed', answer)]);
  fake.tamper = (event) => (event.type === 'chunk' && event.seq === 1 ? { ...event, ciphertext: flip(event.ciphertext) } : event);
  await assert.rejects(
    openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: CANARY }] }),
    (error: InstanceType<typeof OpenAI.APIError>) => error.status === 502 && error.code === 'sealed_decrypt_failed',
  );
  const stream = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: CANARY }], stream: true });
  let text = '';
  await assert.rejects(async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  }, /decrypt_failed/);
  assert.equal(text, 'Hello', 'only the authentic chunk before the tampered one was delivered');
  // Dropping a chunk is caught the same way.
  fake.tamper = (event) => (event.type === 'chunk' && event.seq === 1 ? { ...event, seq: 2 } : event);
  await assert.rejects(openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }] }), (error: InstanceType<typeof OpenAI.APIError>) => error.code === 'sealed_out_of_order');
});

test('a worker lost mid-stream: the job is sealed again to another worker with the text so far', async () => {
  const first = await makeFakeWorker('worker-1', 'sandboxed', answer);
  first.loseAfter = 2;
  const second = await makeFakeWorker('worker-2', 'sandboxed', answer);
  const { fake, openai } = await network([first, second], {
    trustedIdentityKeys: [toBase64Url(first.identity.publicKey), toBase64Url(second.identity.publicKey)],
    pickWorker: (candidates) => candidates.find((c) => c.workerId === 'worker-1') ?? candidates[0]!,
  });
  const stream = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: CANARY }], stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  assert.equal(text, `Hello from ${ANSWER_MARK} (prompt received)`);
  assert.equal(second.opened[0]?.continuation, 'Hello from');
  assertNoPlaintext(fake);
});

test('a thinking model’s worker lost mid-thought, then mid-answer: the next goes on from the thought so far, within what is left of max_tokens, and the client gets each thought once', async () => {
  const thinking = () => [{ reasoning: 'Let me' }, { reasoning: ' think.' }, 'The', ' answer'];
  for (const [loseAfter, continuation, continuationReasoning] of [
    [1, undefined, 'Let me'],
    [3, 'The', 'Let me think.'],
  ] as const) {
    const first = await makeFakeWorker(`thinker-1-${loseAfter}`, 'sandboxed', thinking);
    first.loseAfter = loseAfter;
    const second = await makeFakeWorker(`thinker-2-${loseAfter}`, 'sandboxed', thinking);
    const { fake, openai } = await network([first, second], {
      trustedIdentityKeys: [toBase64Url(first.identity.publicKey), toBase64Url(second.identity.publicKey)],
      pickWorker: (candidates) => candidates.find((c) => c.workerId === first.workerId) ?? candidates[0]!,
    });
    const stream = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: CANARY }], max_tokens: 10, stream: true });
    let reasoning = '';
    let text = '';
    for await (const chunk of stream) {
      reasoning += (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
      text += chunk.choices[0]?.delta.content ?? '';
    }
    assert.equal(reasoning, 'Let me think.', `lost after ${loseAfter}: one thought, not a second one started over`);
    assert.equal(text, 'The answer');
    assert.equal(second.opened[0]?.continuationReasoning, continuationReasoning);
    assert.equal(second.opened[0]?.continuation, continuation);
    // Without the model's tokenizer (this coordinator serves none), each piece received counts as one token.
    const sizes = fake.seen.filter((line) => line.includes('"msg":"sealed job"')).map((line) => (JSON.parse(line) as { maxTokens: number }).maxTokens);
    assert.deepEqual(sizes, [10, 10 - loseAfter], 'the retry may write only what is left of max_tokens');
    assertNoPlaintext(fake);
    assert.ok(!fake.seen.some((line) => line.includes('Let me')), 'the thought stays sealed from the coordinator');
  }
});

test('the minimum tier is enforced by the gateway itself, and pinned identities are honoured', async () => {
  const weak = await makeFakeWorker('worker-u', 'unsandboxed', answer);
  const { openai } = await network([weak]);
  await assert.rejects(openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }] }), (error: InstanceType<typeof OpenAI.APIError>) => error.status === 503 && /tier 'sandboxed'/.test(error.message));
  assert.equal((await openai.models.list()).data.length, 0);
  const pinned = await network([await makeFakeWorker('worker-p', 'sandboxed', answer)], { trustedIdentityKeys: [toBase64Url(weak.identity.publicKey)] });
  await assert.rejects(pinned.openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'x' }] }), /pinned/);
});

function flip(text: string): string {
  const bytes = Buffer.from(text, 'base64url');
  bytes[0]! ^= 0x80;
  return bytes.toString('base64url');
}
