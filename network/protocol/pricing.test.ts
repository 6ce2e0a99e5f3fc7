/** Exact money: job costs round up for the client, worker shares round down, nothing is lost. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jobCost, splitCost, formatTon, coefficientMilli, DEFAULT_PRICE_LIST, priceOf } from './pricing.js';

const price = { promptPerMillion: 10_000_000n, completionPerMillion: 30_000_000n };

test('a job costs tokens × price per million × coefficient, rounded up to the nanoton', () => {
  assert.equal(jobCost(price, { promptTokens: 1_000_000, completionTokens: 0 }, 1), 10_000_000n);
  assert.equal(jobCost(price, { promptTokens: 10, completionTokens: 20 }, 1), 700n); // 100 + 600
  assert.equal(jobCost(price, { promptTokens: 1, completionTokens: 0 }, 1), 10n);
  assert.equal(jobCost({ promptPerMillion: 1n, completionPerMillion: 1n }, { promptTokens: 1, completionTokens: 0 }, 1), 1n, 'rounded up, never free');
  assert.equal(jobCost(price, { promptTokens: 10, completionTokens: 20 }, 1.5), 1050n);
  assert.equal(jobCost(price, { promptTokens: 0, completionTokens: 0 }, 1), 0n);
  assert.equal(coefficientMilli(0.1 + 0.2), 300n, 'float noise does not leak into amounts');
});

test('the split gives the worker the cost less commission, rounded down; the parts add up', () => {
  for (const cost of [0n, 1n, 9n, 700n, 10_000_000_001n]) {
    const { worker, coordinator } = splitCost(cost, 1000);
    assert.equal(worker + coordinator, cost);
    assert.equal(worker, (cost * 9000n) / 10000n);
  }
  assert.deepEqual(splitCost(700n, 0), { worker: 700n, coordinator: 0n });
});

test('TON formatting is exact', () => {
  assert.equal(formatTon(0n), '0');
  assert.equal(formatTon(1n), '0.000000001');
  assert.equal(formatTon(1_500_000_000n), '1.5');
  assert.equal(formatTon(-2_000_000_000n), '-2');
  assert.equal(priceOf(DEFAULT_PRICE_LIST, 'any').completionPerMillion, 30_000_000n);
});
