/** The bench's order statistics: the median's confidence interval and the verdict read from it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { medianInterval } from './stats.js';
import { summarize, verdictAtLeast } from './rounds.js';

const ranks = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('the median interval picks the order statistics of the binomial tables, with their coverage', () => {
  // n → [k, n−k+1] and 1 − 2·P(Binomial(n, ½) ≤ k−1), from the standard tables.
  const expected: Array<[number, number, number, number]> = [
    [6, 1, 6, 0.96875],
    [9, 2, 8, 1 - (2 * (1 + 9)) / 512],
    [15, 4, 12, 1 - (2 * (1 + 15 + 105 + 455)) / 32768],
    [21, 6, 16, 0.9734],
    [31, 10, 22, 0.9706],
    [100, 40, 61, 0.9648],
  ];
  for (const [n, lo, hi, coverage] of expected) {
    const interval = medianInterval(ranks(n).reverse());
    assert.deepEqual([interval.lo, interval.hi], [lo, hi], `n = ${n}`);
    assert.ok(Math.abs(interval.coverage - coverage) < 1e-4, `n = ${n}: coverage ${interval.coverage}`);
    assert.ok(interval.coverage >= 0.95);
  }
});

test('too few rounds for 95 % give the whole range and say how little it covers', () => {
  assert.deepEqual(medianInterval([3, 1, 2]), { lo: 1, hi: 3, coverage: 0.75 });
  assert.equal(medianInterval([1, 2, 3, 4, 5]).coverage, 0.9375);
  assert.ok(Number.isNaN(medianInterval([]).lo));
});

test('the verdict says whether the median’s interval clears the target', () => {
  const high = summarize(ranks(21).map((i) => 0.96 + i / 1000)); // 0.961 … 0.981, median 0.971, CI 0.966–0.976
  assert.equal(high.median, 0.971);
  assert.match(verdictAtLeast(high, 0.95), /^met \(the median's 95 % CI, 0\.966–0\.976, is above it\)$/);
  assert.match(verdictAtLeast(high, 0.97), /^met \(the target lies inside/);
  assert.match(verdictAtLeast(high, 0.972), /^MISSED \(the target lies inside/);
  assert.match(verdictAtLeast(high, 0.98), /^MISSED \(the median's 95 % CI, 0\.966–0\.976, is below it\)$/);
});
