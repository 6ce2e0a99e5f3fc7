/**
 * Entry point of the job process: the only process that parses model files and (in sealed
 * mode) sees prompts in clear. It loads the engine on request, runs jobs, streams chunks
 * back, honours cancel, and exits with its parent.
 */
import { connectToParent } from './parent-channel.js';
import { toJobProcessSchema, type FromJobProcess, type ToJobProcess } from './job-messages.js';
import { EngineBusyError, LlamaEngine } from './llama-engine.js';
import { dieWithParent, lockdown, runtimeReadPaths } from '../../native/sandbox/index.js';
import { appReadPaths } from './read-paths.js';

// No orphans, even if the IPC channel's close were missed: the kernel ends us with the worker.
dieWithParent();

const parent = connectToParent();
const send = (message: FromJobProcess) => parent.send(message);
const log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => send({ type: 'log', level, msg });

let engine: LlamaEngine | undefined;
const running = new Map<string, AbortController>();

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function load(message: Extract<ToJobProcess, { type: 'load' }>): Promise<void> {
  if (engine) {
    send({ type: 'failed', replyTo: message.seq, code: 'internal', message: 'A model is already loaded.' });
    return;
  }
  try {
    const loaded = await LlamaEngine.load(message.config, log);
    engine = loaded.engine;
    // The warm-up runs before lockdown: GPU backends may open devices lazily on first use.
    const tokensPerSecond = await measureSpeed(loaded.engine, message.config.warmupTokens);
    const sandbox = message.config.sandbox
      ? lockdown({ readPaths: [message.config.modelPath, ...appReadPaths(), ...runtimeReadPaths()] })
      : { tier: 'unsandboxed' as const, reason: 'The sandbox was turned off for this worker.' };
    if (sandbox.tier !== 'sandboxed') log('warn', `Job process is not sandboxed: ${sandbox.reason ?? 'unknown reason'}`);
    send({
      type: 'loaded',
      replyTo: message.seq,
      info: { ...loaded.info, tokensPerSecond, pid: process.pid, tier: sandbox.tier, ...(sandbox.reason ? { sandboxReason: sandbox.reason } : {}) },
    });
  } catch (error) {
    send({ type: 'failed', replyTo: message.seq, code: 'model_load_failed', message: `Failed to load model: ${errorMessage(error)}` });
  }
}

/** A short greedy generation right after loading: warms caches and measures tokens/s. */
async function measureSpeed(target: LlamaEngine, tokens: number): Promise<number> {
  if (tokens === 0) return 0;
  const started = performance.now();
  const result = await target.generate([{ role: 'user', content: 'Hello' }], { maxTokens: tokens, temperature: 0 }, undefined, new AbortController().signal, () => {});
  const seconds = (performance.now() - started) / 1000;
  return seconds > 0 ? Math.round(result.usage.completionTokens / seconds) : 0;
}

async function generate(message: Extract<ToJobProcess, { type: 'generate' }>): Promise<void> {
  const { jobId } = message;
  if (!engine) {
    send({ type: 'failed', jobId, code: 'engine_error', message: 'No model is loaded.' });
    return;
  }
  if (running.has(jobId)) {
    send({ type: 'failed', jobId, code: 'duplicate_job', message: `Job ${jobId} is already running.` });
    return;
  }
  const abort = new AbortController();
  running.set(jobId, abort);
  try {
    const result = await engine.generate(message.messages, message.params, message.continuation, abort.signal, (text, tokens) => send({ type: 'chunk', jobId, text, tokens }));
    if (result.finishReason === 'cancelled') send({ type: 'failed', jobId, code: 'cancelled', message: 'Cancelled.' });
    else send({ type: 'done', jobId, finishReason: result.finishReason, usage: result.usage });
  } catch (error) {
    const code = error instanceof EngineBusyError ? 'no_capacity' : 'engine_error';
    send({ type: 'failed', jobId, code, message: errorMessage(error) });
  } finally {
    running.delete(jobId);
  }
}

async function unload(seq: number): Promise<void> {
  for (const abort of running.values()) abort.abort();
  const current = engine;
  engine = undefined;
  await current?.dispose();
  send({ type: 'unloaded', replyTo: seq, rssBytes: process.memoryUsage.rss() });
}

parent.onMessage((raw) => {
  const parsed = toJobProcessSchema.safeParse(raw);
  if (!parsed.success) {
    log('error', `Ignored a malformed message from the parent: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return;
  }
  const message = parsed.data;
  switch (message.type) {
    case 'load':
      void load(message);
      return;
    case 'generate':
      void generate(message);
      return;
    case 'cancel':
      running.get(message.jobId)?.abort();
      return;
    case 'unload':
      void unload(message.seq);
      return;
  }
});

// No orphans: when the worker goes away, so does the job process.
parent.onDisconnect(() => process.exit(0));
process.on('uncaughtException', (error) => {
  log('error', `Job process crashed: ${errorMessage(error)}`);
  process.exit(70);
});
