/** The SDK reads what a coordinator answers within bounds: a coordinator is a party across a wire. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WORKER_LIST_BYTES, pickByWeight, SealedJobError, SilkwormClient } from './sdk.js';
import type { WorkerDescriptor } from '../protocol/descriptor.js';
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
