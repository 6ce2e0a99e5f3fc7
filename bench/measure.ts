/**
 * One generation, timed the same way on each path: (a) LlamaEngine alone in its process,
 * timed inside it; (s) the worker's EngineSupervisor (job process over IPC); (f) plain fetch
 * and (b) the OpenAI client, both through coordinator and worker. Every clock starts just
 * before the call and stops where the caller sees text.
 */
/** A benchmark chat: system and user messages. */
type ChatMessage = { role: 'system' | 'user'; content: string };
import type { ResponseFormat, Tool } from '../network/protocol/job-schemas.js';
import type { ServingNetwork } from './context.js';
import type { RawEngine } from './raw-engine.js';
import { cpuSnapshot, cpuSpent } from './cpu.js';
import { streamWithFetch, type OpenAiResponseFormat } from './sse-fetch.js';
import { streamWithOpenAi } from './openai-stream.js';
import { StreamClock, type Timing } from './stream-clock.js';

/** Which path a sample took. */
export type Path = 'raw' | 'supervisor' | 'fetch' | 'served';

/** Every path, in the order of a serving section's first round. */
export const PATHS: readonly Path[] = ['raw', 'supervisor', 'fetch', 'served'];

/** The request every path runs: same messages, token budget, temperature and seed. */
export interface BenchJob {
  messages: ChatMessage[];
  maxTokens: number;
  seed: number;
  /** JSON output held to a grammar (the json-mode section); free text when absent. */
  responseFormat?: ResponseFormat;
  /** A function the answer must call (the verify section's call check): its arguments stream as the answer's text. */
  forcedCall?: Tool;
}

/** What one timed generation measured. */
export interface Sample extends Timing {
  path: Path;
  /** Call → the worker emitted `job-started` (network paths only): the request's way in. */
  toWorkerMs: number | undefined;
  /** CPU ms used during the call by this process (all threads). */
  cpuBenchMs: number;
  /** CPU ms used by the process running the engine: (a)'s own, else the job process. */
  cpuEngineMs: number | undefined;
}

/** Where the paths lead (a section timing only network paths needs no raw engine). */
export interface Targets {
  raw?: RawEngine;
  network: ServingNetwork;
}

let nextJob = 0;

/** Runs `job` on one path and times it. */
export async function measure(path: Path, job: BenchJob, targets: Targets): Promise<Sample> {
  const { network } = targets;
  const raw = () => {
    if (!targets.raw) throw new Error('The raw path needs a raw engine.');
    return targets.raw;
  };
  const enginePid = () => (path === 'raw' ? raw().pid : network.worker.engine.pid);
  const before = cpuSnapshot(enginePid());
  let toWorker: number | undefined;
  const onStarted = () => (toWorker ??= performance.now());
  network.worker.worker.on('job-started', onStarted);
  try {
    const called = performance.now();
    const timing = path === 'raw' ? await raw().run(job) : await viaNetwork(path, job, network);
    const spent = cpuSpent(before, cpuSnapshot(enginePid()));
    return { ...timing, path, toWorkerMs: toWorker === undefined ? undefined : toWorker - called, cpuBenchMs: spent.selfMs, cpuEngineMs: spent.otherMs };
  } finally {
    network.worker.worker.off('job-started', onStarted);
  }
}

/** Runs the job through the worker's supervisor, or the coordinator with fetch or the SDK. */
async function viaNetwork(path: Exclude<Path, 'raw'>, job: BenchJob, network: ServingNetwork): Promise<Timing> {
  const clock = new StreamClock();
  const onText = (text: string) => clock.onText(text);
  const format = job.responseFormat;
  const params = { maxTokens: job.maxTokens, temperature: 0, seed: job.seed, ...(format ? { responseFormat: format } : {}) };
  const request = { model: network.modelId, messages: job.messages, max_tokens: job.maxTokens, temperature: 0, seed: job.seed, ...(format ? { response_format: openAiResponseFormat(format) } : {}) };
  switch (path) {
    case 'supervisor': {
      const result = await network.worker.engine.generate({ jobId: `bench-${nextJob++}`, messages: job.messages, params }, onText);
      return clock.finish(result.usage.completionTokens);
    }
    case 'fetch':
      return clock.finish(await streamWithFetch(network.baseUrl, network.apiKey, request, onText));
    case 'served':
      return clock.finish(await streamWithOpenAi(network.client, request, onText));
  }
}

/** A job's response format as a client sends it to the chat completions endpoint. */
function openAiResponseFormat(format: ResponseFormat): OpenAiResponseFormat {
  return format.type === 'json_object' ? { type: 'json_object' } : { type: 'json_schema', json_schema: { name: 'bench', schema: format.schema } };
}
