/**
 * What the coordinator's own metering costs a request: the same chat job streamed with the
 * OpenAI client through two otherwise identical networks on the 'bench' model —
 *   (x) exact: the coordinator has a catalog whose model file sits beside it with the catalog's
 *       SHA-256, so it counts prompts and answers with the model's own tokenizer (model-meters.ts);
 *   (n) bounds: no catalog, so it meters by bounds (bytes, template allowance) only —
 * in interleaved rounds (the order alternating), each path measured the way the serving section
 * measures (b). Target: request tokens/s of (x) ÷ (n) ≥ 0.98, with CPU per token beside it.
 */
import { dirname, basename } from 'node:path';
import { statSync } from 'node:fs';
import { successorText } from '../main/models/test-model.js';
import { modelIdFromPath, sha256File } from '../main/models/model-file.js';
import { unknownSignals } from '../main/sharing/signals.js';
import { parseCatalog } from '../network/protocol/catalog.js';
import type { CoordinatorCatalog } from '../network/coordinator/catalog-api.js';
import type { BenchContext, PrivateNetwork } from './context.js';
import { measure, type BenchJob, type Sample } from './measure.js';
import type { Section, SectionReport } from './section.js';
import { median, round, spread } from './stats.js';
import { describeBackend, describeLoad } from './device.js';
import { watchLoopDelay } from './loop-delay.js';
import type { Table } from './table.js';

const PROMPT = 'Continue the sequence: abc';
const TOKENS = 256;
/** An even count, so each path goes first equally often. */
const ROUNDS = 12;
const TARGET_RATIO = 0.98;
const COUNT_REPEATS = 200;

/** The metering section: `npm run bench -- --only metering`. */
export const meteringSection: Section = {
  name: 'metering',
  summary: `request tok/s with the coordinator's own tokenizer ÷ with bounds only, 'bench' model, ${ROUNDS}×${TOKENS} tokens`,
  run: runMetering,
};

/** A catalog listing the model file where it lies, with its hash: the coordinator then holds its tokenizer. */
async function catalogFor(modelPath: string): Promise<CoordinatorCatalog> {
  const parsed = parseCatalog({
    models: [{ id: modelIdFromPath(modelPath), name: 'Silkworm bench model', url: `files/${basename(modelPath)}`, sizeBytes: statSync(modelPath).size, sha256: await sha256File(modelPath), quantization: 'F16', contextLength: 2048 }],
  });
  if (!parsed.ok) throw new Error(`bench catalog: ${parsed.message}`);
  return { catalog: parsed.value, dir: dirname(modelPath) };
}

type Label = 'exact' | 'bounds';
type Round = Record<Label, Sample>;

async function runMetering(context: BenchContext): Promise<SectionReport> {
  const modelPath = await context.modelPath('bench');
  const modelId = modelIdFromPath(modelPath);
  // Both workers without sharing probes (no helper programs every 2 s on either path).
  const worker = { signalSource: { read: () => Promise.resolve(unknownSignals()) } };
  const networks: Partial<Record<Label, PrivateNetwork>> = {};
  try {
    networks.exact = await context.privateNetwork('bench', worker, { catalog: await catalogFor(modelPath) });
    networks.bounds = await context.privateNetwork('bench', worker);
    const { exact, bounds } = networks as Record<Label, PrivateNetwork>;
    const meter = exact.coordinator.meters.get(modelId);
    if (!meter) throw new Error('The coordinator with the catalog did not load the model’s tokenizer.');
    if (bounds.coordinator.meters.get(modelId)) throw new Error('The coordinator without a catalog holds a tokenizer.');

    const messages = [
      { role: 'system' as const, content: 'You are a benchmark.' },
      { role: 'user' as const, content: PROMPT },
    ];
    const job: BenchJob = { messages, maxTokens: TOKENS, seed: 42 };
    // Each coordinator's own figure for the prompt: counted by (x), bounded by (n) (an honest worker's claim is billed when within it).
    const figure = (network: PrivateNetwork) => {
      const { figure: tokens, exact: counted } = network.coordinator.meters.promptFigure(modelId, messages);
      return `${tokens} (${counted ? 'counted' : 'bound'})`;
    };
    const promptFigure = { exact: figure(exact), bounds: figure(bounds) };
    for (const label of ['exact', 'bounds'] as const) await measure('served', job, { network: networks[label] as PrivateNetwork });

    const stopWatching = watchLoopDelay();
    const rounds: Round[] = [];
    for (let index = 0; index < ROUNDS; index++) {
      const order: Label[] = index % 2 === 0 ? ['exact', 'bounds'] : ['bounds', 'exact'];
      const round: Partial<Round> = {};
      for (const label of order) round[label] = await measure('served', job, { network: networks[label] as PrivateNetwork });
      rounds.push(round as Round);
    }
    const loop = stopWatching();

    // The metering work itself, as the coordinator does it for this job: the prompt when the request
    // arrives (openai-api.ts), the answer when it ends (job-manager.ts).
    const text = successorText(PROMPT, TOKENS);
    const timeEach = (work: () => void) => {
      const started = performance.now();
      for (let i = 0; i < COUNT_REPEATS; i++) work();
      return ((performance.now() - started) * 1000) / COUNT_REPEATS;
    };
    const countUs = { prompt: timeEach(() => meter.counter.countPrompt(messages)), text: timeEach(() => meter.counter.countText(text)) };

    const expected = successorText(PROMPT, TOKENS);
    const outputsMatch = rounds.every((r) => r.exact.text === expected && r.bounds.text === expected && r.exact.tokens === TOKENS && r.bounds.tokens === TOKENS);
    const backend = await describeBackend(exact.worker.engineInfo.gpu);
    return report(rounds, { promptFigure, countUs, outputsMatch, backend, loop, threads: context.settings.threads });
  } finally {
    for (const network of Object.values(networks)) await network.close();
  }
}

interface Facts {
  promptFigure: Record<Label, string>;
  countUs: { prompt: number; text: number };
  outputsMatch: boolean;
  backend: string;
  loop: { p99Ms: number; maxMs: number };
  threads: number;
}

/** CPU µs per token of every process on the path: this one (client, coordinator, worker) and the job process. */
function cpuPerToken(sample: Sample): number {
  return ((sample.cpuBenchMs + (sample.cpuEngineMs ?? Number.NaN)) * 1000) / sample.tokens;
}

function report(rounds: Round[], facts: Facts): SectionReport {
  const column = (label: Label, pick: (s: Sample) => number) => rounds.map((r) => pick(r[label]));
  const paired = (pick: (s: Sample) => number) => rounds.map((r) => pick(r.exact) / pick(r.bounds));
  const tps = (s: Sample) => s.requestTps;
  const ratio = paired(tps);
  const cpuRatio = paired(cpuPerToken);
  const coordinatorCpuRatio = paired((s) => s.cpuBenchMs / s.tokens);
  const medianRatio = median(ratio);
  // The metering work as a share of a request: both measured, the request time as (x)'s median.
  const workShare = (facts.countUs.prompt + facts.countUs.text) / 1000 / median(column('exact', (s) => s.totalMs));
  const labels: Record<Label, string> = {
    exact: '(x) exact: the coordinator counts with the model’s tokenizer',
    bounds: '(n) bounds: no catalog, bytes and template allowance',
  };
  const perPath: Table = {
    title: `metering: 'bench' model, threads ${facts.threads}; ${rounds.length} rounds × ${TOKENS} tokens, openai → coordinator → worker → job — median (min–max)`,
    columns: ['path', 'request tok/s', 'decode tok/s', 'TTFT ms', 'CPU µs/token bench proc', 'CPU µs/token job proc', 'CPU µs/token all', 'coordinator prompt figure'],
    rows: (['exact', 'bounds'] as const).map((label) => [
      labels[label],
      spread(column(label, tps), 0),
      spread(column(label, (s) => s.decodeTps), 0),
      spread(column(label, (s) => s.ttftMs), 1),
      spread(column(label, (s) => (s.cpuBenchMs * 1000) / s.tokens), 0),
      spread(column(label, (s) => ((s.cpuEngineMs ?? Number.NaN) * 1000) / s.tokens), 0),
      spread(column(label, cpuPerToken), 0),
      facts.promptFigure[label],
    ]),
  };
  const versus: Table = {
    title: 'metering: (x) against (n), paired per round — median (min–max)',
    columns: ['measure', '(x) ÷ (n)'],
    rows: [
      ['request tok/s', spread(ratio, 3)],
      ['CPU per token, every process on the path', spread(cpuRatio, 3)],
      ['CPU per token, bench process (client, coordinator, worker)', spread(coordinatorCpuRatio, 3)],
    ],
    notes: [
      `target: request tok/s (x) ÷ (n) ≥ ${TARGET_RATIO} → ${medianRatio >= TARGET_RATIO ? 'met' : 'MISSED'}; a CPU ratio above 1 is CPU the exact metering costs`,
      `the metering work itself with the coordinator's tokenizer, per job (${COUNT_REPEATS} repeats, mean): countPrompt ${facts.countUs.prompt.toFixed(0)} µs as the request arrives, countText ${facts.countUs.text.toFixed(0)} µs of the ${TOKENS}-token answer as it ends: ${(workShare * 100).toFixed(3)} % of (x)'s median request time`,
      'the paired ratio and the two medians can disagree in direction: run-to-run noise here is far larger than the metering work',
      `outputs identical on both paths and equal to the model's predicted text: ${facts.outputsMatch ? 'yes' : 'NO'}`,
      'both networks: coordinator and headless worker in this process, the job process its child, clients unmetered (workers credited), no sharing probes, no spot checks',
      `device ${facts.backend}; event-loop delay p99 ${facts.loop.p99Ms.toFixed(1)} ms, max ${facts.loop.maxMs.toFixed(1)} ms; load average ${describeLoad()} after the section`,
    ],
  };
  return {
    tables: [perPath, versus],
    results: {
      metering_overhead_ratio: round(medianRatio, 3),
      metering_overhead_ratio_cpu: round(median(cpuRatio), 3),
      metering_tps_exact: round(median(column('exact', tps)), 0),
      metering_tps_bounds: round(median(column('bounds', tps)), 0),
      metering_count_prompt_us: round(facts.countUs.prompt, 0),
      metering_count_text_us: round(facts.countUs.text, 0),
      metering_work_share: round(workShare, 5),
      metering_outputs_match: facts.outputsMatch,
    },
  };
}
