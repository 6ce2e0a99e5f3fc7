/**
 * Batching on one loaded engine, measured where the serving bench cannot run: the worker's own
 * EngineSupervisor and job process, one model loaded with N context sequences, N greedy jobs at
 * once against one job alone. gpu-check.ts runs it on an NVIDIA GPU (where parallel sequences
 * are expected to multiply aggregate tokens/s); its test runs it on the CPU with the tiny model.
 *
 * Each round runs every arm once, in an order rotated from round to round; an arm's figure is
 * the tokens of all its jobs together ÷ the wall time from the first job's start to the last
 * one's end, and the gain of N streams is, per round, that figure ÷ the single job's. Beside
 * it, the job process's CPU per token in each arm (on a GPU most of the work is not CPU time).
 */
import type { EngineSupervisor } from '../main/engine/supervisor.js';
import { successorText } from '../main/models/test-model.js';
import { readCpu } from './proc.js';
import { median, round } from './stats.js';

/** One greedy job's text, its token counts, and its decode rate after the first chunk. */
export interface Generated {
  text: string;
  tokens: number;
  firstChunkMs: number;
  tokensPerSecond: number;
}

/** Runs one greedy job on the supervisor; returns its text and the decode rate after the first chunk. */
export async function generate(supervisor: EngineSupervisor, jobId: string, prompt: string, maxTokens: number): Promise<Generated> {
  let text = '';
  let tokens = 0;
  let first: number | undefined;
  let firstTokens = 0;
  const started = performance.now();
  const result = await supervisor.generate({ jobId, messages: [{ role: 'user', content: prompt }], params: { maxTokens, temperature: 0 } }, (chunk, count) => {
    if (first === undefined) {
      first = performance.now();
      firstTokens = count;
    }
    text += chunk;
    tokens += count;
  });
  const ended = performance.now();
  const decodeSeconds = (ended - (first ?? ended)) / 1000;
  return {
    text,
    tokens: result.usage.completionTokens,
    firstChunkMs: round((first ?? ended) - started) ?? 0,
    tokensPerSecond: decodeSeconds > 0 ? (round((tokens - firstTokens) / decodeSeconds) ?? 0) : 0,
  };
}

/** What to measure. */
export interface EngineBatchOptions {
  /** Concurrent jobs of each batched arm (each at most the engine's sequences). */
  streams: readonly number[];
  /** Tokens each job generates. */
  tokens: number;
  rounds: number;
  /** The prompt of every job (the generated test model continues it: its exact text is known). */
  prompt: string;
}

/** One arm over the rounds. */
export interface EngineBatchArm {
  streams: number;
  /** Aggregate tokens/s of the arm, per round. */
  tokensPerSecond: number[];
  /** The job process's CPU µs per token, per round (undefined where /proc cannot say). */
  cpuUsPerToken: Array<number | undefined>;
}

/** The arms, each gain as the median of its per-round ratios with their range, and whether every text came back exact. */
export interface EngineBatchResult {
  arms: EngineBatchArm[];
  gains: Array<{ streams: number; median: number; min: number; max: number }>;
  textsExact: boolean;
  /** The first text that differed, briefly. */
  mismatch?: string;
}

/** Runs `streams` jobs at once and times them together. */
async function runArm(supervisor: EngineSupervisor, streams: number, options: EngineBatchOptions, tag: string, expected: string): Promise<{ tokens: number; wallS: number; cpuS: number | undefined; mismatch?: string }> {
  const pid = supervisor.pid;
  const cpuBefore = pid === undefined ? undefined : readCpu(pid)?.selfS;
  const started = performance.now();
  const outs = await Promise.all(Array.from({ length: streams }, (_, i) => generate(supervisor, `${tag}-${i}`, options.prompt, options.tokens)));
  const wallS = (performance.now() - started) / 1000;
  const cpuAfter = pid === undefined ? undefined : readCpu(pid)?.selfS;
  const wrong = outs.find((out) => out.text !== expected);
  return {
    tokens: outs.reduce((sum, out) => sum + out.tokens, 0),
    wallS,
    cpuS: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
    ...(wrong ? { mismatch: `${JSON.stringify(wrong.text.slice(0, 40))} where ${JSON.stringify(expected.slice(0, 40))} was expected` } : {}),
  };
}

/**
 * Aggregate tokens/s of 1 job and of each count in `streams` at once, on an engine loaded with
 * at least max(streams) sequences; interleaved rounds, every text checked against the model's.
 */
export async function measureEngineBatch(supervisor: EngineSupervisor, options: EngineBatchOptions): Promise<EngineBatchResult> {
  const sequences = supervisor.info?.sequences ?? 1;
  const counts = [1, ...options.streams.filter((n) => n !== 1)];
  const over = counts.find((n) => n > sequences);
  if (over !== undefined) throw new Error(`${over} streams need ${over} sequences; the engine has ${sequences}.`);
  const expected = successorText(options.prompt, options.tokens);
  const arms = new Map<number, EngineBatchArm>(counts.map((n) => [n, { streams: n, tokensPerSecond: [], cpuUsPerToken: [] }]));
  let mismatch: string | undefined;
  // One unmeasured pass warms every arm (the sequences' first use).
  for (const n of counts) mismatch ??= (await runArm(supervisor, n, options, `warm-${n}`, expected)).mismatch;
  for (let round = 0; round < options.rounds; round++) {
    const order = counts.map((_, i) => counts[(i + round) % counts.length] as number);
    for (const n of order) {
      const ran = await runArm(supervisor, n, options, `r${round}-${n}`, expected);
      mismatch ??= ran.mismatch;
      const arm = arms.get(n) as EngineBatchArm;
      arm.tokensPerSecond.push(ran.tokens / ran.wallS);
      arm.cpuUsPerToken.push(ran.cpuS === undefined ? undefined : (1e6 * ran.cpuS) / Math.max(1, ran.tokens));
    }
  }
  const single = (arms.get(1) as EngineBatchArm).tokensPerSecond;
  const gains = counts
    .filter((n) => n !== 1)
    .map((n) => {
      const ratios = (arms.get(n) as EngineBatchArm).tokensPerSecond.map((value, i) => value / (single[i] ?? Number.NaN));
      return { streams: n, median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
    });
  return { arms: [...arms.values()], gains, textsExact: mismatch === undefined, ...(mismatch ? { mismatch } : {}) };
}
