/** Reputation moves as its table says: slow up with clean work, fast down with misconduct, ejection at the strike limit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyReputationEvent, attemptSpeed, EJECT_STRIKES, newWorkerRecord, NEW_IDENTITY_REPUTATION, observeSpeed } from './reputation.js';

test('a new identity starts low and earns reputation slowly with clean work', () => {
  let r = newWorkerRecord('w', 'k', 0);
  assert.equal(r.reputation, NEW_IDENTITY_REPUTATION);
  for (let i = 0; i < 10; i++) r = applyReputationEvent(r, 'clean', 0);
  assert.ok(r.reputation > 0.5 && r.reputation < 0.6, `after 10 clean jobs: ${r.reputation}`);
  assert.equal(r.cleanJobs, 10);
});

test('disputes, cut-offs, failed checks and lost jobs lower it, in that order of leniency', () => {
  const base = { ...newWorkerRecord('w', 'k', 0), reputation: 0.8 };
  const after = (e: Parameters<typeof applyReputationEvent>[1]) => applyReputationEvent(base, e, 0).reputation;
  assert.ok(after('lost') > after('dispute'));
  assert.ok(after('dispute') > after('cut_off'));
  assert.ok(after('cut_off') > after('verify_failed'));
  assert.equal(applyReputationEvent(base, 'dispute', 0).disputes, 1);
});

test('failed spot checks add strikes; the limit ejects the identity once', () => {
  let r = newWorkerRecord('w', 'k', 0);
  for (let i = 1; i < EJECT_STRIKES; i++) r = applyReputationEvent(r, 'verify_failed', i);
  assert.equal(r.ejectedAt, null);
  r = applyReputationEvent(r, 'verify_failed', 99);
  assert.equal(r.ejectedAt, 99);
  assert.equal(applyReputationEvent(r, 'verify_failed', 100).ejectedAt, 99);
});

test('speed averages start at the first sample and then move a third of the way', () => {
  let r = observeSpeed(newWorkerRecord('w', 'k', 0), { ttftMs: 100, tokensPerSecond: 50 });
  assert.deepEqual([r.ttftMs, r.tokensPerSecond], [100, 50]);
  r = observeSpeed(r, { ttftMs: 200 });
  assert.equal(r.ttftMs, 130);
  assert.equal(r.tokensPerSecond, 50, 'no sample: unchanged');
});

test("an attempt's speed sample: first token from the offer, less the bus's round trip when it went through the bus", () => {
  assert.deepEqual(attemptSpeed({ offeredAt: 1000, firstChunkAt: 1250, lastChunkAt: 2250 }, 51), { ttftMs: 250, tokensPerSecond: 50 });
  assert.deepEqual(attemptSpeed({ offeredAt: 1000, firstChunkAt: 1250, lastChunkAt: 2250 }, 51, 3), { ttftMs: 247, tokensPerSecond: 50 }, 'the relay is the path’s, not the worker’s');
  assert.deepEqual(attemptSpeed({ offeredAt: 1000, firstChunkAt: 1002 }, 51, 5), { ttftMs: 1 }, 'at least 1 ms; no rate from one instant');
  assert.deepEqual(attemptSpeed({ offeredAt: 1000, firstChunkAt: 1100, lastChunkAt: 1200 }, 3), { ttftMs: 100 }, 'no rate from under 4 tokens');
});
