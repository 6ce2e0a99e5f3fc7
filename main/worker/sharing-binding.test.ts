// The sharing binding applies decisions in order, one at a time, newest last: a slow change of
// caps (a pause and a model reload) never lets an older decision land after a newer one. A
// decision to stop sharing hands the GPU back first and loads nothing, whatever its caps, and
// never waits for a decision still being applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Decision } from '../sharing/policy.js';
import { createLogger } from '../../network/node-kit/log.js';
import { bindSharing, type SharingTarget } from './sharing-binding.js';
import { scriptedModel, startGpuWorker } from './testing/scripted-gpu.js';
import { ScriptedCoordinator } from './testing/scripted-coordinator.js';

function decision(share: boolean, caps: Decision['caps'] = null): Decision {
  return { share, summary: share ? 'Sharing' : 'Paused', caps, reasons: [] } as unknown as Decision;
}

/** A worker whose every step takes a turn of the timer queue, and whose caps change takes longer. */
function fakeWorker(): SharingTarget & { calls: string[]; available: boolean; busy: number } {
  const calls: string[] = [];
  const later = async (ms: number) => {
    worker.busy++;
    await new Promise<void>((resolve) => setTimeout(resolve, ms));
    worker.busy--;
  };
  const worker = {
    calls,
    available: false,
    /** Steps still under way. */
    busy: 0,
    async setCaps(caps: Decision['caps']) {
      calls.push(caps ? 'caps' : 'no-caps');
      await later(caps ? 30 : 1);
    },
    async pause() {
      calls.push('pause');
      await later(1);
      worker.available = false;
      return { jobsStopped: 0, stoppedMs: 0, unloadedMs: 0 };
    },
    async resume() {
      calls.push('resume');
      await later(20);
      worker.available = true;
    },
  };
  return worker;
}

/** Waits until `done` holds (at most 5 s: a loaded machine is slow, not this wrong). */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 5000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
}

test('decisions in quick succession: applied one at a time, the newest last, the ones in between skipped, but a pause never waits', async () => {
  const controller = Object.assign(new EventEmitter(), { currentDecision: { ...decision(false), reasons: [{ code: 'starting' }] } as unknown as Decision });
  const worker = fakeWorker();
  // A stand-in for the controller: its events and current decision are all the binding reads.
  bindSharing(worker, controller as unknown as Parameters<typeof bindSharing>[1], createLogger('test', { level: 'silent' }));
  assert.deepEqual(worker.calls, [], 'the starting placeholder is not applied');

  const polite = { maxTokensPerSecond: 20 } as unknown as Decision['caps'];
  controller.emit('decision', decision(true, polite)); // slow: caps change
  controller.emit('decision', decision(true)); // always
  controller.emit('decision', decision(false)); // off
  controller.emit('decision', decision(true)); // away again: share
  await until(() => worker.calls.length >= 5 && worker.busy === 0);
  // The decision to stop pauses at once, while the caps are still being applied; the newer share resumes.
  assert.deepEqual(worker.calls, ['caps', 'pause', 'resume', 'no-caps', 'resume']);
  assert.equal(worker.available, true, 'the newest decision (share) is the state the worker is left in');

  controller.emit('decision', decision(false));
  await until(() => worker.calls.length >= 7 && worker.busy === 0);
  assert.equal(worker.available, false);
  assert.deepEqual(worker.calls.slice(-2), ['pause', 'no-caps'], 'a decision to stop pauses before it touches the caps');
});

test('a Polite share stopped (a game starts, or Off) is paused at once: nothing is loaded and no capacity offered; the caps lifted meanwhile apply at the next start', { timeout: 10_000 }, async () => {
  const coordinator = await ScriptedCoordinator.start();
  const { worker, gpu, engine, stop } = await startGpuWorker(coordinator, { available: false });
  const controller = Object.assign(new EventEmitter(), { currentDecision: { ...decision(false), reasons: [{ code: 'starting' }] } as unknown as Decision });
  const paused = () => new Promise((resolve) => worker.once('paused', resolve));
  try {
    bindSharing(worker, controller as unknown as Parameters<typeof bindSharing>[1], createLogger('test', { level: 'silent' }));
    // Polite, as by default: 20 GPU layers and 4 GB of VRAM.
    const polite = { maxTokensPerSecond: null, maxGpuLayers: 20, maxVramMb: 4096, maxPowerW: null } as unknown as Decision['caps'];
    const fromStart = gpu.events.length;
    controller.emit('decision', decision(true, polite));
    await coordinator.announced(true);
    assert.deepEqual(gpu.since(fromStart), ['exit', `load /models/m.gguf layers=20 vram=${4096 * 1024 * 1024}`], 'the model was reloaded within the caps, then offered');

    const fromEvent = gpu.events.length;
    const fromFrame = coordinator.availability.length;
    const pausing = paused();
    controller.emit('decision', decision(false));
    await pausing;
    // Anything the decision set off would follow at once: give it time to show.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(gpu.since(fromEvent), ['exit'], 'the GPU is handed back and nothing is loaded onto it');
    assert.deepEqual(coordinator.availability.slice(fromFrame), [false], 'no capacity is offered on the way');
    assert.equal(engine.info, undefined);

    // The owner turns sharing back on, mode Always: the model loads once, with no caps.
    const fromResume = gpu.events.length;
    controller.emit('decision', decision(true));
    await coordinator.announced(true);
    assert.deepEqual(gpu.since(fromResume), ['load /models/m.gguf layers=auto vram=none']);
  } finally {
    await stop();
    await coordinator.close();
  }
});

test('a decision to stop is not held up by one still being applied: caps waiting behind a model switch do not keep the job running', { timeout: 10_000 }, async () => {
  const coordinator = await ScriptedCoordinator.start();
  const { worker, gpu, engine, stop } = await startGpuWorker(coordinator, { available: false });
  const controller = Object.assign(new EventEmitter(), { currentDecision: decision(true) });
  try {
    bindSharing(worker, controller as unknown as Parameters<typeof bindSharing>[1], createLogger('test', { level: 'silent' }));
    await coordinator.announced(true);
    coordinator.send({ type: 'job.offer', jobId: 'job-1', model: 'm', messages: [{ role: 'user', content: 'abc' }], params: { maxTokens: 1000, temperature: 0 } });
    await coordinator.next('job.chunk');
    // The owner switches model (it waits for the job), then sits down: Polite caps, whose reload waits for the switch.
    const switching = worker.switchModel(scriptedModel('m2'));
    controller.emit('decision', decision(true, { maxTokensPerSecond: null, maxGpuLayers: 20, maxVramMb: 4096, maxPowerW: null } as unknown as Decision['caps']));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(worker.activeJobs, 1);

    // A game starts.
    const fromEvent = gpu.events.length;
    const stoppedAt = performance.now();
    const paused = new Promise((resolve) => worker.once('paused', resolve));
    controller.emit('decision', decision(false));
    let cancelled = gpu.events.find((e) => e.what === 'cancel job-1');
    for (let waited = 0; !cancelled && waited < 300; waited += 2) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      cancelled = gpu.events.find((e) => e.what === 'cancel job-1');
    }
    // Left running, the job would hold everything up: end it so the test can report.
    if (!cancelled) gpu.finish('job-1');
    assert.ok(cancelled && cancelled.at - stoppedAt < 100, `the job is cancelled at once (${cancelled ? `after ${Math.round(cancelled.at - stoppedAt)} ms` : 'not within 300 ms'})`);
    await Promise.all([switching, paused]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(gpu.since(fromEvent).filter((what) => what.startsWith('load')), [], 'nothing is loaded onto the GPU');
    assert.equal(engine.info, undefined);
    assert.equal(coordinator.availability.at(-1), false, 'the worker is left paused');
  } finally {
    await stop();
    await coordinator.close();
  }
});
