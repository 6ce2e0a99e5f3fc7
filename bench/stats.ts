/** Small order statistics for benchmark samples (no interpolation tricks: nearest rank). */

/** The value at quantile `q` (0..1) by nearest rank; NaN for no samples. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** The median (the lower middle value for an even count, so it is always a measured value). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Smallest and largest value. */
export function range(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/** Rounds to `digits` decimals, keeping NaN/Infinity as null so the JSON line stays valid. */
export function round(value: number, digits = 1): number | null {
  if (!Number.isFinite(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** "median (min–max)" with `digits` decimals, for table cells. */
export function spread(values: readonly number[], digits = 1): string {
  if (values.length === 0) return '-';
  const { min, max } = range(values);
  return `${median(values).toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
}

/** A distribution-free confidence interval for the median (see medianInterval). */
export interface MedianInterval {
  lo: number;
  hi: number;
  /** The interval's actual coverage (order statistics give a few discrete levels, at least the one asked for when n allows). */
  coverage: number;
}

/**
 * The confidence interval for the median from order statistics: [x(k), x(n−k+1)] with the
 * largest k whose coverage, 1 − 2·P(Binomial(n, ½) < k), is still ≥ `level`. It assumes nothing
 * about the distribution, only independent rounds, which is what a noisy shared machine allows.
 * With too few samples for `level` it is [min, max] and reports the lower coverage that has.
 */
export function medianInterval(values: readonly number[], level = 0.95): MedianInterval {
  const sorted = [...values].sort((x, y) => x - y);
  const n = sorted.length;
  if (n === 0) return { lo: Number.NaN, hi: Number.NaN, coverage: 0 };
  // [x(k), x(n−k+1)] misses the median with probability 2·P(X ≤ k−1), X ~ Binomial(n, ½); the
  // pmf is taken in the log domain so large n cannot overflow.
  const pmf = (i: number) => Math.exp(logFactorial(n) - logFactorial(i) - logFactorial(n - i) - n * Math.LN2);
  let k = 1;
  let tail = pmf(0); // P(X ≤ k − 1)
  while (k + 1 <= Math.floor((n + 1) / 2) && 1 - 2 * (tail + pmf(k)) >= level) {
    tail += pmf(k);
    k++;
  }
  return { lo: sorted[k - 1]!, hi: sorted[n - k]!, coverage: 1 - 2 * tail };
}

function logFactorial(n: number): number {
  let sum = 0;
  for (let i = 2; i <= n; i++) sum += Math.log(i);
  return sum;
}
