import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateEarning, recommendModel } from './model-advice.js';

const PRICING = { default: { promptPerMillion: '100000000', completionPerMillion: '1000000000' }, models: { big: { promptPerMillion: '100000000', completionPerMillion: '4000000000' } }, commissionBps: 1000 };
const MEASURED = { sizeBytes: 1_000_000_000, tokensPerSecond: 100 };

test('speed scales with 1 / size from what this PC measured; earnings at the published price after commission', () => {
  // 100 tokens/s × 3600 = 360,000 tokens/h × 1 TON per 1M × 90 % = 0.324 TON/h.
  assert.deepEqual(estimateEarning({ id: 'same', sizeBytes: 1_000_000_000, verdict: 'fits-gpu' }, MEASURED, PRICING), { tokensPerSecond: 100, nanotonsPerHour: 324_000_000n });
  // Twice the size: half the speed, at its own (4×) price: 180,000 × 4 TON/1M × 90 % = 0.648 TON/h.
  assert.deepEqual(estimateEarning({ id: 'big', sizeBytes: 2_000_000_000, verdict: 'fits-gpu' }, MEASURED, PRICING), { tokensPerSecond: 50, nanotonsPerHour: 648_000_000n });
  const partly = estimateEarning({ id: 'big', sizeBytes: 2_000_000_000, verdict: 'partial-gpu' }, MEASURED, PRICING);
  assert.equal(partly?.tokensPerSecond, 15, 'partly in system memory runs far slower');
});

test('no estimate without a measurement, prices, or room for the model', () => {
  assert.equal(estimateEarning({ id: 'x', sizeBytes: 1, verdict: 'too-big' }, MEASURED, PRICING), null);
  assert.equal(estimateEarning({ id: 'x', sizeBytes: 1, verdict: 'fits-gpu' }, null, PRICING), null);
  assert.equal(estimateEarning({ id: 'x', sizeBytes: 1, verdict: 'fits-gpu' }, MEASURED, undefined), null);
});

test('the recommendation earns most among models that fit well', () => {
  const items = [
    { id: 'small', verdict: 'fits-gpu' as const, estimate: { tokensPerSecond: 100, nanotonsPerHour: 10n } },
    { id: 'best', verdict: 'fits-gpu' as const, estimate: { tokensPerSecond: 50, nanotonsPerHour: 20n } },
    { id: 'huge', verdict: 'partial-gpu' as const, estimate: { tokensPerSecond: 5, nanotonsPerHour: 30n } },
    { id: 'none', verdict: 'too-big' as const, estimate: null },
  ];
  assert.equal(recommendModel(items), 'best', 'a model that fits beats a faster-paying one that spills out of the GPU');
  assert.equal(recommendModel([items[2]!, items[3]!]), 'huge', 'when nothing fits well, the best of the rest');
  assert.equal(recommendModel([items[3]!]), null);
});
