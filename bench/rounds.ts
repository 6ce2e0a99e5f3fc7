/**
 * What every serving ratio is measured with (one place, so sections agree): interleaved paired
 * rounds with a rotated order, the CPU time of every process on a path, and a ratio reported as
 * the median of its per-round values beside its spread. On a shared 2-core machine one
 * wall-clock ratio swings by tens of percent; the median of many rounds and the CPU-time ratio
 * (which other load barely moves) are what to read.
 */
import { readCpu } from './proc.js';
import { median, quantile, range, round } from './stats.js';
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

/** A per-round ratio: median, interquartile range and full range. */
export interface RatioSummary {
  median: number;
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
  return { median: median(finite), q1: quantile(finite, 0.25), q3: quantile(finite, 0.75), min, max, rounds: finite.length };
}

/** "0.97 (IQR 0.95–0.99, range 0.90–1.02, 9 rounds)", for table notes. */
export function describeSpread(summary: RatioSummary, digits = 3): string {
  const f = (value: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
  return `${f(summary.median)} (IQR ${f(summary.q1)}–${f(summary.q3)}, range ${f(summary.min)}–${f(summary.max)}, ${summary.rounds} rounds)`;
}

/** `key`, `key_iqr_lo/hi` and `key_min/max` for the final JSON line. */
export function spreadResults(key: string, summary: RatioSummary, digits = 3): Record<string, ResultValue> {
  return {
    [key]: round(summary.median, digits),
    [`${key}_iqr_lo`]: round(summary.q1, digits),
    [`${key}_iqr_hi`]: round(summary.q3, digits),
    [`${key}_min`]: round(summary.min, digits),
    [`${key}_max`]: round(summary.max, digits),
  };
}
