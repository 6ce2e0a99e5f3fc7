/** Tables and JSON keys of a serving section, from its interleaved rounds. */
import { availableParallelism } from 'node:os';
import { PATHS, type Path, type Sample } from './measure.js';
import type { SectionReport } from './section.js';
import { median, round, spread } from './stats.js';
import { describeLoad } from './device.js';
import type { LoopDelay } from './loop-delay.js';
import type { Table } from './table.js';
import type { ServingOptions } from './serving.js';

/** One sample per path, taken back to back. */
export type Round = Record<Path, Sample>;

/** Facts about a section's run that its report states. */
export interface RunFacts {
  backend: string;
  outputsMatch: boolean;
  loop: LoopDelay;
  threads: number;
  probes: 'real' | 'none';
}

const LABELS: Record<Path, string> = {
  raw: '(a) raw LlamaEngine, own process',
  supervisor: '(s) EngineSupervisor → job process',
  fetch: '(f) fetch+SSE → coordinator → worker → job',
  served: '(b) openai → coordinator → worker → job',
};
const COMPARED = ['supervisor', 'fetch', 'served'] as const;
const TARGET_RATIO = 0.97;
const TARGET_ADDED_TTFT_MS = 5;

const column = (rounds: Round[], path: Path, pick: (sample: Sample) => number): number[] => rounds.map((r) => pick(r[path]));
const requestTps = (sample: Sample) => sample.requestTps;
const decodeTps = (sample: Sample) => sample.decodeTps;
const ttft = (sample: Sample) => sample.ttftMs;
const toWorker = (sample: Sample) => sample.toWorkerMs ?? Number.NaN;

/** Per round (path ÷ (a)) of `pick`: paired, so drift in machine load cancels out. */
function ratios(rounds: Round[], path: Path, pick: (sample: Sample) => number): number[] {
  return rounds.map((r) => pick(r[path]) / pick(r.raw));
}

/** Per round TTFT of `path` − TTFT of (a). */
function addedTtft(rounds: Round[], path: Path): number[] {
  return rounds.map((r) => r[path].ttftMs - r.raw.ttftMs);
}

/** Fastest request tok/s of `path` ÷ fastest of (a): the runs least disturbed by other load. */
function bestRatio(rounds: Round[], path: Path): number {
  return Math.max(...column(rounds, path, requestTps)) / Math.max(...column(rounds, 'raw', requestTps));
}

/** CPU µs per generated token as "median (min–max)", or n/a where it could not be read. */
function perToken(rounds: Round[], path: Path, pick: (sample: Sample) => number | undefined): string {
  const values: number[] = [];
  for (const r of rounds) {
    const ms = pick(r[path]);
    if (ms === undefined) return 'n/a';
    values.push((ms * 1000) / r[path].tokens);
  }
  return spread(values, 0);
}

/** The section's two tables: each path's figures, then each path against (a). */
export function servingTables(options: ServingOptions, long: Round[], short: Round[], facts: RunFacts): Table[] {
  const network = (path: Path) => path === 'fetch' || path === 'served';
  const speed: Table = {
    title: `${options.name}: '${options.size}' model, threads ${facts.threads}; ${long.length} rounds × ${options.maxTokens} tokens, ${short.length} rounds × ${short[0]?.raw.tokens ?? 0} tokens for TTFT — median (min–max)`,
    columns: ['path', 'TTFT ms', 'call → worker ms', 'decode tok/s', 'request tok/s', 'CPU µs/token bench proc', 'CPU µs/token engine proc'],
    rows: PATHS.map((path) => [
      LABELS[path],
      spread(column(short, path, ttft), 2),
      network(path) ? spread(column(short, path, toWorker), 2) : '-',
      spread(column(long, path, decodeTps), 0),
      spread(column(long, path, requestTps), 0),
      perToken(long, path, (s) => s.cpuBenchMs),
      perToken(long, path, (s) => s.cpuEngineMs),
    ]),
  };
  const servedRatio = median(ratios(long, 'served', requestTps));
  const servedTtft = median(addedTtft(short, 'served'));
  const versus: Table = {
    title: `${options.name}: each path against (a), paired per round — median (min–max)`,
    columns: ['path', 'request tok/s ÷ (a)', 'decode tok/s ÷ (a)', 'best ÷ best of (a)', 'added TTFT ms'],
    rows: COMPARED.map((path) => [
      LABELS[path],
      spread(ratios(long, path, requestTps), 3),
      spread(ratios(long, path, decodeTps), 3),
      bestRatio(long, path).toFixed(3),
      spread(addedTtft(short, path), 2),
    ]),
    notes: [
      `targets: (b) request tok/s ÷ (a) ≥ ${TARGET_RATIO} → ${verdict(servedRatio >= TARGET_RATIO)}; (b) added TTFT ≤ ${TARGET_ADDED_TTFT_MS} ms → ${verdict(servedTtft <= TARGET_ADDED_TTFT_MS)}`,
      `outputs identical on every path and equal to the model's predicted text: ${facts.outputsMatch ? 'yes' : 'NO'}`,
      `device ${facts.backend}; load average ${describeLoad()} after the section`,
      `event-loop delay in this process (client, coordinator, worker): p99 ${facts.loop.p99Ms.toFixed(1)} ms, max ${facts.loop.maxMs.toFixed(1)} ms; sharing probes ${facts.probes}`,
      ...(options.explain ? EXPLANATIONS : []),
    ],
  };
  return [speed, versus];
}

const EXPLANATIONS = [
  'TTFT: call → first non-empty text the caller sees, from the short runs; call → worker: call → the worker emits job-started',
  'decode tok/s: (tokens − 1) ÷ (first text → last text); request tok/s: tokens ÷ (call → stream end, usage received)',
  'paired: each run ÷ (or −) the (a) run of the same round; best ÷ best: fastest run ÷ fastest (a) run',
  '(a) is LlamaEngine, the job process\'s own class, alone in a process that times it; (f) is (b) without the openai SDK: (b) − (f) is the SDK',
  'the bench process runs client, coordinator and worker (production splits them over machines); the job process is the worker\'s child',
  'CPU µs/token: CPU time of every thread during a run ÷ tokens; engine proc: (a)\'s own process, else the job process',
  `every path shares ${availableParallelism()} cores with the others and with whatever else runs here: small differences are noise`,
];

function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}

/** The section's keys on the final JSON line (suffixed for the tiny model). */
export function servingResults(options: ServingOptions, long: Round[], short: Round[], facts: RunFacts): SectionReport['results'] {
  const key = (name: string) => `${name}${options.suffix}`;
  return {
    [key('serving_ratio')]: round(median(ratios(long, 'served', requestTps)), 3),
    [key('added_ttft_ms')]: round(median(addedTtft(short, 'served')), 2),
    [key('serving_ratio_best')]: round(bestRatio(long, 'served'), 3),
    [key('serving_ratio_decode')]: round(median(ratios(long, 'served', decodeTps)), 3),
    [key('fetch_ratio')]: round(median(ratios(long, 'fetch', requestTps)), 3),
    [key('fetch_added_ttft_ms')]: round(median(addedTtft(short, 'fetch')), 2),
    [key('supervisor_ratio')]: round(median(ratios(long, 'supervisor', requestTps)), 3),
    [key('supervisor_added_ttft_ms')]: round(median(addedTtft(short, 'supervisor')), 2),
    [key('served_to_worker_ms')]: round(median(column(short, 'served', toWorker)), 2),
    [key('raw_tps')]: round(median(column(long, 'raw', requestTps)), 0),
    [key('served_tps')]: round(median(column(long, 'served', requestTps)), 0),
    [key('raw_ttft_ms')]: round(median(column(short, 'raw', ttft)), 2),
    [key('served_ttft_ms')]: round(median(column(short, 'served', ttft)), 2),
    [key('serving_outputs_match')]: facts.outputsMatch,
    [key('loop_delay_max_ms')]: round(facts.loop.maxMs, 1),
    device: facts.backend,
  };
}
