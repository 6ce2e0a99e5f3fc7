/**
 * Entry point of the job process: the only process that parses model files and (in sealed
 * mode) sees prompts in clear. It loads the engine on request, runs jobs, streams chunks
 * back, honours cancel, and exits with its parent.
 */
import { connectToParent } from './parent-channel.js';
import { MAX_CHUNKS_PER_MESSAGE, toJobProcessSchema, type FromJobProcess, type ToJobProcess } from './job-messages.js';
import { EngineBusyError, LlamaEngine } from './llama-engine.js';
import { ContextLengthError, InvalidJobError } from './job-options.js';
import { encodeAnswerPart, mergeParts, type AnswerPart } from '../../network/protocol/answer-parts.js';
import type { ErrorCode } from '../../network/protocol/errors.js';
import { continuationOf, type Continuation } from '../../network/protocol/job-schemas.js';
import { dieWithParent, lockdown, runtimeReadPaths } from '../../native/sandbox/index.js';
import { appReadPaths } from './read-paths.js';
import { JobKeyPair, ReplayGuard, openRequest, type ResponseSealer } from '../../network/protocol/sealed.js';

// No orphans, even if the IPC channel's close were missed: the kernel ends us with the worker.
dieWithParent();

const parent = connectToParent();
const send = (message: FromJobProcess) => parent.send(message);
const log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => send({ type: 'log', level, msg });

let engine: LlamaEngine | undefined;
const running = new Map<string, AbortController>();
// The sealed-mode key is made here and its private half never leaves this process; a restart
// brings a new key, and the replay guard lives and dies with it.
const keyPairReady = JobKeyPair.generate();
const replayGuard = new ReplayGuard();

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
    const keyPair = await keyPairReady;
    const sandbox = message.config.sandbox
      ? lockdown({ readPaths: [message.config.modelPath, ...appReadPaths(), ...runtimeReadPaths()] })
      : { tier: 'unsandboxed' as const, reason: 'The sandbox was turned off for this worker.' };
    if (sandbox.tier !== 'sandboxed') log('warn', `Job process is not sandboxed: ${sandbox.reason ?? 'unknown reason'}`);
    send({
      type: 'loaded',
      replyTo: message.seq,
      info: { ...loaded.info, tokensPerSecond, pid: process.pid, tier: sandbox.tier, hpkePublicKey: keyPair.publicKey, ...(sandbox.reason ? { sandboxReason: sandbox.reason } : {}) },
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

/** What a job runs, once known: in clear, or opened from a sealed envelope. */
interface JobInput {
  messages: Extract<ToJobProcess, { type: 'generate' }>['messages'];
  params: Extract<ToJobProcess, { type: 'generate' }>['params'];
  continuation: Continuation | undefined;
  /** A sealed job's prompt bound (sealedPromptBound). */
  promptBound?: number;
}

/** The error code a failed job reports: client errors are told apart from engine faults. */
function failureCode(error: unknown, aborted: boolean): ErrorCode {
  if (aborted) return 'cancelled';
  if (error instanceof EngineBusyError) return 'no_capacity';
  if (error instanceof ContextLengthError) return 'context_length_exceeded';
  if (error instanceof InvalidJobError) return 'invalid_request';
  return 'engine_error';
}

/**
 * Runs one job: `open` yields its input (or a refusal), `emit` streams each piece of the answer,
 * `finish` runs after the last piece and before `done`.
 */
async function run(jobId: string, open: () => Promise<JobInput | string>, emit: (part: AnswerPart, tokens: number) => void, finish: (reason: 'stop' | 'length' | 'tool_calls') => Promise<void>, maxTokensPerSecond?: number): Promise<void> {
  const current = engine;
  if (!current) {
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
    const input = await open();
    if (typeof input === 'string') {
      send({ type: 'failed', jobId, code: 'invalid_request', message: input });
      return;
    }
    const result = await current.generate(input.messages, input.params, input.continuation, abort.signal, (text, tokens, toolCalls, reasoning) => emit({ text, ...(toolCalls ? { toolCalls } : {}), ...(reasoning ? { reasoning } : {}) }, tokens), { maxTokensPerSecond, promptBound: input.promptBound, onPrompt: (promptTokens) => send({ type: 'prompt', jobId, promptTokens }) });
    if (result.finishReason === 'cancelled') {
      send({ type: 'failed', jobId, code: 'cancelled', message: 'Cancelled.' });
      return;
    }
    await finish(result.finishReason);
    send({ type: 'done', jobId, finishReason: result.finishReason, usage: result.usage, countedCompletionTokens: result.countedCompletionTokens });
  } catch (error) {
    // A cancel that lands before the first token surfaces as an abort error: still a cancel.
    send({ type: 'failed', jobId, code: failureCode(error, abort.signal.aborted), message: abort.signal.aborted ? 'Cancelled.' : errorMessage(error) });
  } finally {
    running.delete(jobId);
  }
}

function generate(message: Extract<ToJobProcess, { type: 'generate' }>): Promise<void> {
  const { jobId } = message;
  const pieces = batcher((part, tokens) => sendChunk({ type: 'chunk', jobId, text: part.text, tokens, ...(part.toolCalls ? { toolCalls: part.toolCalls } : {}), ...(part.reasoning ? { reasoning: part.reasoning } : {}) }));
  return run(
    jobId,
    async () => ({ messages: message.messages, params: message.params, continuation: continuationOf(message) }),
    (part, tokens) => pieces.add(part, tokens),
    async () => pieces.flush(),
    message.maxTokensPerSecond,
  );
}

/** Batchers with text waiting, flushed together once per turn of the event loop. */
const waiting = new Set<() => void>();
/** Plain chunks of the turn being flushed, sent to the parent as one message. */
let turnChunks: Extract<FromJobProcess, { type: 'chunk' }>[] | undefined;

function flushTurn(): void {
  turnChunks = [];
  for (const flush of waiting) flush();
  waiting.clear();
  const chunks = turnChunks;
  turnChunks = undefined;
  if (chunks.length === 1 && chunks[0]) send(chunks[0]);
  else if (chunks.length > 1) for (let at = 0; at < chunks.length; at += MAX_CHUNKS_PER_MESSAGE) send({ type: 'chunks', chunks: chunks.slice(at, at + MAX_CHUNKS_PER_MESSAGE) });
}

/** Sends a chunk: with the turn's other chunks while a turn is flushed, at once otherwise. */
function sendChunk(chunk: Extract<FromJobProcess, { type: 'chunk' }>): void {
  if (turnChunks) turnChunks.push(chunk);
  else send(chunk);
}

/**
 * How often a job's chunks go out after its first: at most one per this many ms, each carrying
 * every token generated meanwhile; a token that comes later than that after the last chunk goes
 * out at once, so a slow engine still streams token by token. Every chunk costs the whole path
 * (IPC, a frame to the coordinator, metering, an SSE event, the client's parsing; in sealed
 * mode also an AEAD seal and open and the gateway's hop), so a fast engine's per-token chunks
 * took CPU from generation itself. A sealed chunk's length no longer reveals one token's length.
 * 25 ms is below what a reader of streamed text notices.
 */
const CHUNK_INTERVAL_MS = 25;

/**
 * Collects generated text and hands it on once per turn of the event loop, while the next
 * token is being computed: IPC (and sealing) stay off the generation's critical path and
 * fast tokens travel together. Every job's batcher flushes in the same turn, so the chunks of
 * parallel sequences reach the worker as one message: one IPC write and one wake-up per step.
 * Text that comes sooner than CHUNK_INTERVAL_MS after the last delivery waits for the next tick.
 */
function batcher(deliver: (part: AnswerPart, tokens: number) => void): { add(part: AnswerPart, tokens: number): void; flush(): void } {
  let part: AnswerPart = { text: '' };
  let tokens = 0;
  let lastDeliveredAt = Number.NEGATIVE_INFINITY;
  const flush = () => {
    if (tokens === 0 && part.text === '' && !part.toolCalls && !part.reasoning) return;
    const [pendingPart, pendingTokens] = [part, tokens];
    part = { text: '' };
    tokens = 0;
    lastDeliveredAt = performance.now();
    deliver(pendingPart, pendingTokens);
  };
  return {
    add(piece, count) {
      part = mergeParts(part, piece);
      tokens += count;
      const wait = lastDeliveredAt + CHUNK_INTERVAL_MS - performance.now();
      if (wait > 0) {
        // Held for the next tick, which every job's held text shares (one message for all).
        held.add(flush);
        tick ??= setTimeout(flushHeld, wait);
        return;
      }
      if (waiting.size === 0) setImmediate(flushTurn);
      waiting.add(flush);
    },
    flush,
  };
}

/** Batchers holding text until their interval has passed, and the timer that sends it. */
const held = new Set<() => void>();
let tick: NodeJS.Timeout | undefined;

function flushHeld(): void {
  tick = undefined;
  for (const flush of held) waiting.add(flush);
  held.clear();
  flushTurn();
}

/** A sealed job: opened here, answered sealed; the worker only ever relays ciphertext. */
function generateSealed(message: Extract<ToJobProcess, { type: 'generate_sealed' }>): Promise<void> {
  const { jobId } = message;
  let sealer: ResponseSealer | undefined;
  // Chunks are sealed in order; each send waits for the one before it.
  let queue = Promise.resolve();
  const pieces = batcher((part, tokens) => {
    const current = sealer;
    if (!current) return;
    // The plaintext is the piece as JSON (answer-parts.ts): tool calls stay sealed too.
    queue = queue.then(async () => send({ type: 'sealed_chunk', jobId, chunk: await current.seal(encodeAnswerPart(part)), tokens }));
  });
  return run(
    jobId,
    async () => {
      const opened = await openRequest(message.envelope, { keyPair: await keyPairReady, workerId: message.workerId, coordinatorId: message.coordinatorId, models: [message.model], replayGuard });
      if (!opened.ok) return `Sealed job refused (${opened.error.code}): ${opened.error.message}`;
      if (opened.value.job.jobId !== jobId) return 'Sealed job refused: the envelope is for another job.';
      sealer = opened.value.responseSealer;
      const { messages, params, promptBound } = opened.value.job;
      return { messages, params, continuation: continuationOf(opened.value.job), promptBound };
    },
    (part, tokens) => pieces.add(part, tokens),
    async (finishReason) => {
      const current = sealer;
      if (!current) return;
      pieces.flush();
      await queue;
      send({ type: 'sealed_chunk', jobId, chunk: await current.seal('', { final: true, finishReason }), tokens: 0 });
    },
    message.maxTokensPerSecond,
  );
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
    case 'generate_sealed':
      void generateSealed(message);
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
