/** The SDK reads what a coordinator answers within bounds: a coordinator is a party across a wire. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WORKER_LIST_BYTES, pickByWeight, SealedJobError, SilkwormClient, type UsageMeter } from './sdk.js';
import { identityKeyPairFromSeed, type WorkerDescriptor } from '../protocol/descriptor.js';
import type { SealedJobEvent } from '../protocol/sealed-http.js';
import { makeFakeWorker, startFakeCoordinator } from './testing/fake-coordinator.js';

/** A response whose body never ends, counting the bytes the reader pulled. */
function endless(pulled: { bytes: number }): Response {
  const chunk = new TextEncoder().encode(`{"object":"list","coordinatorId":"c","data":[${'{"x":1},'.repeat(8192)}`);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled.bytes += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
}

test('a worker list larger than the bound is refused with a clear error, without reading it all', async () => {
  const pulled = { bytes: 0 };
  const client = new SilkwormClient({ coordinatorUrl: 'http://coordinator.invalid', fetch: async () => endless(pulled) });
  await assert.rejects(client.listWorkers('m'), (error: unknown) => error instanceof SealedJobError && error.code === 'bad_coordinator_response' && /larger than 32 MB; it was not read/.test(error.message));
  assert.ok(pulled.bytes <= MAX_WORKER_LIST_BYTES + 2 * 65_536 + 200_000, `read no further than the bound (${pulled.bytes} bytes)`);
});

test('an error answer is read within its own bound: a huge one still gives a typed error', async () => {
  const pulled = { bytes: 0 };
  const client = new SilkwormClient({
    coordinatorUrl: 'http://coordinator.invalid',
    fetch: async () => {
      const response = endless(pulled);
      return new Response(response.body, { status: 503 });
    },
  });
  await assert.rejects(client.listWorkers('m'), (error: unknown) => error instanceof SealedJobError && error.status === 503 && error.code === 'http_503');
  assert.ok(pulled.bytes < 1024 * 1024, `the error body was not read on (${pulled.bytes} bytes)`);
});

test('a coordinator that streams more than max_tokens can hold is cut off: the SDK stops reading and says why', async () => {
  const worker = await makeFakeWorker('w-flood', 'sandboxed', () => Array.from({ length: 5000 }, () => 'x'));
  const coordinator = await startFakeCoordinator([worker]);
  try {
    const client = new SilkwormClient({ coordinatorUrl: coordinator.url, maxAttempts: 1 });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const event of client.chat({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], params: { temperature: 0 }, maxTokens: 4 })) if (event.type === 'text') text += event.text;
      })(),
      (error: unknown) => error instanceof SealedJobError && error.code === 'bad_coordinator_response' && /more than max_tokens \(4\) can hold/.test(error.message),
    );
    assert.equal(text, 'xxxxx', 'what fit max_tokens + 1 chunks was delivered, nothing after');
  } finally {
    await coordinator.close();
  }
});

test('the default pick follows the coordinator’s routing advice: in proportion to each worker’s weight, uniform without any', () => {
  const worker = (workerId: string) => ({ workerId }) as WorkerDescriptor;
  const [a, b, c] = [worker('a'), worker('b'), worker('c')];
  const weights = new Map([
    ['a', 3],
    ['b', 1],
  ]);
  // The draw walks a's share first (3 of 5), then b's (1 of 5), then c's: left out of the advice, it weighs as the lightest (1).
  assert.equal(pickByWeight([a, b, c], weights, () => 0.59).workerId, 'a');
  assert.equal(pickByWeight([a, b, c], weights, () => 0.61).workerId, 'b');
  assert.equal(pickByWeight([a, b, c], weights, () => 0.81).workerId, 'c');
  assert.equal(pickByWeight([a, b], undefined, () => 0.6).workerId, 'b', 'uniform without advice');
  let drawn = 0;
  for (let i = 0; i < 4000; i++) if (pickByWeight([a, b], weights).workerId === 'a') drawn++;
  assert.ok(drawn > 2700 && drawn < 3300, `about 3 in 4 (${drawn} of 4000)`);
});

test('a finished answer stays finished: an error, a replayed chunk or a dropped connection after the final chunk neither fails it nor seals it again elsewhere', async () => {
  const endings: { name: string; after: (event: SealedJobEvent, earlier: SealedJobEvent[]) => SealedJobEvent | null }[] = [
    { name: 'a retryable error', after: () => ({ type: 'error', error: { code: 'worker_lost', message: 'The worker disconnected.', retryable: true } }) },
    { name: 'a replayed chunk', after: (_event, earlier) => earlier[0]! },
    { name: 'a dropped connection', after: () => null },
  ];
  for (const ending of endings) {
    const first = await makeFakeWorker('w-a', 'sandboxed', () => ['Hello', ' world']);
    const second = await makeFakeWorker('w-b', 'sandboxed', () => ['Hello', ' world', ' again']);
    const coordinator = await startFakeCoordinator([first, second]);
    const sent: SealedJobEvent[] = [];
    coordinator.tamper = (event) => {
      if (event.type !== 'usage') return sent.push(event), event;
      return ending.after(event, sent);
    };
    try {
      const client = new SilkwormClient({ coordinatorUrl: coordinator.url, pickWorker: (fresh) => fresh.find((w) => w.workerId === 'w-a') ?? fresh[0]! });
      let text = '';
      const done: unknown[] = [];
      for await (const event of client.chat({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], params: { temperature: 0 }, maxTokens: 50 })) {
        if (event.type === 'text') text += event.text;
        if (event.type === 'done') done.push(event);
      }
      assert.equal(text, 'Hello world', ending.name);
      assert.deepEqual(done, [{ type: 'done', finishReason: 'stop' }], `${ending.name}: done once, without a usage the coordinator did not send`);
      assert.equal(second.opened.length, 0, `${ending.name}: not sealed again to another worker`);
    } finally {
      await coordinator.close();
    }
  }
});

/** A usage meter that counts one token per character: enough to tell whose count a figure is. */
const charMeter: UsageMeter = {
  countPrompt: (_messages, _params, continuation) => 11 + (continuation ? continuation.text.length + continuation.reasoning.length : 0),
  countText: (text) => [...text].length,
  countToolCalls: () => 0,
};

test('with receipts, the usage reported is what the client is billed at most: its own count caps the coordinator’s, and a retried request adds what each earlier attempt’s receipt said', async () => {
  const receipts = { key: identityKeyPairFromSeed(new Uint8Array(32).fill(7)), meter: async () => charMeter };
  const ask = () => ({ model: 'tiny', messages: [{ role: 'user' as const, content: 'hi' }], params: { temperature: 0 }, maxTokens: 50 });
  const usageOf = async (client: SilkwormClient) => {
    const done = [];
    for await (const event of client.chat(ask())) if (event.type === 'done') done.push(event.usage);
    return done;
  };
  // A coordinator that reports more than was streamed: the receipt caps the bill, and so the usage.
  const inflating = await startFakeCoordinator([await makeFakeWorker('w-a', 'sandboxed', () => ['Hello', ' world'])]);
  inflating.tamper = (event) => (event.type === 'usage' ? { type: 'usage', usage: { promptTokens: 11, completionTokens: 1000 } } : event);
  // A first worker lost after 'Hello': the retry is billed on its own, and so was the first attempt.
  const lost = await makeFakeWorker('w-a', 'sandboxed', () => ['Hello', ' world']);
  lost.loseAfter = 1;
  const retried = await startFakeCoordinator([lost, await makeFakeWorker('w-b', 'sandboxed', () => ['Hello', ' world'])]);
  try {
    assert.deepEqual(await usageOf(new SilkwormClient({ coordinatorUrl: inflating.url, receipts })), [{ promptTokens: 11, completionTokens: 11 }]);
    const client = new SilkwormClient({ coordinatorUrl: retried.url, receipts, pickWorker: (fresh) => fresh.find((w) => w.workerId === 'w-a') ?? fresh[0]! });
    // First attempt: prompt 11, 'Hello' 5. Retry: the coordinator's {11, 1} is under its count {16, 6}.
    assert.deepEqual(await usageOf(client), [{ promptTokens: 22, completionTokens: 6 }]);
    assert.equal(retried.workers[1]!.opened[0]?.continuation, 'Hello');
    // Without receipts the coordinator's figure is all there is.
    assert.deepEqual(await usageOf(new SilkwormClient({ coordinatorUrl: inflating.url })), [{ promptTokens: 11, completionTokens: 1000 }]);
  } finally {
    await inflating.close();
    await retried.close();
  }
});

test('a sealed retry fits the context: its max_tokens is what is left, and no more than the context leaves after its longer prompt', async () => {
  // The template wraps a continuation in two tokens of its own, which the tokens received do not count.
  const wrapping: UsageMeter = { ...charMeter, countPrompt: (messages, params, continuation) => charMeter.countPrompt(messages, params, continuation) + (continuation ? 2 : 0) };
  const models = [{ id: 'tiny', sha256: 'ab'.repeat(32), contextSize: 40 }];
  const first = await makeFakeWorker('w-a', 'sandboxed', () => ['Hello', ' world'], models);
  first.loseAfter = 1;
  const second = await makeFakeWorker('w-b', 'sandboxed', () => ['Hello', ' world'], models);
  const coordinator = await startFakeCoordinator([first, second]);
  try {
    const receipts = { key: identityKeyPairFromSeed(new Uint8Array(32).fill(9)), meter: async () => wrapping };
    const client = new SilkwormClient({ coordinatorUrl: coordinator.url, receipts, pickWorker: (fresh) => fresh.find((w) => w.workerId === 'w-a') ?? fresh[0]! });
    let text = '';
    // No max_tokens: the first attempt gets what the context leaves, 40 − 11 = 29.
    for await (const event of client.chat({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], params: { temperature: 0 }, promptTokens: 11 })) if (event.type === 'text') text += event.text;
    assert.equal(text, 'Hello world');
    assert.equal(first.opened[0]?.params.maxTokens, 29);
    // The retry's prompt is 11 + 5 + 2 = 18: 22 fit, where 29 − 5 = 24 would not.
    assert.equal(second.opened[0]?.params.maxTokens, 22);
  } finally {
    await coordinator.close();
  }
});
