// The sharing binding applies decisions in order, one at a time, newest last: a slow change of
// caps (a pause and a model reload) never lets an older decision land after a newer one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Decision } from '../sharing/policy.js';
import { createLogger } from '../../network/node-kit/log.js';
import { bindSharing, type SharingTarget } from './sharing-binding.js';

function decision(share: boolean, caps: Decision['caps'] = null): Decision {
  return { share, summary: share ? 'Sharing' : 'Paused', caps, reasons: [] } as unknown as Decision;
}

/** A worker whose every step takes a turn of the timer queue, and whose caps change takes longer. */
function fakeWorker(): SharingTarget & { calls: string[]; available: boolean } {
  const calls: string[] = [];
  const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const worker = {
    calls,
    available: false,
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

test('decisions in quick succession: applied one at a time, the newest last, the ones in between skipped', async () => {
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
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(worker.calls, ['caps', 'resume', 'no-caps', 'resume']);
  assert.equal(worker.available, true, 'the newest decision (share) is the state the worker is left in');

  controller.emit('decision', decision(false));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(worker.available, false);
  assert.deepEqual(worker.calls.slice(-2), ['no-caps', 'pause']);
});
