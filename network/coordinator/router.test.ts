/** Routing rules: eligibility, then measured speed × load ÷ reputation; pongs and claims play no part. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickWorker, routeScore, tierSatisfies, PRIOR_TTFT_MS, type RoutableWorker } from './router.js';

function worker(id: string, over: Partial<RoutableWorker> = {}): RoutableWorker {
  return {
    id,
    models: new Set(['m']),
    contextSizes: new Map([['m', 2048]]),
    tier: 'sandboxed',
    available: true,
    running: 0,
    maxConcurrentJobs: 2,
    lastAssignedAt: 0,
    priceCoefficient: 1,
    reputation: 0.5,
    ttftMs: 100,
    tokensPerSecond: 50,
    ...over,
  };
}
const need = { model: 'm', minTier: 'unsandboxed' as const, exclude: new Set<string>(), maxCoefficient: 1, contextNeeded: 100, maxTokens: 64 };

test('only workers with the model, tier, capacity, sharing on, price within the cap, a fitting context and standing are eligible', () => {
  assert.equal(pickWorker([worker('a', { models: new Set(['other']) })], need), undefined);
  assert.equal(pickWorker([worker('a', { available: false })], need), undefined);
  assert.equal(pickWorker([worker('a', { running: 2 })], need), undefined);
  assert.equal(pickWorker([worker('a', { tier: 'unsandboxed' })], { ...need, minTier: 'sandboxed' }), undefined);
  assert.equal(pickWorker([worker('a')], { ...need, exclude: new Set(['a']) }), undefined);
  assert.equal(pickWorker([worker('a', { priceCoefficient: 1.5 })], need), undefined, 'above the client cap');
  assert.equal(pickWorker([worker('a', { priceCoefficient: 1.5 })], { ...need, maxCoefficient: 2 })?.id, 'a');
  assert.equal(pickWorker([worker('a', { contextSizes: new Map([['m', 64]]) })], need), undefined, 'context too small for the job');
  assert.equal(pickWorker([worker('a', { reputation: 0 })], need), undefined, 'ejected');
  assert.equal(pickWorker([worker('a')], need)?.id, 'a');
});

test('the coordinator-measured speed decides: a fast first token and fast generation win', () => {
  const slow = worker('slow', { ttftMs: 900, tokensPerSecond: 20 });
  const fast = worker('fast', { ttftMs: 40, tokensPerSecond: 200 });
  assert.equal(pickWorker([slow, fast], need)?.id, 'fast');
  // Busy workers look proportionally slower.
  assert.equal(pickWorker([worker('busy', { running: 1, ttftMs: 100 }), worker('idle', { ttftMs: 150 })], need)?.id, 'idle');
});

test('a new identity (low reputation, unmeasured) gets traffic only when established workers are loaded', () => {
  const established = worker('old', { reputation: 0.9, ttftMs: 300, tokensPerSecond: 40, maxConcurrentJobs: 4 });
  const newcomer = worker('new', { reputation: 0.2, ttftMs: 0, tokensPerSecond: 0 });
  assert.ok(routeScore(newcomer, 64) > routeScore(established, 64));
  assert.equal(pickWorker([established, newcomer], need)?.id, 'old');
  assert.equal(pickWorker([{ ...established, running: 4 }, newcomer], need)?.id, 'new', 'when the established worker is full');
  assert.equal(routeScore(worker('x', { ttftMs: 0, tokensPerSecond: 0, reputation: 1 }), 0), PRIOR_TTFT_MS);
});

test('an unmeasured worker is preferred to one measured slower than typical, so it gets measured', () => {
  const slow = worker('slow', { ttftMs: 1200, tokensPerSecond: 100 });
  const unmeasured = worker('fresh', { ttftMs: 0, tokensPerSecond: 0 });
  assert.equal(pickWorker([slow, unmeasured], need)?.id, 'fresh');
  assert.equal(pickWorker([worker('quick', { ttftMs: 20, tokensPerSecond: 500 }), unmeasured], need)?.id, 'quick');
});

test('exploration picks uniformly among eligible workers at its rate', () => {
  const a = worker('a', { ttftMs: 10 });
  const b = worker('b', { ttftMs: 5000 });
  const draws = [0.01, 0.9]; // explore, then the second of two
  let i = 0;
  assert.equal(pickWorker([a, b], need, { rate: 0.05, random: () => draws[i++]! })?.id, 'b');
  assert.equal(pickWorker([a, b], need, { rate: 0.05, random: () => 0.5 })?.id, 'a', 'above the rate: best score');
});

test('scores within 1 % tie, and ties go to the least recently used', () => {
  const picked = pickWorker([worker('a', { ttftMs: 100, lastAssignedAt: 20 }), worker('b', { ttftMs: 100.5, lastAssignedAt: 10 })], need);
  assert.equal(picked?.id, 'b');
});

test('tiers are ordered unsandboxed < sandboxed < tee', () => {
  assert.ok(tierSatisfies('tee', 'sandboxed'));
  assert.ok(tierSatisfies('sandboxed', 'sandboxed'));
  assert.ok(!tierSatisfies('unsandboxed', 'sandboxed'));
  assert.ok(!tierSatisfies('sandboxed', 'tee'));
});
