/**
 * What every serving ratio is measured with (one place, so sections agree): interleaved paired
 * rounds with a rotated order, the CPU time of every process on a path, and a ratio reported as
 * the median of its per-round values beside its spread. On a shared 2-core machine one
 * wall-clock ratio swings by tens of percent; the median of many rounds and the CPU-time ratio
 * (which other load barely moves) are what to read.
 */
import { readCpu } from './proc.js';
import { median, medianInterval, quantile, range, round } from './stats.js';
import type { ResultValue } from './section.js';

/**
 * Runs every arm once per round, rotating which goes first (a b c, b c a, c a b, …) so none is
 * always first or always after the same one; returns one record of samples per round.
 */
export async function interleavedRounds<Arm extends string, Sample>(count: number, arms: readonly Arm[], runOne: (arm: Arm, round: number) => Promise<Sample>): Promise<Array<Record<Arm, Sample>>> {
  const rounds: Array<Record<Arm, Sample>> = [];
  for (let index = 0; index < count; index++) {
    const samples: Partial<Record<Arm, Sample>> = {};
    for (let step = 0; step < arms.length; step++) {
      const arm = arms[(step + index) % arms.length] as Arm;
      samples[arm] = await runOne(arm, index);
    }
    rounds.push(samples as Record<Arm, Sample>);
  }
  return rounds;
}

/**
 * CPU seconds used so far by the processes of a path: this process (process.cpuUsage, every
 * thread) when `self` is set, plus each of `pids` (utime + stime from /proc/PID/stat). NaN when
 * a process cannot be read (not Linux, or gone), so a ratio built on it shows as missing.
 */
export function pathCpuSeconds(pids: readonly (number | undefined)[], self: boolean): number {
  let seconds = 0;
  if (self) {
    const usage = process.cpuUsage();
    seconds += (usage.user + usage.system) / 1e6;
  }
  for (const pid of pids) seconds += (pid === undefined ? undefined : readCpu(pid)?.selfS) ?? Number.NaN;
  return seconds;
}

/** Times `work` and the CPU the path's processes spent on it (see pathCpuSeconds). */
export async function timedWithCpu<T>(pids: readonly (number | undefined)[], self: boolean, work: () => Promise<T>): Promise<{ value: T; wallS: number; cpuS: number }> {
  const cpuBefore = pathCpuSeconds(pids, self);
  const started = performance.now();
  const value = await work();
  const wallS = (performance.now() - started) / 1000;
  return { value, wallS, cpuS: pathCpuSeconds(pids, self) - cpuBefore };
}

/** A per-round ratio: median with its 95 % confidence interval, interquartile range and full range. */
export interface RatioSummary {
  median: number;
  /** The median's distribution-free 95 % confidence interval (order statistics; see medianInterval). */
  ciLo: number;
  ciHi: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
  rounds: number;
}

/** Summarises per-round values (NaN rounds left out). */
export function summarize(values: readonly number[]): RatioSummary {
  const finite = values.filter(Number.isFinite);
  const { min, max } = finite.length ? range(finite) : { min: Number.NaN, max: Number.NaN };
  const interval = medianInterval(finite, 0.95);
  return { median: median(finite), ciLo: interval.lo, ciHi: interval.hi, q1: quantile(finite, 0.25), q3: quantile(finite, 0.75), min, max, rounds: finite.length };
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** "0.97 (95 % CI 0.96–0.98, IQR 0.95–0.99, range 0.90–1.02, 21 rounds)", for table notes. */
export function describeSpread(summary: RatioSummary, digits = 3): string {
  const f = (value: number) => fixed(value, digits);
  return `${f(summary.median)} (95 % CI ${f(summary.ciLo)}–${f(summary.ciHi)}, IQR ${f(summary.q1)}–${f(summary.q3)}, range ${f(summary.min)}–${f(summary.max)}, ${summary.rounds} rounds)`;
}

/**
 * "met" or "MISSED" for a median that must be at least `target`, and whether the median's 95 %
 * confidence interval clears it: a median just over the target with the target inside its
 * interval is a result another run may well reverse.
 */
export function verdictAtLeast(summary: RatioSummary, target: number, digits = 3): string {
  const met = summary.median >= target;
  const interval = `${fixed(summary.ciLo, digits)}–${fixed(summary.ciHi, digits)}`;
  if (summary.ciLo >= target) return `met (the median's 95 % CI, ${interval}, is above it)`;
  if (summary.ciHi < target) return `MISSED (the median's 95 % CI, ${interval}, is below it)`;
  return `${met ? 'met' : 'MISSED'} (the target lies inside the median's 95 % CI, ${interval}: within this run's noise)`;
}

/** `key`, `key_ci_lo/hi` (the median's 95 % CI), `key_iqr_lo/hi` and `key_min/max` for the final JSON line. */
export function spreadResults(key: string, summary: RatioSummary, digits = 3): Record<string, ResultValue> {
  return {
    [key]: round(summary.median, digits),
    [`${key}_ci_lo`]: round(summary.ciLo, digits),
    [`${key}_ci_hi`]: round(summary.ciHi, digits),
    [`${key}_iqr_lo`]: round(summary.q1, digits),
    [`${key}_iqr_hi`]: round(summary.q3, digits),
    [`${key}_min`]: round(summary.min, digits),
    [`${key}_max`]: round(summary.max, digits),
  };
}
