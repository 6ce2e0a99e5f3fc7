/** Routing rules: model, tier, capacity, exclusions, then (running + 1) × latency. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickWorker, tierSatisfies, type RoutableWorker } from './router.js';

function worker(id: string, over: Partial<RoutableWorker> = {}): RoutableWorker {
  return { id, models: new Set(['m']), tier: 'sandboxed', available: true, running: 0, maxConcurrentJobs: 2, latencyMs: 1, lastAssignedAt: 0, ...over };
}
const need = { model: 'm', minTier: 'unsandboxed' as const, exclude: new Set<string>() };

test('only workers with the model, the tier, free capacity and sharing on are eligible', () => {
  assert.equal(pickWorker([worker('a', { models: new Set(['other']) })], need), undefined);
  assert.equal(pickWorker([worker('a', { available: false })], need), undefined);
  assert.equal(pickWorker([worker('a', { running: 2 })], need), undefined);
  assert.equal(pickWorker([worker('a', { tier: 'unsandboxed' })], { ...need, minTier: 'sandboxed' }), undefined);
  assert.equal(pickWorker([worker('a')], { ...need, exclude: new Set(['a']) }), undefined);
  assert.equal(pickWorker([worker('a')], need)?.id, 'a');
});

test('the lowest (running + 1) × latency wins', () => {
  assert.equal(pickWorker([worker('busy', { running: 1, latencyMs: 5 }), worker('far', { latencyMs: 8 })], need)?.id, 'far');
  assert.equal(pickWorker([worker('busy', { running: 1, latencyMs: 3 }), worker('far', { latencyMs: 8 })], need)?.id, 'busy');
});

test('sub-millisecond latency differences tie, and ties go to the least recently used', () => {
  const picked = pickWorker([worker('a', { latencyMs: 0.3, lastAssignedAt: 20 }), worker('b', { latencyMs: 0.7, lastAssignedAt: 10 })], need);
  assert.equal(picked?.id, 'b');
});

test('tiers are ordered unsandboxed < sandboxed < tee', () => {
  assert.ok(tierSatisfies('tee', 'sandboxed'));
  assert.ok(tierSatisfies('sandboxed', 'sandboxed'));
  assert.ok(!tierSatisfies('unsandboxed', 'sandboxed'));
  assert.ok(!tierSatisfies('sandboxed', 'tee'));
});
