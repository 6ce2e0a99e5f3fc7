/**
 * Keeps one job process alive: starts it, loads the model (with a timeout), hands it jobs,
 * relays their chunks, cancels on request, and restarts it after a crash — failing the jobs
 * it was running with `engine_crashed`, never leaving a caller waiting.
 */
import { EventEmitter } from 'node:events';
import type { WireError } from '../../network/protocol/errors.js';
import type { ChatMessage } from '../../network/protocol/chat.js';
import type { FinishReason, JobParams, ToolCallDelta, Usage } from '../../network/protocol/worker-frames.js';
import { continuationFields, type Continuation } from '../../network/protocol/job-schemas.js';
import { fromJobProcessSchema, type EngineConfig, type EngineInfo, type FromJobProcess, type ToJobProcess } from './job-messages.js';
import type { JobProcessHandle, JobProcessLauncher } from './node-launcher.js';
import type { SealedChunk, SealedEnvelope } from '../../network/protocol/sealed.js';
import type { Logger } from '../../network/node-kit/log.js';

/** A job for the engine. */
export interface EngineJob {
  jobId: string;
  messages: ChatMessage[];
  params: JobParams;
  /** What earlier workers streamed of the answer: go on after it. */
  continuation?: Continuation;
  /** The owner's Polite cap on generation speed. */
  maxTokensPerSecond?: number;
}

/** A job that ended without an answer, as a value. */
export class JobFailure extends Error {
  constructor(readonly error: WireError) {
    super(error.message);
  }
}

/** A sealed job for the engine: only the job process can open it. */
export interface SealedEngineJob {
  jobId: string;
  envelope: SealedEnvelope;
  workerId: string;
  coordinatorId: string;
  model: string;
  maxTokensPerSecond?: number;
}

/** A job's end: why, the engine's token counts, and the completion as the network counts it. */
export interface EngineResult {
  finishReason: FinishReason;
  usage: Usage;
  /** The model's tokenizer over the answer (llama-engine.ts GenerationResult): what receipts are checked against. */
  countedCompletionTokens: number;
}

interface PendingJob {
  onChunk(text: string, tokens: number, toolCalls?: ToolCallDelta[], reasoning?: string): void;
  onSealedChunk(chunk: SealedChunk, tokens: number): void;
  onPrompt?: ((promptTokens: number) => void) | undefined;
  resolve(result: EngineResult): void;
  reject(failure: JobFailure): void;
}

interface SupervisorEvents {
  ready: [EngineInfo];
  crashed: [{ code: number | null; signal: string | null }];
  failed: [WireError];
  /** The GPU backend kept crashing: the engine now runs on the CPU (until the app restarts). */
  'gpu-fallback': [{ crashes: number }];
}

/**
 * Crashes within a minute, with `gpu: 'auto'`, after which the engine is started on the CPU.
 * Seen on an H100: node-llama-cpp's CUDA build carries PTX from a newer CUDA than the driver
 * accepts, and the job process aborts at its first computation, again at every restart. A
 * GPU owner is better served slowly than not at all; the log and the app say why.
 */
export const GPU_CRASHES_BEFORE_CPU = 2;

/** Options of the supervisor. */
export interface SupervisorOptions {
  config: EngineConfig;
  launcher: JobProcessLauncher;
  logger: Logger;
  loadTimeoutMs?: number;
  /** Restarts allowed within a minute before the supervisor gives up. */
  maxRestartsPerMinute?: number;
}

/** Supervises the job process. */
export class EngineSupervisor extends EventEmitter<SupervisorEvents> {
  private child: JobProcessHandle | undefined;
  private seq = 0;
  private readonly replies = new Map<number, (message: FromJobProcess) => void>();
  private readonly jobs = new Map<string, PendingJob>();
  private restarts: number[] = [];
  private stopping = false;
  info: EngineInfo | undefined;

  constructor(private readonly options: SupervisorOptions) {
    super();
  }

  /** Changes the GPU limits of the next start: offloaded layers and VRAM (undefined: none). */
  setGpuLimits(limits: { gpuLayers: number | undefined; maxVramBytes: number | undefined }): void {
    const { gpuLayers: _layers, maxVramBytes: _vram, ...rest } = this.options.config;
    this.options.config = {
      ...rest,
      ...(limits.gpuLayers !== undefined ? { gpuLayers: limits.gpuLayers } : {}),
      ...(limits.maxVramBytes !== undefined ? { maxVramBytes: limits.maxVramBytes } : {}),
    };
  }

  /** Changes the model file the next start loads (switching models: stop, set, start). */
  setModelPath(modelPath: string): void {
    this.options.config = { ...this.options.config, modelPath };
  }

  /** The model file the next start loads. */
  get modelPath(): string {
    return this.options.config.modelPath;
  }

  /** The GPU limits the next start applies. */
  /** 'auto' (a GPU when one is found) or 'cpu' (chosen, or after the GPU backend kept crashing). */
  get gpuMode(): 'auto' | 'cpu' {
    return this.options.config.gpu;
  }

  get gpuLimits(): { gpuLayers: number | undefined; maxVramBytes: number | undefined } {
    return { gpuLayers: this.options.config.gpuLayers, maxVramBytes: this.options.config.maxVramBytes };
  }

  /** Process id of the current job process. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Jobs running now. */
  get running(): number {
    return this.jobs.size;
  }

  /** Starts the job process and loads the model; rejects with a JobFailure if it cannot. */
  async start(): Promise<EngineInfo> {
    this.stopping = false;
    const child = this.options.launcher.launch();
    this.child = child;
    child.onMessage((raw) => this.onMessage(raw));
    child.onStderrLine((line) => this.options.logger.warn({ pid: child.pid }, `job process stderr: ${line.slice(0, 500)}`));
    child.onExit((code, signal) => this.onExit(child, code, signal));
    const reply = await this.request({ type: 'load', seq: this.nextSeq(), config: this.options.config }, this.options.loadTimeoutMs ?? 120_000);
    if (reply.type !== 'loaded') {
      const failure = reply.type === 'failed' ? { code: reply.code, message: reply.message } : { code: 'model_load_failed' as const, message: 'Unexpected reply to load.' };
      await this.stop();
      throw new JobFailure(failure);
    }
    this.info = reply.info;
    this.emit('ready', reply.info);
    return reply.info;
  }

  /**
   * Runs a job; `onChunk` hears the text (and tool-call pieces) as it streams, `onPrompt` the
   * prompt's token count before the first of them. Rejects with a JobFailure.
   */
  generate(job: EngineJob, onChunk: (text: string, tokens: number, toolCalls?: ToolCallDelta[], reasoning?: string) => void, onPrompt?: (promptTokens: number) => void): Promise<EngineResult> {
    return this.track(job.jobId, { onChunk, onSealedChunk: () => {}, onPrompt }, () =>
      this.send({
        type: 'generate',
        seq: this.nextSeq(),
        jobId: job.jobId,
        messages: job.messages,
        params: job.params,
        ...continuationFields(job.continuation),
        ...(job.maxTokensPerSecond ? { maxTokensPerSecond: job.maxTokensPerSecond } : {}),
      }),
    );
  }

  /** Runs a sealed job; `onChunk` hears sealed chunks, which only the client can open (and `onPrompt` as for generate). */
  generateSealed(job: SealedEngineJob, onChunk: (chunk: SealedChunk, tokens: number) => void, onPrompt?: (promptTokens: number) => void): Promise<EngineResult> {
    return this.track(job.jobId, { onChunk: () => {}, onSealedChunk: onChunk, onPrompt }, () => this.send({ type: 'generate_sealed', seq: this.nextSeq(), ...job }));
  }

  private track(jobId: string, listeners: Pick<PendingJob, 'onChunk' | 'onSealedChunk' | 'onPrompt'>, start: () => void): Promise<EngineResult> {
    return new Promise((resolve, reject) => {
      if (!this.child || !this.info) {
        reject(new JobFailure({ code: 'engine_error', message: 'The engine is not running.' }));
        return;
      }
      if (this.jobs.has(jobId)) {
        reject(new JobFailure({ code: 'duplicate_job', message: `Job ${jobId} is already running.` }));
        return;
      }
      this.jobs.set(jobId, { ...listeners, resolve, reject });
      start();
    });
  }

  /** Asks the job process to stop a job; its promise then rejects with `cancelled`. */
  cancel(jobId: string): void {
    if (this.jobs.has(jobId)) this.send({ type: 'cancel', seq: this.nextSeq(), jobId });
  }

  /** Unloads the model inside the job process and reports its RSS afterwards. */
  async unload(timeoutMs = 5000): Promise<number> {
    const reply = await this.request({ type: 'unload', seq: this.nextSeq() }, timeoutMs);
    this.info = undefined;
    return reply.type === 'unloaded' ? reply.rssBytes : -1;
  }

  /** Stops the job process: SIGTERM, then SIGKILL after a grace period. */
  stop(graceMs = 2000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.onExit(() => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  private nextSeq(): number {
    return this.seq++;
  }

  private send(message: ToJobProcess): void {
    this.child?.send(message);
  }

  private request(message: ToJobProcess, timeoutMs: number): Promise<FromJobProcess> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.replies.delete(message.seq);
        resolve({ type: 'failed', replyTo: message.seq, code: 'timeout', message: `The job process did not answer '${message.type}' within ${timeoutMs} ms.` });
      }, timeoutMs);
      this.replies.set(message.seq, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.send(message);
    });
  }

  private onMessage(raw: unknown): void {
    const parsed = fromJobProcessSchema.safeParse(raw);
    if (!parsed.success) {
      this.options.logger.error('malformed message from the job process; restarting it');
      this.child?.kill('SIGKILL');
      return;
    }
    const message = parsed.data;
    if ('replyTo' in message && message.replyTo !== undefined) {
      const reply = this.replies.get(message.replyTo);
      this.replies.delete(message.replyTo);
      reply?.(message);
      return;
    }
    switch (message.type) {
      case 'chunk':
        this.jobs.get(message.jobId)?.onChunk(message.text, message.tokens, message.toolCalls, message.reasoning);
        return;
      case 'chunks':
        for (const chunk of message.chunks) this.jobs.get(chunk.jobId)?.onChunk(chunk.text, chunk.tokens, chunk.toolCalls, chunk.reasoning);
        return;
      case 'sealed_chunk':
        this.jobs.get(message.jobId)?.onSealedChunk(message.chunk, message.tokens);
        return;
      case 'prompt':
        this.jobs.get(message.jobId)?.onPrompt?.(message.promptTokens);
        return;
      case 'done': {
        const job = this.jobs.get(message.jobId);
        this.jobs.delete(message.jobId);
        job?.resolve({ finishReason: message.finishReason, usage: message.usage, countedCompletionTokens: message.countedCompletionTokens });
        return;
      }
      case 'failed': {
        if (!message.jobId) return;
        const job = this.jobs.get(message.jobId);
        this.jobs.delete(message.jobId);
        job?.reject(new JobFailure({ code: message.code, message: message.message }));
        return;
      }
      case 'log':
        this.options.logger[message.level]({ ...message.fields, source: 'job-process' }, message.msg);
        return;
    }
  }

  private onExit(child: JobProcessHandle, code: number | null, signal: string | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.info = undefined;
    for (const [seq, reply] of this.replies) reply({ type: 'failed', replyTo: seq, code: 'engine_crashed', message: 'The job process exited.' });
    this.replies.clear();
    for (const job of this.jobs.values()) job.reject(new JobFailure({ code: 'engine_crashed', message: `The job process exited (${signal ?? `code ${code}`}).` }));
    this.jobs.clear();
    if (this.stopping) return;
    this.options.logger.error({ code, signal }, 'job process exited unexpectedly; restarting it');
    this.emit('crashed', { code, signal });
    const now = Date.now();
    this.restarts = [...this.restarts.filter((t) => now - t < 60_000), now];
    if (this.options.config.gpu === 'auto' && this.restarts.length >= GPU_CRASHES_BEFORE_CPU) {
      this.options.config = { ...this.options.config, gpu: 'cpu' };
      this.options.logger.warn({ crashes: this.restarts.length }, 'the job process keeps crashing with the GPU backend; serving on the CPU until the app restarts (updating the graphics driver may help)');
      this.emit('gpu-fallback', { crashes: this.restarts.length });
    }
    if (this.restarts.length > (this.options.maxRestartsPerMinute ?? 5)) {
      const failure: WireError = { code: 'engine_crashed', message: 'The job process keeps crashing; giving up until restarted.' };
      this.options.logger.error(failure.message);
      this.emit('failed', failure);
      return;
    }
    this.start().catch((error: unknown) => {
      const failure = error instanceof JobFailure ? error.error : { code: 'engine_crashed' as const, message: String(error) };
      this.emit('failed', failure);
    });
  }
}
