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
