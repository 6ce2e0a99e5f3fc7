/**
 * Serving overhead: the same chat job run (a) on the engine alone in its process, (s) through the
 * worker's EngineSupervisor (job process over IPC), (f) with plain fetch and (b) with the OpenAI
 * client through coordinator (HTTP/SSE) → worker (WebSocket) → job process; interleaved rounds
 * of long runs for tokens/s, then of short runs for time to first token.
 */
import { successorText } from '../main/models/test-model.js';
import type { BenchContext, ModelSize } from './context.js';
import { measure, PATHS, type BenchJob, type Path, type Sample, type Targets } from './measure.js';
import type { Section, SectionReport } from './section.js';
import { describeBackend } from './device.js';
import { watchLoopDelay } from './loop-delay.js';
import { servingResults, servingTables, type Round } from './serving-report.js';

/** How a serving section runs. */
export interface ServingOptions {
  name: string;
  size: ModelSize;
  /** Rounds of long runs (every path once per round, after one warm-up run each). */
  rounds: number;
  maxTokens: number;
  /** Rounds of short runs for TTFT. */
  ttftRounds: number;
  /** Appended to every result key ('' for the main model, '_tiny' for the tiny one). */
  suffix: string;
  /** Print what each figure means under this section's tables. */
  explain: boolean;
}

const PROMPT = 'Continue the sequence: abc';
const TTFT_TOKENS = 8;

/** A serving-overhead section for one model size. */
export function servingSection(options: ServingOptions): Section {
  return {
    name: options.name,
    summary: `tokens/s and TTFT, raw vs served, '${options.size}' model, ${options.rounds}×${options.maxTokens} tokens`,
    run: (context) => runServing(context, options),
  };
}

async function runServing(context: BenchContext, options: ServingOptions): Promise<SectionReport> {
  const [raw, network] = await Promise.all([context.rawEngine(options.size), context.network(options.size)]);
  const targets = { raw, network };
  const job = (maxTokens: number): BenchJob => ({
    messages: [
      { role: 'system', content: 'You are a benchmark.' },
      { role: 'user', content: PROMPT },
    ],
    maxTokens,
    seed: 42,
  });
  for (const path of PATHS) await measure(path, job(64), targets);
  const stopWatching = watchLoopDelay();
  const long = await runRounds(options.rounds, job(options.maxTokens), targets);
  const short = await runRounds(options.ttftRounds, job(TTFT_TOKENS), targets);
  const loop = stopWatching();
  const outputsMatch = matches(long, options.maxTokens) && matches(short, TTFT_TOKENS);
  const backend = await describeBackend(network.worker.engineInfo.gpu);
  const facts = { backend, outputsMatch, loop, threads: context.settings.threads, probes: context.settings.probes };
  return { tables: servingTables(options, long, short, facts), results: servingResults(options, long, short, facts) };
}

/** Runs every path once per round, rotating the order (a s f b, s f b a, …) so none is always first. */
async function runRounds(count: number, job: BenchJob, targets: Targets): Promise<Round[]> {
  const rounds: Round[] = [];
  for (let index = 0; index < count; index++) {
    const samples: Partial<Round> = {};
    for (let step = 0; step < PATHS.length; step++) {
      const path = PATHS[(step + index) % PATHS.length] as Path;
      samples[path] = await measure(path, job, targets);
    }
    rounds.push(samples as Round);
  }
  return rounds;
}

/** Whether every path produced exactly the text greedy decoding must produce. */
function matches(rounds: Round[], tokens: number): boolean {
  const expected = successorText(PROMPT, tokens);
  return rounds.every((round) => PATHS.every((path) => (round[path] as Sample).text === expected && (round[path] as Sample).tokens === tokens));
}
