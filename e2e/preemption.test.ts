/**
 * Share GPU when idle, end to end in one process with real parts: a coordinator, two workers
 * with real job processes, and a scripted signal source. The owner returns mid-stream; the
 * worker hands the GPU back and the client's stream goes on from the other worker — exactly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import OpenAI from 'openai';
import { startCoordinator, type Coordinator } from '../network/coordinator/server.js';
import { createLogger as coordinatorLogger } from '../network/coordinator/log.js';
import { startWorkerCore, type WorkerCore } from '../main/worker/worker-core.js';
import { createLogger } from '../network/node-kit/log.js';
import { successorText } from '../main/models/test-model.js';
import type { Signals, SignalSource } from '../main/sharing/signals.js';
import { awaySignals, knownSignals } from '../main/sharing/testing/fixtures.js';
import { Harness, eventually, isAlive } from './harness.js';

const LONG = 1900;

/** A signal source the test sets by hand. */
function scripted(initial: Signals): SignalSource & { set(s: Signals): void } {
  let current = initial;
  return { read: async () => current, set: (s) => (current = s) };
}

describe('preemption when the owner comes back', () => {
  const harness = new Harness();
  let coordinator: Coordinator;
  let owner: WorkerCore;
  let rig: WorkerCore;
  const ownerSignals = scripted(awaySignals(30));
  let client: OpenAI;

  before(async () => {
    coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), apiKeys: [], logger: coordinatorLogger('c', { level: 'silent' }) });
    const model = await harness.model();
    const common = { coordinatorUrl: coordinator.url, modelPath: model, threads: 1, logger: createLogger('w', { level: 'silent' }), sharingPollMs: 60_000 };
    owner = await startWorkerCore({ ...common, dataDir: await harness.tempDir(), sharing: { mode: 'idle', idleThresholdMinutes: 5 }, signalSource: ownerSignals });
    rig = await startWorkerCore({ ...common, dataDir: await harness.tempDir(), sharing: { mode: 'off' }, signalSource: scripted(knownSignals()) });
    await eventually(() => coordinator.registry.size === 2, 20_000, 'both workers connected');
    await owner.sharing.poll();
    await eventually(() => [...coordinator.registry.all()].some((w) => w.id === owner.workerId && w.available), 5000, 'the owner worker offers capacity');
    client = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await owner.stop();
    await rig.stop();
    await coordinator.close();
    await harness.cleanup();
  });

  test('the stream continues on another worker with exactly the uninterrupted text', async () => {
    const enginePid = owner.engine.pid;
    assert.ok(enginePid);
    const rssKb = async () => Number(/^VmRSS:\s+(\d+)/m.exec(await readFile(`/proc/${enginePid}/status`, 'utf8').catch(() => 'VmRSS: 0'))?.[1] ?? 0);
    const rssBefore = await rssKb();
    assert.ok(rssBefore > 0, 'the job process holds the model in memory');
    let paused: Promise<{ stoppedMs: number; unloadedMs: number; jobsStopped: number }> | undefined;
    const stream = await client.chat.completions.create({ model: 'silkworm-test', messages: [{ role: 'user', content: 'abc' }], max_tokens: LONG, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
      if (!paused && text.length >= 20) {
        // The other machine becomes available, then the owner touches the mouse.
        rig.sharing.setMode('always');
        ownerSignals.set(knownSignals({ idleSeconds: 0 }));
        paused = new Promise((resolve) => owner.worker.once('paused', resolve));
        void owner.sharing.poll();
      }
    }
    assert.ok(paused, 'preemption was triggered mid-stream');
    const timing = await paused;
    assert.equal(timing.jobsStopped, 1, 'the running job was stopped on the owner’s PC');
    assert.ok(text.length > 20);
    assert.equal(text, successorText('abc', LONG));
    assert.equal(usage?.completion_tokens, LONG);
    assert.equal(isAlive(enginePid), false, 'the job process is gone, its memory released');
    assert.equal(await rssKb(), 0);
    assert.equal(owner.engine.info, undefined);
    assert.equal([...coordinator.registry.all()].find((w) => w.id === owner.workerId)?.available, false, 'no capacity advertised while paused');
    console.log(`# preemption: generation stopped in ${timing.stoppedMs.toFixed(1)} ms; job process (RSS ${(rssBefore / 1024).toFixed(0)} MiB) gone in ${timing.unloadedMs.toFixed(1)} ms, all of it released`);
  });

  test('the owner leaving again does not resume at once (hysteresis); switching to Always does', async () => {
    ownerSignals.set(awaySignals(30));
    const decision = await owner.sharing.poll();
    assert.equal(decision.share, false, `still paused right after the pause: ${decision.summary}`);
    const resumed = new Promise<void>((resolve) => owner.worker.once('resumed', () => resolve()));
    owner.sharing.setMode('always');
    await resumed;
    assert.ok(owner.engine.info, 'the model is loaded again');
    const answer = await client.chat.completions.create({ model: 'silkworm-test', messages: [{ role: 'user', content: 'abc' }], max_tokens: 4, temperature: 0 });
    assert.equal(answer.choices[0]?.message.content, 'defg');
  });
});
