/**
 * What a broken or hostile worker can do to a coordinator — malformed and oversized frames,
 * unknown versions, frames for another worker's job, vanishing before the first token,
 * silence, floods of control frames — and that each gets a clear error while clients are
 * still served.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startCoordinator, type Coordinator } from '../network/coordinator/server.js';
import { createLogger } from '../network/coordinator/log.js';
import { MAX_FRAME_BYTES, type WorkerFrame } from '../network/protocol/worker-frames.js';
import { FRAME_BUDGETS } from '../network/coordinator/worker-session.js';
import { FakeWorker } from './fake-worker.js';
import { eventually, Harness } from './harness.js';
import { successorText } from '../main/models/test-model.js';

const MODEL = 'silkworm-test';

describe('a coordinator facing bad workers', () => {
  const harness = new Harness();
  let coordinator: Coordinator;
  let client: OpenAI;
  let realWorker: Awaited<ReturnType<Harness['worker']>> | undefined;

  before(async () => {
    coordinator = await startCoordinator({
      host: '127.0.0.1',
      port: 0,
      dataDir: await harness.tempDir(),
      apiKeys: [],
      requestTimeoutMs: 30_000,
      logger: createLogger('coordinator', { level: 'silent' }),
    });
    client = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await coordinator.close();
    await harness.cleanup();
  });

  test('a frame that is not JSON gets bad_frame and the socket is closed', async () => {
    const fake = await FakeWorker.connect(coordinator.url);
    fake.send('{this is not json');
    const error = await fake.next('error');
    assert.equal(error.code, 'bad_frame');
    assert.equal((await fake.closed).code, 4002);
  });

  test('a frame that breaks the schema gets bad_frame naming the problem', async () => {
    const fake = await FakeWorker.connect(coordinator.url);
    fake.send(JSON.stringify({ type: 'hello', workerId: 'x' }));
    const error = await fake.next('error');
    assert.equal(error.code, 'bad_frame');
    assert.match(error.message, /Malformed frame/);
    await fake.closed;
  });

  test('an oversized frame gets frame_too_large; a huge one is cut off by the transport', async () => {
    const fake = await FakeWorker.connect(coordinator.url);
    fake.send(JSON.stringify({ type: 'hello', pad: 'x'.repeat(MAX_FRAME_BYTES) }));
    const error = await fake.next('error');
    assert.equal(error.code, 'frame_too_large');
    await fake.closed;
    const huge = await FakeWorker.connect(coordinator.url);
    huge.send('x'.repeat(3 * MAX_FRAME_BYTES));
    assert.equal((await huge.closed).code, 1009);
  });

  test('unknown protocol versions are refused as client or server too old', async () => {
    const future = await FakeWorker.connect(coordinator.url);
    future.send(future.hello('future', { protocol: { min: 99, max: 120 } }));
    const tooNew = await future.next('incompatible');
    assert.equal(tooNew.code, 'server_too_old');
    assert.equal((await future.closed).code, 4001);
    const past = await FakeWorker.connect(coordinator.url);
    past.send(past.hello('past', { protocol: { min: 0, max: 0 } }));
    assert.equal((await past.next('incompatible')).code, 'client_too_old');
  });

  test('a job frame before hello is refused', async () => {
    const fake = await FakeWorker.connect(coordinator.url);
    fake.send({ type: 'job.accept', jobId: 'job-1' });
    assert.equal((await fake.next('error')).code, 'unexpected_frame');
    await fake.closed;
  });

  test('a worker that never says hello is dropped', async () => {
    const fast = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), apiKeys: [], handshakeTimeoutMs: 200, logger: createLogger('c', { level: 'silent' }) });
    const fake = await FakeWorker.connect(fast.url);
    assert.equal((await fake.closed).code, 4003);
    await fast.close();
  });

  test('a silent worker: the request times out with a clear error, never hangs', async () => {
    const quick = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), apiKeys: [], requestTimeoutMs: 1500, logger: createLogger('c', { level: 'silent' }) });
    const silent = await FakeWorker.join(quick.url, 'silent');
    const started = Date.now();
    const quickClient = new OpenAI({ baseURL: `${quick.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await assert.rejects(quickClient.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }] }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 504);
    assert.ok(Date.now() - started < 5000);
    const offer = await silent.next('job.offer');
    const cancel = await silent.next('job.cancel');
    assert.equal(cancel.jobId, offer.jobId);
    silent.socket.terminate();
    await silent.closed;
    await quick.close();
  });

  test('heartbeats: idle workers are pinged each idle interval, busy ones each busy interval; a silent one goes after three of its own', async () => {
    const beat = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), apiKeys: [], heartbeatIntervalMs: 1000, busyHeartbeatIntervalMs: 100, requestTimeoutMs: 20_000, logger: createLogger('c', { level: 'silent' }) });
    const beatClient = new OpenAI({ baseURL: `${beat.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const ask = (model: string) => beatClient.chat.completions.create({ model, messages: [{ role: 'user', content: 'abc' }] }).then(() => undefined, (e: unknown) => e);
    const gaps = (times: number[]) => times.slice(1).map((t, i) => t - (times[i] ?? 0));

    const idle = await FakeWorker.join(beat.url, 'idle-answering', { model: 'm-idle' });
    assert.equal((await idle.next('welcome')).heartbeatIntervalMs, 1000, 'welcome announces the longest gap between pings');
    const quietJoined = performance.now();
    const quiet = await FakeWorker.join(beat.url, 'idle-silent', { model: 'm-idle' });
    quiet.answerPings = false;

    // A worker that holds a job (accepted, nothing streamed yet) hears pings at the busy interval.
    const holder = await FakeWorker.join(beat.url, 'busy-answering', { model: 'm-hold' });
    const held = ask('m-hold');
    holder.send({ type: 'job.accept', jobId: (await holder.next('job.offer')).jobId });
    const heldFrom = holder.pingTimes.length;
    await new Promise((resolve) => setTimeout(resolve, 800));
    const busyPings = holder.pingTimes.slice(heldFrom);
    assert.ok(busyPings.length >= 4, `${busyPings.length} pings in 800 ms while holding a job`);
    holder.socket.terminate();
    assert.ok(await held, 'the held job ends with an error once its worker is gone');

    // A worker that goes silent while it holds a job is dropped after ~3 busy intervals, not 3 idle ones.
    const mute = await FakeWorker.join(beat.url, 'busy-silent', { model: 'm-mute' });
    mute.answerPings = false;
    const muted = ask('m-mute');
    await mute.next('job.offer');
    const offeredAt = performance.now();
    await mute.closed;
    const muteDroppedAfter = performance.now() - offeredAt;
    const error = await muted;
    assert.ok(error instanceof OpenAI.APIError, `the client gets an API error, not a hang (${String(error)})`);
    assert.ok(muteDroppedAfter < 2000, `a silent worker holding a job was dropped ${muteDroppedAfter.toFixed(0)} ms after the offer`);

    // The silent idle worker lasts three idle intervals from its hello, then goes.
    await quiet.closed;
    const quietDroppedAfter = performance.now() - quietJoined;
    assert.ok(quietDroppedAfter >= 2900 && quietDroppedAfter < 8000, `a silent idle worker was dropped ${quietDroppedAfter.toFixed(0)} ms after joining`);
    const idleGaps = gaps(idle.pingTimes);
    assert.ok(idleGaps.length >= 2, `${idle.pingTimes.length} pings to the idle worker`);
    assert.ok(idleGaps.every((gap) => gap > 700 && gap < 1600), `idle ping gaps: ${idleGaps.map((g) => g.toFixed(0)).join(', ')} ms`);
    idle.close();
    await beat.close();
  });

  test('a worker lost before its first token: the job moves to a real worker, exactly', async () => {
    const flaky = await FakeWorker.join(coordinator.url, 'flaky');
    const pending = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 10, temperature: 0 }, { timeout: 60_000 });
    await flaky.next('job.offer');
    // The fake holds the job until a real worker is there to take it over, then vanishes.
    realWorker = await harness.worker(coordinator.url);
    flaky.socket.terminate();
    const answer = await pending;
    assert.equal(answer.choices[0]?.message.content, successorText('abc', 10));
  });

  test('a worker cannot stream into a job it does not hold', async () => {
    assert.ok(realWorker, 'the previous test started a real worker');
    const intruder = await FakeWorker.join(coordinator.url, 'intruder', { model: 'other-model' });
    const started = realWorker.proc.waitForNext((l) => l.msg === 'job started');
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 1000, temperature: 0, stream: true });
    let text = '';
    let injected = false;
    for await (const chunk of stream) {
      if (!injected) {
        // The intruder learns the real job id (here from the log) and tries to inject text and end it.
        const { jobId } = (await started) as { jobId: string };
        for (let seq = 0; seq < 50; seq++) intruder.send({ type: 'job.chunk', jobId, seq, text: 'EVIL', tokens: 1 });
        intruder.send({ type: 'job.done', jobId, finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 } });
        injected = true;
      }
      text += chunk.choices[0]?.delta.content ?? '';
    }
    assert.ok(injected);
    assert.equal(text, successorText('abc', 1000));
    intruder.socket.close();
  });

  test('a worker flooding control frames is closed at its budget, each flood costing the coordinator no more than the budget', async () => {
    const floods: [keyof typeof FRAME_BUDGETS, WorkerFrame][] = [
      ['ping', { type: 'ping', seq: 1, sentAt: 1 }],
      ['pong', { type: 'pong', seq: 1, sentAt: 1 }],
      ['capacity', { type: 'capacity', available: false }],
      ['descriptor', { type: 'descriptor', signed: { descriptor: {}, signature: 'x' } }],
      ['error', { type: 'error', code: 'internal', message: 'x'.repeat(1_000) }],
      ['receipts.request', { type: 'receipts.request', after: 0 }],
      ['receipt.ack', { type: 'receipt.ack', upTo: 1 }],
    ];
    for (const [type, frame] of floods) {
      const { burst, perSecond } = FRAME_BUDGETS[type]!;
      // Beyond the burst by more than a second's refill: the bucket empties however slowly a loaded machine reads them.
      const flood = burst + Math.max(50, perSecond);
      const fake = await FakeWorker.join(coordinator.url, `flood-${type.replace('.', '-')}`, { model: MODEL });
      const answersBefore = fake.frames.length;
      // Availability flips each time (the same again is ignored, not counted).
      for (let i = 0; i < flood; i++) fake.send(frame.type === 'capacity' ? { type: 'capacity', available: i % 2 === 0 ? false : true } : frame);
      const closed = await Promise.race([fake.closed, new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5_000).unref())]);
      assert.deepEqual(closed, { code: 4010, reason: 'too_many_frames' }, type);
      const told = fake.frames.filter((f) => f.type === 'error' && f.code === 'unexpected_frame');
      assert.equal(told.length, 1, `${type}: told once`);
      assert.match(told[0]!.type === 'error' ? told[0]!.message : '', new RegExp(`Too many '${type}' frames: at most ${burst} at once`));
      // What the coordinator sent back in answer (pongs, refusals, receipts) stops at the budget.
      assert.ok(fake.frames.length - answersBefore <= burst + 1, `${type}: ${fake.frames.length - answersBefore} frames back for ${flood} sent`);
      if (type === 'ping') assert.equal(fake.frames.filter((f) => f.type === 'pong').length, burst, 'a pong for each ping within the budget, none after');
    }
    // A worker within its budget is left alone: the burst of changes, then one a second; the
    // same availability said again (as the bench's simulated workers do after each job) any number of times.
    const steady = await FakeWorker.join(coordinator.url, 'steady-capacity', { model: MODEL });
    for (let i = 0; i < FRAME_BUDGETS.capacity!.burst; i++) steady.send({ type: 'capacity', available: i % 2 === 1 });
    for (let i = 0; i < 200; i++) steady.send({ type: 'capacity', available: true });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    steady.send({ type: 'capacity', available: false });
    steady.send({ type: 'ping', seq: 7, sentAt: 7 });
    assert.equal((await steady.next('pong')).seq, 7, 'still connected and answered');
    steady.close();
    await steady.closed;
  });

  test('a worker that leaves because it cannot use what the coordinator sent is counted for the operator, by its code', async () => {
    const reports = async () => Number(/^silkworm_worker_reports_total\{code="bad_frame"\} (\d+)$/m.exec(await (await fetch(`${coordinator.url}/metrics`)).text())?.[1] ?? 0);
    const before = await reports();
    const fake = await FakeWorker.join(coordinator.url, 'leaves-on-welcome', { model: MODEL });
    fake.send({ type: 'error', code: 'bad_frame', message: 'This worker left: it could not read the welcome (settlement.vault: expected a TON address).' });
    fake.socket.close(1002, 'bad_frame');
    await fake.closed;
    // The report came before the close on the same socket: counted once the worker is gone.
    await eventually(() => coordinator.registry.get('leaves-on-welcome') === undefined, 5_000, 'the coordinator to see the worker leave');
    assert.equal((await reports()) - before, 1, 'one report, by its code');
  });

  test('the coordinator kept serving through all of it', async () => {
    const health = await fetch(`${coordinator.url}/healthz`);
    assert.equal(health.status, 200);
    const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'xyz' }], max_tokens: 4, temperature: 0 });
    assert.equal(answer.choices[0]?.message.content, '{|}~');
  });
});
