/**
 * Sealed vs transport mode, side by side: the same chat job through the stock openai client,
 * (t) to the coordinator's own API (`/v1`, TLS-style transport confidentiality) and (x) to
 * `silkworm gateway`, which seals it end to end to the worker's job process (HPKE) and opens the
 * sealed answer as it streams. Same model, prompt, seed, threads; pairs alternate which runs first.
 * Target: sealed costs ≤ 2 % of tokens/s (`sealed_ratio` ≥ 0.98).
 */
import { successorText } from '../main/models/test-model.js';
import type OpenAI from 'openai';
import type { BenchContext, ServingNetwork } from './context.js';
import { cpuSnapshot, cpuSpent } from './cpu.js';
import { describeLoad } from './device.js';
import { watchLoopDelay } from './loop-delay.js';
import { streamWithOpenAi, type OpenAiChatRequest } from './openai-stream.js';
import type { Section, SectionReport } from './section.js';
import { median, round, spread } from './stats.js';
import { describeSpread, interleavedRounds, spreadResults, summarize, verdictAtLeast } from './rounds.js';
import { StreamClock, type Timing } from './stream-clock.js';
import type { Table } from './table.js';

// An odd count, so the median is a measured pair; 31 pairs put the median's 95 % CI at the 10th–22nd.
const LONG_PAIRS = 31;
const LONG_TOKENS = 384;
const TTFT_PAIRS = 15;
const TTFT_TOKENS = 8;
const TARGET_RATIO = 0.98;
const PROMPT = 'Continue the sequence: abc';

/** The sealed-vs-transport section. */
export const sealedSection: Section = {
  name: 'sealed',
  summary: `tokens/s and TTFT, sealed (gateway) vs transport, 'bench' model, ${LONG_PAIRS} pairs × ${LONG_TOKENS} tokens`,
  run: runSealed,
};

type Mode = 'transport' | 'sealed';

/** One timed request with the CPU it cost. */
interface ModeSample extends Timing {
  cpuBenchMs: number;
  cpuEngineMs: number | undefined;
}

type Pair = Record<Mode, ModeSample>;

async function runSealed(context: BenchContext): Promise<SectionReport> {
  const network = await context.network('bench');
  const gateway = await context.gateway('bench');
  const clients: Record<Mode, OpenAI> = { transport: network.client, sealed: gateway.client };
  const request = (maxTokens: number): OpenAiChatRequest => ({
    model: network.modelId,
    messages: [
      { role: 'system', content: 'You are a benchmark.' },
      { role: 'user', content: PROMPT },
    ],
    max_tokens: maxTokens,
    temperature: 0,
    seed: 42,
  });
  // Warm-up: the gateway's first request fetches and verifies the worker descriptors.
  for (const mode of ['transport', 'sealed'] as const) await timeOne(clients[mode], request(64), network);
  const stopWatching = watchLoopDelay();
  const long = await runPairs(LONG_PAIRS, request(LONG_TOKENS), clients, network);
  const short = await runPairs(TTFT_PAIRS, request(TTFT_TOKENS), clients, network);
  const loop = stopWatching();
  const outputsMatch = matches(long, LONG_TOKENS) && matches(short, TTFT_TOKENS);
  return report(long, short, { outputsMatch, loopMaxMs: loop.maxMs, tier: network.worker.engineInfo.tier, threads: context.settings.threads });
}

async function timeOne(client: OpenAI, request: OpenAiChatRequest, network: ServingNetwork): Promise<ModeSample> {
  const before = cpuSnapshot(network.worker.engine.pid);
  const clock = new StreamClock();
  const tokens = await streamWithOpenAi(client, request, (text) => clock.onText(text));
  const timing = clock.finish(tokens);
  const spent = cpuSpent(before, cpuSnapshot(network.worker.engine.pid));
  return { ...timing, cpuBenchMs: spent.selfMs, cpuEngineMs: spent.otherMs };
}

/** Runs both modes once per pair, alternating which goes first (t x, x t, …). */
function runPairs(count: number, request: OpenAiChatRequest, clients: Record<Mode, OpenAI>, network: ServingNetwork): Promise<Pair[]> {
  return interleavedRounds(count, ['transport', 'sealed'] as const, (mode) => timeOne(clients[mode], request, network));
}

/** Whether both modes produced exactly the text greedy decoding must produce. */
function matches(pairs: Pair[], tokens: number): boolean {
  const expected = successorText(PROMPT, tokens);
  return pairs.every((pair) => pair.sealed.text === expected && pair.transport.text === expected && pair.sealed.tokens === tokens && pair.transport.tokens === tokens);
}

interface Facts {
  outputsMatch: boolean;
  loopMaxMs: number;
  tier: string;
  threads: number;
}

const LABELS: Record<Mode, string> = {
  transport: '(t) openai → coordinator /v1 → worker → job (transport)',
  sealed: '(x) openai → gateway (seal) → coordinator → worker → job (sealed)',
};

function report(long: Pair[], short: Pair[], facts: Facts): SectionReport {
  const column = (pairs: Pair[], mode: Mode, pick: (s: ModeSample) => number) => pairs.map((pair) => pick(pair[mode]));
  const perToken = (mode: Mode, pick: (s: ModeSample) => number | undefined) => {
    const values = long.map((pair) => ((pick(pair[mode]) ?? Number.NaN) * 1000) / pair[mode].tokens);
    return values.some(Number.isNaN) ? 'n/a' : spread(values, 0);
  };
  const ratios = (pick: (s: ModeSample) => number) => long.map((pair) => pick(pair.sealed) / pick(pair.transport));
  const addedTtft = short.map((pair) => pair.sealed.ttftMs - pair.transport.ttftMs);
  const ratioSummary = summarize(ratios((s) => s.requestTps));
  // CPU µs per token of every process on the path (this one, hosting client, gateway,
  // coordinator and worker; and the job process), sealed ÷ transport: noise moves it far less.
  const cpuPerToken = (s: ModeSample) => ((s.cpuBenchMs + (s.cpuEngineMs ?? Number.NaN)) * 1000) / s.tokens;
  const cpuRatio = summarize(ratios(cpuPerToken));
  // Fastest ÷ fastest: the runs least disturbed by other load on this machine.
  const best = Math.max(...column(long, 'sealed', (s) => s.requestTps)) / Math.max(...column(long, 'transport', (s) => s.requestTps));
  const table: Table = {
    title: `sealed: 'bench' model, threads ${facts.threads}, worker tier ${facts.tier}; ${long.length} pairs × ${LONG_TOKENS} tokens, ${short.length} pairs × ${TTFT_TOKENS} tokens for TTFT — median (min–max)`,
    columns: ['path', 'TTFT ms', 'decode tok/s', 'request tok/s', 'CPU µs/token bench proc', 'CPU µs/token job proc', 'CPU µs/token path'],
    rows: (['transport', 'sealed'] as const).map((mode) => [
      LABELS[mode],
      spread(column(short, mode, (s) => s.ttftMs), 2),
      spread(column(long, mode, (s) => s.decodeTps), 0),
      spread(column(long, mode, (s) => s.requestTps), 0),
      perToken(mode, (s) => s.cpuBenchMs),
      perToken(mode, (s) => s.cpuEngineMs),
      perToken(mode, (s) => s.cpuBenchMs + (s.cpuEngineMs ?? Number.NaN)),
    ]),
    notes: [
      `sealed ÷ transport, paired: request tok/s ${spread(ratios((s) => s.requestTps), 3)}, decode tok/s ${spread(ratios((s) => s.decodeTps), 3)}, best ÷ best ${best.toFixed(3)}; added TTFT ${spread(addedTtft, 2)} ms`,
      `sealed_ratio (request tok/s, per pair): ${describeSpread(ratioSummary)}; sealed_cpu_ratio (CPU µs/token of the whole path, sealed ÷ transport): ${describeSpread(cpuRatio)}`,
      `target: request tok/s ratio ≥ ${TARGET_RATIO} (≤ 2 % overhead) → ${verdictAtLeast(ratioSummary, TARGET_RATIO)}`,
      `outputs identical in both modes and equal to the model's predicted text: ${facts.outputsMatch ? 'yes' : 'NO'}`,
      'pairs alternate which mode runs first; TTFT, decode and request tok/s are defined as in the serving section',
      'sealed TTFT includes sealing the request (HPKE) in the gateway and opening it in the job process; the gateway re-fetches and verifies worker descriptors when its 10 s cache expires, as a real client does',
      'gateway, client, coordinator and worker share this process (bench proc CPU); the job process seals every streamed chunk',
      `event-loop delay max ${facts.loopMaxMs.toFixed(1)} ms; load average ${describeLoad()} after the section: small differences are noise`,
    ],
  };
  return {
    tables: [table],
    results: {
      ...spreadResults('sealed_ratio', ratioSummary),
      ...spreadResults('sealed_cpu_ratio', cpuRatio),
      sealed_added_ttft_ms: round(median(addedTtft), 2),
      sealed_ratio_best: round(best, 3),
      sealed_ratio_decode: round(median(ratios((s) => s.decodeTps)), 3),
      sealed_tps: round(median(column(long, 'sealed', (s) => s.requestTps)), 0),
      transport_tps: round(median(column(long, 'transport', (s) => s.requestTps)), 0),
      sealed_ttft_ms: round(median(column(short, 'sealed', (s) => s.ttftMs)), 2),
      transport_ttft_ms: round(median(column(short, 'transport', (s) => s.ttftMs)), 2),
      sealed_outputs_match: facts.outputsMatch,
      sealed_worker_tier: facts.tier,
    },
  };
}
