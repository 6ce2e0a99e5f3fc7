/** Routing rules: eligibility, then measured speed × load ÷ reputation; pongs and claims play no part. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asksNoLess, pickWorker, routeScore, tierSatisfies, PRIOR_TTFT_MS, ROUTE_SAMPLE, type RoutableWorker } from './router.js';

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

test('a tie goes to a worker on this instance before one behind another instance; a better score still wins', () => {
  const remote = worker('remote', { instance: 'inst-b', lastAssignedAt: 0 });
  const local = worker('local', { lastAssignedAt: 50 });
  assert.equal(pickWorker([remote, local], need)?.id, 'local', 'local, though used more recently');
  assert.equal(pickWorker([local, remote], need)?.id, 'local', 'whatever the order');
  const fasterRemote = worker('fast-remote', { instance: 'inst-b', ttftMs: 50, tokensPerSecond: 100 });
  assert.equal(pickWorker([local, fasterRemote], need)?.id, 'fast-remote', 'not a tie: the faster worker, wherever it is');
  const twoRemotes = [worker('r1', { instance: 'inst-b', lastAssignedAt: 30 }), worker('r2', { instance: 'inst-c', lastAssignedAt: 10 })];
  assert.equal(pickWorker(twoRemotes, need)?.id, 'r2', 'among remote workers, the least recently used');
});

test("a worker behind another instance is charged the bus's measured round trip: it wins only by more than that", () => {
  // Same measured speed: 2 ms of first token and 64 tokens at 64,000 tokens/s (1 ms).
  const here = worker('here', { ttftMs: 2.2, tokensPerSecond: 64_000 });
  const there = worker('there', { instance: 'inst-b', ttftMs: 1.5, tokensPerSecond: 64_000 });
  assert.equal(pickWorker([here, there], need)?.id, 'there', 'unmeasured bus: the faster worker, wherever it is');
  const relayed = worker('there', { instance: 'inst-b', ttftMs: 1.5, tokensPerSecond: 64_000, relayMs: 1.2 });
  assert.equal(routeScore(relayed, 64), ((1.5 + 1.2 + 1) * 1) / 0.5);
  assert.equal(pickWorker([here, relayed], need)?.id, 'here', 'a 0.7 ms better first token does not pay a 1.2 ms round trip');
  assert.equal(pickWorker([worker('here', { ttftMs: 4, tokensPerSecond: 64_000 }), relayed], need)?.id, 'there', 'a 2.5 ms better one does');
  // On real models a first token takes hundreds of ms: the round trip barely moves the score.
  assert.equal(pickWorker([worker('here', { ttftMs: 400 }), worker('there', { instance: 'inst-b', ttftMs: 300, relayMs: 1.2 })], need)?.id, 'there');
});

test('tiers are ordered unsandboxed < sandboxed < tee', () => {
  assert.ok(tierSatisfies('tee', 'sandboxed'));
  assert.ok(tierSatisfies('sandboxed', 'sandboxed'));
  assert.ok(!tierSatisfies('unsandboxed', 'sandboxed'));
  assert.ok(!tierSatisfies('sandboxed', 'tee'));
});

test('in a large fleet a decision looks at a bounded sample, still picks among the best, and finds the one free worker', () => {
  let reads = 0;
  const fleet = Array.from({ length: 10_000 }, (_, i) => {
    const w = worker(`w${i}`, { ttftMs: 50 + ((i * 7919) % 1000), tokensPerSecond: 20 + ((i * 104_729) % 200) });
    let available = true;
    Object.defineProperty(w, 'available', {
      get: () => (reads++, available),
      set: (value: boolean) => (available = value),
    });
    return w;
  });
  const scores = fleet.map((w) => routeScore(w, need.maxTokens)).sort((a, b) => a - b);
  const quartile = scores[Math.floor(scores.length / 4)] ?? 0;
  for (let i = 0; i < 200; i++) {
    reads = 0;
    const picked = pickWorker(fleet, need);
    assert.ok(picked, 'a worker is picked');
    assert.ok(reads <= 4 * ROUTE_SAMPLE, `looked at ${reads} workers of 10,000`);
    assert.ok(routeScore(picked, need.maxTokens) <= quartile, 'the best of the sample is in the best quarter of the fleet');
  }
  // All busy but one: random probes miss it, and every worker is then looked at.
  for (const w of fleet) w.running = w.maxConcurrentJobs;
  const free = fleet[7777];
  assert.ok(free);
  free.running = 0;
  assert.equal(pickWorker(fleet, need)?.id, 'w7777');
});

test('a request asks no less than another when every worker that could take it could take the other', () => {
  const base = { model: 'm', minTier: 'sandboxed' as const, exclude: new Set(['w1']), maxCoefficient: 1, contextNeeded: 1000 };
  assert.ok(asksNoLess(base, base));
  assert.ok(asksNoLess({ ...base, minTier: 'tee', maxCoefficient: 0.5, contextNeeded: 4000, exclude: new Set(['w1', 'w2']) }, base), 'stricter in every way');
  assert.ok(!asksNoLess({ ...base, model: 'other' }, base), 'another model');
  assert.ok(!asksNoLess({ ...base, minTier: 'unsandboxed' }, base), 'a lower tier admits more workers');
  assert.ok(!asksNoLess({ ...base, maxCoefficient: 2 }, base), 'a higher price cap admits more workers');
  assert.ok(!asksNoLess({ ...base, contextNeeded: 500 }, base), 'a smaller context admits more workers');
  assert.ok(!asksNoLess({ ...base, exclude: new Set(['w2']) }, base), 'the worker the other excluded may be free for it');
  // Checked against pickWorker: the stricter request finds no worker where the other found none.
  const fleet = [worker('w1', { running: 0 }), worker('w2', { running: 2 }), worker('w3', { tier: 'unsandboxed' })];
  assert.equal(pickWorker(fleet, { ...base, maxTokens: 64 }), undefined);
  assert.equal(pickWorker(fleet, { ...base, minTier: 'tee', exclude: new Set(['w1', 'w2']), maxTokens: 64 }), undefined);
  assert.equal(pickWorker(fleet, { ...base, exclude: new Set(), maxTokens: 64 })?.id, 'w1', 'without the exclusion, w1 is free');
});
