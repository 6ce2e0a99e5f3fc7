/**
 * Batching on the worker: 4 concurrent streams through the whole serving path (openai client →
 * coordinator → worker → job process, one model with 4 context sequences) against the raw engine
 * with 4 sequences in one process (the same LlamaEngine, same model and threads), and against 1
 * stream on the same serving path. Interleaved rounds with a rotated order; every ratio is the
 * median of its per-round values, with its spread and a CPU-time ratio beside it.
 *
 * When the engine loads on a GPU, the worker takes 8 jobs at once and an arm of 8 streams joins
 * the rounds: batch_gain_8 (8 streams ÷ 1 on the serving path; goal ≥ 2.5, where parallel
 * sequences share the GPU's work). On the CPU it is not run (2 cores have no room to batch 8
 * sequences) unless SILKWORM_BENCH_BATCH_WIDE=1 asks for it.
 */
import { successorText } from '../main/models/test-model.js';
import type { BenchContext, PrivateNetwork } from './context.js';
import { describeLoad } from './device.js';
import { streamWithOpenAi } from './openai-stream.js';
import { RawEngine } from './raw-engine.js';
import { describeSpread, interleavedRounds, pathCpuSeconds, spreadResults, summarize, timedWithCpu, verdictAtLeast } from './rounds.js';
import type { BenchJob } from './measure.js';
import type { Section, SectionReport } from './section.js';
import { round, spread } from './stats.js';
import type { Table } from './table.js';

const STREAMS = 4;
// An odd count, so the median is a measured round; 21 rounds put the median's 95 % CI at the 6th–16th.
const ROUNDS = 21;
const TOKENS = 192;
const TARGET_RATIO = 0.95;
/** Streams of the GPU arm, and its goal over 1 stream. */
const WIDE_STREAMS = 8;
const WIDE_GAIN_TARGET = 2.5;
const PROMPT = 'Continue the sequence: abc';

/** The batching section. */
export const batchSection: Section = {
  name: 'batch',
  summary: `aggregate tokens/s of ${STREAMS} concurrent streams, served vs raw engine with ${STREAMS} sequences, and vs 1 stream; 'bench' model, ${ROUNDS} rounds × ${TOKENS} tokens`,
  run: runBatch,
};

type Arm = 'raw4' | 'served4' | 'served1' | 'served8';
const ARMS = ['raw4', 'served4', 'served1'] as const satisfies readonly Arm[];
const STREAMS_OF: Record<Arm, number> = { raw4: STREAMS, served4: STREAMS, served1: 1, served8: WIDE_STREAMS };

/** One arm's run: tokens of all its streams together, wall and CPU time of its path. */
interface ArmSample {
  tokens: number;
  wallS: number;
  cpuS: number;
  /** Of cpuS, the job process's (served arms) or the raw engine's (raw arm). */
  engineCpuS: number;
  textsMatch: boolean;
  /** The first stream that differed, for the report: what came back, briefly. */
  mismatch?: string;
}

async function runBatch(context: BenchContext): Promise<SectionReport> {
  const modelPath = await context.modelPath('bench');
  const raw = await RawEngine.start({ ...context.engineConfig(modelPath), sequences: STREAMS });
  let network: PrivateNetwork | undefined;
  try {
    const wide = raw.backend !== 'cpu' || process.env.SILKWORM_BENCH_BATCH_WIDE === '1';
    const arms: Arm[] = wide ? [...ARMS, 'served8'] : [...ARMS];
    network = await context.privateNetwork('bench', { maxConcurrentJobs: wide ? WIDE_STREAMS : STREAMS });
    const served = network;
    const job: BenchJob = { messages: [{ role: 'system', content: 'You are a benchmark.' }, { role: 'user', content: PROMPT }], maxTokens: TOKENS, seed: 42 };
    const expected = successorText(PROMPT, TOKENS);
    const runArm = async (arm: Arm): Promise<ArmSample> => {
      const streams = STREAMS_OF[arm];
      const enginePid = arm === 'raw4' ? raw.pid : served.worker.engine.pid;
      const engineBefore = pathCpuSeconds([enginePid], false);
      const measured =
        arm === 'raw4'
          ? await timedWithCpu([raw.pid], false, () => Promise.all(Array.from({ length: streams }, () => raw.run(job).then((t) => ({ text: t.text, tokens: t.tokens })))))
          : await timedWithCpu([served.worker.engine.pid], true, () =>
              Promise.all(
                Array.from({ length: streams }, async () => {
                  let text = '';
                  const tokens = await streamWithOpenAi(served.client, { model: served.modelId, messages: job.messages, max_tokens: TOKENS, temperature: 0, seed: 42 }, (piece) => (text += piece));
                  return { text, tokens };
                }),
              ),
            );
      const tokens = measured.value.reduce((sum, s) => sum + s.tokens, 0);
      const wrong = measured.value.find((s) => s.text !== expected || s.tokens !== TOKENS);
      const mismatch = wrong ? `${arm}: ${wrong.tokens} tokens, text ${wrong.text === expected ? 'as expected' : `of ${wrong.text.length} chars starting ${JSON.stringify(wrong.text.slice(0, 24))}`}` : undefined;
      const engineCpuS = pathCpuSeconds([enginePid], false) - engineBefore;
      return { tokens, wallS: measured.wallS, cpuS: measured.cpuS, engineCpuS, textsMatch: !wrong, ...(mismatch ? { mismatch } : {}) };
    };
    // Warm-up: every arm once (KV cache, the coordinator's routing, the client's connections).
    for (const arm of arms) await runArm(arm);
    const rounds = await interleavedRounds(ROUNDS, arms, (arm) => runArm(arm));
    return report(rounds, arms, raw.backend, context.settings.threads, served.worker.engineInfo.sequences);
  } finally {
    await network?.close();
    await raw.stop();
  }
}

function report(rounds: Array<Partial<Record<Arm, ArmSample>> & Record<(typeof ARMS)[number], ArmSample>>, arms: readonly Arm[], backend: string, threads: number, sequences: number): SectionReport {
  const tps = (s: ArmSample) => s.tokens / s.wallS;
  const cpuPerToken = (s: ArmSample) => (s.cpuS * 1e6) / s.tokens;
  const ratio = summarize(rounds.map((r) => tps(r.served4) / tps(r.raw4)));
  const cpuRatio = summarize(rounds.map((r) => cpuPerToken(r.served4) / cpuPerToken(r.raw4)));
  const gain = summarize(rounds.map((r) => tps(r.served4) / tps(r.served1)));
  const rawGain = summarize(rounds.map((r) => tps(r.raw4) / tps(r.served1)));
  const sampleOf = (r: (typeof rounds)[number], arm: Arm): ArmSample => {
    const sample = r[arm];
    if (!sample) throw new Error(`No ${arm} sample in a round.`);
    return sample;
  };
  const textsMatch = rounds.every((r) => arms.every((arm) => sampleOf(r, arm).textsMatch));
  const gain8 = arms.includes('served8') ? summarize(rounds.map((r) => tps(sampleOf(r, 'served8')) / tps(r.served1))) : undefined;
  const labels: Record<Arm, string> = {
    raw4: `(a4) raw LlamaEngine, ${STREAMS} sequences, ${STREAMS} jobs at once`,
    served4: `(b4) ${STREAMS} openai streams → coordinator → worker → job process`,
    served1: '(b1) 1 openai stream, same path',
    served8: `(b8) ${WIDE_STREAMS} openai streams, same path`,
  };
  const table: Table = {
    title: `batch: 'bench' model, threads ${threads}, worker sequences ${sequences}; ${rounds.length} interleaved rounds × ${TOKENS} tokens per stream — median (min–max)`,
    columns: ['path', 'aggregate tok/s', 'CPU µs/token (all processes on the path)'],
    rows: arms.map((arm) => [labels[arm], spread(rounds.map((r) => tps(sampleOf(r, arm))), 0), spread(rounds.map((r) => cpuPerToken(sampleOf(r, arm))), 0)]),
    notes: [
      `batch_ratio (b4 ÷ a4, per round): ${describeSpread(ratio)}; target ≥ ${TARGET_RATIO} → ${verdictAtLeast(ratio, TARGET_RATIO)}`,
      `batch_cpu_ratio (CPU µs/token b4 ÷ a4): ${describeSpread(cpuRatio)}`,
      `batch_gain (b4 ÷ b1): ${describeSpread(gain)}; raw a4 ÷ served b1: ${describeSpread(rawGain)}`,
      gain8
        ? `batch_gain_8 (b8 ÷ b1, engine on ${backend}): ${describeSpread(gain8)}; goal on a GPU ≥ ${WIDE_GAIN_TARGET} → ${backend === 'cpu' ? 'no verdict (the engine runs on the CPU)' : verdictAtLeast(gain8, WIDE_GAIN_TARGET)}`
        : `batch_gain_8: not measured — ${wideSkipped(backend)}`,
      `every stream's text equal to the model's predicted text: ${textsMatch ? 'yes' : `NO (${rounds.flatMap((r) => arms.flatMap((arm) => sampleOf(r, arm).mismatch ?? [])).slice(0, 3).join('; ')})`}`,
      'CPU of (b): this process (client, coordinator and worker share it) plus the job process; of (a): the raw engine process',
      `of which the engine's process (job process / raw engine), CPU µs/token: ${arms.map((arm) => `${arm} ${spread(rounds.map((r) => (sampleOf(r, arm).engineCpuS * 1e6) / sampleOf(r, arm).tokens), 0)}`).join(', ')}`,
      `load average ${describeLoad()} after the section: on a shared machine read the medians and the CPU ratio, not one round`,
    ],
  };
  return {
    tables: [table],
    results: {
      ...spreadResults('batch_ratio', ratio),
      ...spreadResults('batch_cpu_ratio', cpuRatio),
      ...spreadResults('batch_gain', gain),
      ...(gain8 ? spreadResults('batch_gain_8', gain8) : { batch_gain_8: null, batch_gain_8_skipped: wideSkipped(backend) }),
      batch_raw4_tps: round(summarize(rounds.map((r) => tps(r.raw4))).median, 0),
      batch_served4_tps: round(summarize(rounds.map((r) => tps(r.served4))).median, 0),
      batch_served1_tps: round(summarize(rounds.map((r) => tps(r.served1))).median, 0),
      batch_job_cpu_ratio: round(summarize(rounds.map((r) => r.served4.engineCpuS / r.served4.tokens / (r.raw4.engineCpuS / r.raw4.tokens))).median, 3),
      batch_outputs_match: textsMatch,
    },
  };
}

/** Why the 8-stream arm did not run. */
function wideSkipped(backend: string): string {
  return `the engine runs on ${backend === 'cpu' ? 'the CPU' : backend}: ${WIDE_STREAMS} streams are measured on a GPU (SILKWORM_BENCH_BATCH_WIDE=1 runs them here too)`;
}
