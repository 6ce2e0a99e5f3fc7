/**
 * Cancel latency, the requirement being "honours cancel within 50 ms":
 * (s) EngineSupervisor.cancel(jobId) → the supervisor's generate() rejects with `cancelled`
 *     (IPC to the job process, AbortSignal in node-llama-cpp, the reply back);
 * (b) the OpenAI client aborts its stream → the worker emits `job-ended` for the job
 *     (HTTP close at the coordinator, job.cancel over WebSocket, then the same path as (s)).
 */
import { JobFailure } from '../main/engine/supervisor.js';
import type { BenchContext, ServingNetwork } from './context.js';
import type { BenchJob } from './measure.js';
import type { Section, SectionReport } from './section.js';
import { quantile, round } from './stats.js';
import type { Table } from './table.js';
import { watchLoopDelay } from './loop-delay.js';

const SUPERVISOR_RUNS = 20;
const CLIENT_RUNS = 20;
const TARGET_MS = 50;
const RUN_TIMEOUT_MS = 10_000;

/** One cancelled job: how long stopping took, text that still arrived, the code it ended with. */
interface CancelSample {
  ms: number;
  chunksAfter: number;
  /** The error code the engine reported; anything but 'cancelled' is a misreported cancel. */
  code: string;
}

/** The cancel-latency section. */
export const cancelSection: Section = {
  name: 'cancel',
  summary: `cancel → engine stopped, ${SUPERVISOR_RUNS} via EngineSupervisor and ${CLIENT_RUNS} via the OpenAI client`,
  run: runCancel,
};

// Long enough that no job ends on its own before it is cancelled.
const JOB: BenchJob = { messages: [{ role: 'user', content: 'abc' }], maxTokens: 1500, seed: 7 };

/** Chunks to wait for before cancelling run `index`: 0 (cancel at once, before any token) to 47. */
function cancelAfter(index: number): number {
  return index % 5 === 0 ? 0 : 1 + ((index * 13) % 47);
}

async function runCancel(context: BenchContext): Promise<SectionReport> {
  const network = await context.network('bench');
  const stopWatching = watchLoopDelay();
  const supervisor: CancelSample[] = [];
  for (let index = 0; index < SUPERVISOR_RUNS; index++) supervisor.push(await withTimeout(cancelViaSupervisor(network, index)));
  const client: CancelSample[] = [];
  for (let index = 0; index < CLIENT_RUNS; index++) client.push(await withTimeout(cancelViaClient(network, index)));
  const loop = stopWatching();
  const table: Table = {
    title: `cancel: time from cancel to the engine reporting the job stopped ('bench' model)`,
    columns: ['path', 'runs', 'p50 ms', 'p95 ms', 'max ms', 'chunks after cancel (max)', "code not 'cancelled'", `≤ ${TARGET_MS} ms`],
    rows: [row('(s) EngineSupervisor.cancel → generate() rejects', supervisor), row('(b) openai stream abort → worker job-ended', client)],
    notes: [
      'runs cancel after 0 (straight after submitting, every 5th run) to 47 streamed chunks; p95 is nearest-rank',
      "a stop reported with another code than 'cancelled' still counts as stopped, and is listed",
      "(b) includes the coordinator noticing the closed HTTP response and the job.cancel frame; the client's own abort is immediate",
      `event-loop delay in this process meanwhile: p99 ${loop.p99Ms.toFixed(1)} ms, max ${loop.maxMs.toFixed(1)} ms (a stalled loop delays every cancel)`,
    ],
  };
  const ms = (samples: CancelSample[], q: number) => round(quantile(samples.map((s) => s.ms), q), 2);
  return {
    tables: [table],
    results: {
      cancel_p50_ms: ms(supervisor, 0.5),
      cancel_p95_ms: ms(supervisor, 0.95),
      cancel_max_ms: ms(supervisor, 1),
      cancel_client_p50_ms: ms(client, 0.5),
      cancel_client_p95_ms: ms(client, 0.95),
      cancel_misreported: supervisor.filter((s) => s.code !== 'cancelled').length,
      cancel_loop_delay_max_ms: round(loop.maxMs, 1),
    },
  };
}

function row(label: string, samples: CancelSample[]): string[] {
  const ms = samples.map((s) => s.ms);
  const p95 = quantile(ms, 0.95);
  return [
    label,
    String(samples.length),
    quantile(ms, 0.5).toFixed(2),
    p95.toFixed(2),
    quantile(ms, 1).toFixed(2),
    String(Math.max(...samples.map((s) => s.chunksAfter))),
    describeCodes(samples),
    p95 <= TARGET_MS ? 'met (p95)' : 'MISSED (p95)',
  ];
}

/** "0", or how many runs ended with another code, and which: "4 (engine_error)". */
function describeCodes(samples: CancelSample[]): string {
  const wrong = samples.filter((s) => s.code !== 'cancelled');
  return wrong.length ? `${wrong.length} (${[...new Set(wrong.map((s) => s.code))].join(', ')})` : '0';
}

async function cancelViaSupervisor(network: ServingNetwork, index: number): Promise<CancelSample> {
  const engine = network.worker.engine;
  const jobId = `bench-cancel-${index}`;
  const after = cancelAfter(index);
  let chunks = 0;
  let cancelledAt = 0;
  let chunksAfter = 0;
  const cancel = () => {
    cancelledAt = performance.now();
    engine.cancel(jobId);
  };
  const running = engine.generate({ jobId, messages: JOB.messages, params: { maxTokens: JOB.maxTokens, temperature: 0, seed: JOB.seed } }, () => {
    if (cancelledAt) chunksAfter++;
    else if (++chunks === after) cancel();
  });
  if (after === 0) cancel();
  try {
    await running;
  } catch (error) {
    if (!(error instanceof JobFailure)) throw error;
    return { ms: performance.now() - cancelledAt, chunksAfter, code: error.error.code };
  }
  throw new Error(`job ${jobId} finished instead of being cancelled`);
}

async function cancelViaClient(network: ServingNetwork, index: number): Promise<CancelSample> {
  const after = cancelAfter(index);
  let cancelledAt = 0;
  let chunksAfter = 0;
  const ended = new Promise<{ at: number; code: string | undefined }>((resolve) => network.worker.worker.once('job-ended', (event) => resolve({ at: performance.now(), code: event.code })));
  const stream = await network.client.chat.completions.create({ model: network.modelId, messages: JOB.messages, max_tokens: JOB.maxTokens, temperature: 0, seed: JOB.seed, stream: true });
  const abort = () => {
    cancelledAt = performance.now();
    stream.controller.abort();
  };
  if (after === 0) abort();
  let chunks = 0;
  try {
    for await (const chunk of stream) {
      if (cancelledAt) chunksAfter++;
      else if (chunk.choices[0]?.delta.content && ++chunks === after) abort();
    }
  } catch (error) {
    if (!cancelledAt) throw error; // only the abort may end the stream early
  }
  const end = await ended;
  if (end.code === undefined) throw new Error('the job finished instead of being cancelled');
  return { ms: end.at - cancelledAt, chunksAfter, code: end.code };
}

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a cancel run took over ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
