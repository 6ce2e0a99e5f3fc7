/**
 * What JSON output costs: the same chat on the 'bench' model written as free text and as JSON
 * held to a llama.cpp grammar —
 *   (t) free text;
 *   (s) `response_format: json_schema` (one string property: what structured output asks most);
 *   (o) `response_format: json_object` (node-llama-cpp's built-in JSON grammar) —
 * on two paths: (a) LlamaEngine alone in a process of its own (where the grammar acts, timed
 * inside it) and (b) the OpenAI client through coordinator, worker and job process. Interleaved
 * rounds, the order rotated so each label goes first equally often; medians with spread.
 * Target: (s) ÷ (t) request tokens/s on (a) ≥ 0.8, with tokens per CPU second beside it.
 */
import { successorText } from '../main/models/test-model.js';
import type { ResponseFormat } from '../network/protocol/job-schemas.js';
import type { BenchContext } from './context.js';
import { measure, type BenchJob, type Path, type Sample, type Targets } from './measure.js';
import type { Section, SectionReport } from './section.js';
import { median, round, spread } from './stats.js';
import { describeBackend, describeLoad } from './device.js';
import type { Table } from './table.js';

const PROMPT = 'Continue the sequence: abc';
const TOKENS = 192;
/** A multiple of three, so each label goes first equally often. */
const ROUNDS = 9;
const TARGET_RATIO = 0.8;
const LABELS = ['free', 'schema', 'object'] as const;
const PATHS = ['raw', 'served'] as const satisfies readonly Path[];

type Label = (typeof LABELS)[number];
type BenchPath = (typeof PATHS)[number];
type Round = Record<BenchPath, Record<Label, Sample>>;

/** The schema of (s): a JSON object with one string, which the test model fills to the budget. */
const SCHEMA: ResponseFormat = { type: 'json_schema', schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } };
const FORMATS: Record<Label, ResponseFormat | undefined> = { free: undefined, schema: SCHEMA, object: { type: 'json_object' } };

/** The json-mode section: `npm run bench -- --only json-mode`. */
export const jsonModeSection: Section = {
  name: 'json-mode',
  summary: `JSON output held to a grammar ÷ free text, tok/s, 'bench' model, ${ROUNDS}×${TOKENS} tokens, engine alone and served`,
  run: runJsonMode,
};

async function runJsonMode(context: BenchContext): Promise<SectionReport> {
  const targets: Targets = { raw: await context.rawEngine('bench'), network: await context.network('bench') };
  const messages = [
    { role: 'system' as const, content: 'You are a benchmark.' },
    { role: 'user' as const, content: PROMPT },
  ];
  const job = (label: Label): BenchJob => {
    const format = FORMATS[label];
    return { messages, maxTokens: TOKENS, seed: 42, ...(format ? { responseFormat: format } : {}) };
  };
  // Warm-up: builds and caches each grammar on both paths (a client's first request pays that once per schema).
  for (const path of PATHS) for (const label of LABELS) await measure(path, job(label), targets);

  const rounds: Round[] = [];
  for (let index = 0; index < ROUNDS; index++) {
    const order = LABELS.map((_, i) => LABELS[(i + index) % LABELS.length] as Label);
    const round = { raw: {}, served: {} } as Round;
    for (const path of PATHS) for (const label of order) round[path][label] = await measure(path, job(label), targets);
    rounds.push(round);
  }
  return report(rounds, { backend: await describeBackend(targets.raw?.backend ?? 'cpu'), threads: context.settings.threads });
}

/** Tokens per CPU second of the process running the engine: its own on (a), the job process on (b). */
function tokensPerCpuSecond(sample: Sample): number {
  return (sample.tokens * 1000) / (sample.cpuEngineMs ?? Number.NaN);
}

/** What the outputs were: free text exactly the model's prediction, constrained text JSON from its first byte. */
function checkOutputs(rounds: Round[]): { freeMatches: boolean; jsonStarts: boolean; fullBudget: boolean } {
  const expected = successorText(PROMPT, TOKENS);
  const all = rounds.flatMap((r) => PATHS.map((p) => r[p]));
  return {
    freeMatches: all.every((r) => r.free.text === expected),
    jsonStarts: all.every((r) => r.schema.text.startsWith('{"text":"') && r.object.text.startsWith('{')),
    fullBudget: all.every((r) => LABELS.every((label) => r[label].tokens === TOKENS)),
  };
}

function report(rounds: Round[], facts: { backend: string; threads: number }): SectionReport {
  const column = (path: BenchPath, label: Label, pick: (s: Sample) => number) => rounds.map((r) => pick(r[path][label]));
  const paired = (path: BenchPath, label: Label, pick: (s: Sample) => number) => rounds.map((r) => pick(r[path][label]) / pick(r[path].free));
  const tps = (s: Sample) => s.requestTps;
  const ratio = paired('raw', 'schema', tps);
  const medianRatio = median(ratio);
  const outputs = checkOutputs(rounds);
  const pathNames: Record<BenchPath, string> = { raw: '(a) engine alone', served: '(b) served (openai → coordinator → worker → job)' };
  const labelNames: Record<Label, string> = { free: '(t) free text', schema: '(s) json_schema', object: '(o) json_object' };
  const perLabel: Table = {
    title: `json-mode: 'bench' model, threads ${facts.threads}; ${rounds.length} rounds × ${TOKENS} tokens — median (min–max)`,
    columns: ['path', 'output', 'request tok/s', 'decode tok/s', 'TTFT ms', 'tokens per CPU s (engine process)'],
    rows: PATHS.flatMap((path) =>
      LABELS.map((label) => [pathNames[path], labelNames[label], spread(column(path, label, tps), 0), spread(column(path, label, (s) => s.decodeTps), 0), spread(column(path, label, (s) => s.ttftMs), 1), spread(column(path, label, tokensPerCpuSecond), 0)]),
    ),
  };
  const ratios: Table = {
    title: 'json-mode: constrained ÷ free text, paired per round — median (min–max)',
    columns: ['path', 'ratio', 'request tok/s', 'decode tok/s', 'tokens per CPU s'],
    rows: PATHS.flatMap((path) =>
      (['schema', 'object'] as const).map((label) => [pathNames[path], `${labelNames[label]} ÷ (t)`, spread(paired(path, label, tps), 3), spread(paired(path, label, (s) => s.decodeTps), 3), spread(paired(path, label, tokensPerCpuSecond), 3)]),
    ),
    notes: [
      `target: (s) ÷ (t) request tok/s on (a) ≥ ${TARGET_RATIO} → ${medianRatio >= TARGET_RATIO ? 'met' : 'MISSED'}`,
      `free text identical to the model's predicted text on every run: ${outputs.freeMatches ? 'yes' : 'NO'}; constrained outputs JSON from their first byte: ${outputs.jsonStarts ? 'yes' : 'NO'}; every run wrote the full ${TOKENS} tokens: ${outputs.fullBudget ? 'yes' : 'NO'}`,
      outputs.fullBudget
        ? 'the test model never closed the JSON string, so constrained runs ended at the token budget: the ratio is the per-token cost of the grammar, not of shorter answers'
        : 'some runs ended before the token budget: request tok/s of those include a larger share of fixed per-request time',
      'grammars were built in a warm-up run first (cached per schema); temperature 0, seed 42 on every run',
      `device ${facts.backend}; load average ${describeLoad()} after the section`,
    ],
  };
  return {
    tables: [perLabel, ratios],
    results: {
      json_mode_ratio: round(medianRatio, 3),
      json_mode_ratio_cpu: round(median(paired('raw', 'schema', tokensPerCpuSecond)), 3),
      json_mode_ratio_object: round(median(paired('raw', 'object', tps)), 3),
      json_mode_ratio_served: round(median(paired('served', 'schema', tps)), 3),
      json_mode_tps_free: round(median(column('raw', 'free', tps)), 0),
      json_mode_tps_schema: round(median(column('raw', 'schema', tps)), 0),
      json_mode_outputs_ok: outputs.freeMatches && outputs.jsonStarts,
    },
  };
}
