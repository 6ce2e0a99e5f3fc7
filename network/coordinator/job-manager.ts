/**
 * Jobs from submission to their one terminal event: routing, the wait for a free worker,
 * requeue when a worker refuses or is lost, continuation after the first token, timeouts
 * and cancellation. Every job ends in exactly one onDone or onError.
 */
import { randomUUID } from 'node:crypto';
import type { ChatMessage } from '../protocol/chat.js';
import type { WireError, ErrorCode } from '../protocol/errors.js';
import type { FinishReason, JobParams, Tier, Usage } from '../protocol/worker-frames.js';
import { pickWorker } from './router.js';
import type { WorkerRegistry } from './worker-registry.js';
import type { WorkerJobFrame, WorkerSession } from './worker-session.js';
import type { Logger } from './log.js';
import type { CoordinatorMetrics } from './metrics.js';
import type { Billing, Contribution } from './billing.js';
import type { SealedChunk, SealedEnvelope } from '../protocol/sealed.js';

/** What a client asked for, already validated. */
export interface JobSpec {
  model: string;
  messages: ChatMessage[];
  params: JobParams;
  minTier: Tier;
  timeoutMs: number;
  /** The paying client; undefined = unmetered (the operator pays the workers). */
  clientId?: string;
  /** Id chosen by the caller (who may already hold money against it). */
  jobId?: string;
  /** A sealed job: its envelope goes to exactly this worker, and cannot move to another. */
  sealed?: { envelope: SealedEnvelope; workerId: string };
}

/** Where a job's output goes (the HTTP response). */
export interface JobSink {
  onChunk(text: string): void;
  /** Sealed jobs: a chunk only the client can open. */
  onSealedChunk?(chunk: SealedChunk): void;
  onDone(result: { finishReason: FinishReason; usage: Usage }): void;
  onError(error: WireError): void;
}

/** A submitted job, as its submitter can touch it. */
export interface JobHandle {
  id: string;
  /** Stops the job (client went away); no terminal event follows. */
  cancel(reason: string): void;
}

/** Worker errors after which another worker may well succeed. */
const RETRIABLE: ReadonlySet<ErrorCode> = new Set(['no_capacity', 'not_sharing', 'engine_crashed', 'worker_lost', 'unknown_model', 'model_load_failed']);

interface Job {
  id: string;
  spec: JobSpec;
  sink: JobSink;
  createdAt: number;
  worker: WorkerSession | undefined;
  tried: Set<string>;
  attempts: number;
  /** Text streamed to the client so far, over every attempt. */
  text: string;
  /** Tokens streamed by earlier, interrupted attempts, and in the current one. */
  earlierTokens: number;
  attemptTokens: number;
  nextSeq: number;
  /** Work done by earlier attempts, paid to the workers that did it. */
  contributions: Contribution[];
  finished: boolean;
  timer: NodeJS.Timeout;
}

/** Options of the JobManager. */
export interface JobManagerOptions {
  registry: WorkerRegistry;
  logger: Logger;
  metrics: CoordinatorMetrics;
  /** Most workers one job is offered to before it fails. */
  maxAttempts?: number;
  /** Most jobs waiting for a free worker. */
  maxQueued?: number;
  billing?: Billing;
}

/** Owns every in-flight job. */
export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly maxAttempts: number;
  private readonly maxQueued: number;

  constructor(private readonly options: JobManagerOptions) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.maxQueued = options.maxQueued ?? 1000;
    const { registry } = options;
    registry.on('added', (session) => {
      session.on('frame', (frame) => this.onFrame(session, frame));
      this.drain();
    });
    registry.on('capacity', () => this.drain());
    registry.on('removed', (session, reason) => this.onWorkerLost(session, reason));
  }

  /** True while a job with this id is running or waiting. */
  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  /** Number of jobs not yet finished. */
  get active(): number {
    return this.jobs.size;
  }

  /** Starts a job; its sink hears exactly one terminal event unless the job is cancelled. */
  submit(spec: JobSpec, sink: JobSink): JobHandle {
    const job: Job = {
      id: spec.jobId ?? `job-${randomUUID()}`,
      spec,
      sink,
      createdAt: Date.now(),
      worker: undefined,
      tried: new Set(),
      attempts: 0,
      text: '',
      earlierTokens: 0,
      attemptTokens: 0,
      nextSeq: 0,
      contributions: [],
      finished: false,
      timer: setTimeout(() => this.fail(job, { code: 'timeout', message: `No answer within ${spec.timeoutMs} ms.` }), spec.timeoutMs),
    };
    this.jobs.set(job.id, job);
    this.dispatch(job);
    return { id: job.id, cancel: (reason) => this.cancel(job, reason) };
  }

  /** Fails every job (coordinator shutdown). */
  shutdown(): void {
    for (const job of [...this.jobs.values()]) this.fail(job, { code: 'internal', message: 'The coordinator is shutting down.' });
  }

  private dispatch(job: Job): void {
    if (job.finished) return;
    const sealed = job.spec.sealed;
    if (sealed) {
      const target = this.options.registry.get(sealed.workerId);
      if (!target || !target.available || job.tried.has(target.id)) this.fail(job, { code: 'worker_lost', message: `Worker ${sealed.workerId} is not available.` });
      else if (target.running >= target.maxConcurrentJobs) this.fail(job, { code: 'no_capacity', message: `Worker ${sealed.workerId} is busy.` });
      else this.assign(job, target);
      return;
    }
    const worker = pickWorker(this.options.registry.all(), { model: job.spec.model, minTier: job.spec.minTier, exclude: job.tried });
    if (worker) {
      this.assign(job, worker);
      return;
    }
    const candidates = [...this.options.registry.all()].filter((w) => w.models.has(job.spec.model) && !job.tried.has(w.id));
    if (candidates.length === 0) {
      const code: ErrorCode = job.attempts === 0 ? 'no_capacity' : 'worker_lost';
      this.fail(job, { code, message: job.attempts === 0 ? `No worker serving '${job.spec.model}' is connected.` : `Every worker serving '${job.spec.model}' failed this job.` });
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.fail(job, { code: 'no_capacity', message: 'Every worker is busy and the queue is full; try again shortly.' });
      return;
    }
    this.queue.push(job);
  }

  private drain(): void {
    const waiting = this.queue.splice(0);
    for (const job of waiting) this.dispatch(job);
  }

  private assign(job: Job, worker: WorkerSession): void {
    job.worker = worker;
    job.attempts++;
    job.attemptTokens = 0;
    job.nextSeq = 0;
    worker.running++;
    worker.lastAssignedAt = Date.now();
    this.options.metrics.jobsDispatched.inc();
    const sent = job.spec.sealed
      ? worker.send({ type: 'job.sealed_offer', jobId: job.id, envelope: job.spec.sealed.envelope })
      : worker.send({
          type: 'job.offer',
          jobId: job.id,
          model: job.spec.model,
          messages: job.spec.messages,
          params: { ...job.spec.params, maxTokens: job.spec.params.maxTokens - job.earlierTokens },
          ...(job.text ? { continuation: job.text } : {}),
        });
    if (!sent) this.retryElsewhere(job, { code: 'worker_lost', message: 'Could not send the job to the worker.' });
  }

  private release(job: Job): void {
    const worker = job.worker;
    if (!worker) return;
    job.worker = undefined;
    worker.running = Math.max(0, worker.running - 1);
    queueMicrotask(() => this.drain());
  }

  private onFrame(session: WorkerSession, frame: WorkerJobFrame): void {
    const job = this.jobs.get(frame.jobId);
    if (!job || job.worker !== session) {
      // A late frame for a job this worker no longer holds (cancelled, timed out, moved on).
      if (frame.type !== 'job.done' && frame.type !== 'job.error' && frame.type !== 'job.reject') {
        this.options.logger.debug({ workerId: session.id, jobId: frame.jobId, type: frame.type }, 'frame for a job this worker does not hold');
      }
      return;
    }
    switch (frame.type) {
      case 'job.accept':
        return;
      case 'job.reject':
        this.retryElsewhere(job, { code: frame.code, message: frame.message });
        return;
      case 'job.chunk':
        if (job.spec.sealed || frame.seq !== job.nextSeq) {
          this.retryElsewhere(job, { code: 'bad_frame', message: `Chunk ${frame.seq} arrived, ${job.nextSeq} expected.` });
          return;
        }
        job.nextSeq++;
        if (job.text === '' && frame.text !== '') this.options.metrics.timeToFirstToken.observe((Date.now() - job.createdAt) / 1000);
        job.text += frame.text;
        job.attemptTokens += frame.tokens;
        job.sink.onChunk(frame.text);
        return;
      case 'job.sealed_chunk': {
        if (!job.spec.sealed || frame.seq !== job.nextSeq) {
          this.retryElsewhere(job, { code: 'bad_frame', message: 'A sealed chunk out of order or for a job in clear.' });
          return;
        }
        job.nextSeq++;
        if (job.attemptTokens === 0 && frame.tokens > 0) this.options.metrics.timeToFirstToken.observe((Date.now() - job.createdAt) / 1000);
        job.attemptTokens += frame.tokens;
        const { type: _type, jobId: _jobId, tokens: _tokens, ...chunk } = frame;
        job.sink.onSealedChunk?.(chunk);
        return;
      }
      case 'job.done': {
        const completionTokens = job.earlierTokens + frame.usage.completionTokens;
        // Continued text was part of the last worker's prompt; bill it once, as completion.
        const promptTokens = Math.max(0, frame.usage.promptTokens - job.earlierTokens);
        job.contributions.push(this.contribution(session, frame.usage));
        this.finish(job);
        this.settle(job);
        this.options.metrics.jobsFinished.inc({ outcome: 'done' });
        this.options.metrics.tokens.inc({ kind: 'prompt' }, promptTokens);
        this.options.metrics.tokens.inc({ kind: 'completion' }, completionTokens);
        job.sink.onDone({ finishReason: frame.finishReason, usage: { promptTokens, completionTokens } });
        return;
      }
      case 'job.error':
        if (RETRIABLE.has(frame.code)) this.retryElsewhere(job, { code: frame.code, message: frame.message });
        else this.fail(job, { code: frame.code, message: frame.message });
        return;
    }
  }

  private onWorkerLost(session: WorkerSession, reason: string): void {
    for (const job of [...this.jobs.values()]) {
      if (job.worker === session) this.retryElsewhere(job, { code: 'worker_lost', message: `The worker was lost (${reason}).` });
    }
  }

  private contribution(worker: WorkerSession, usage: Usage): Contribution {
    return { workerId: worker.id, payoutAddress: worker.payoutAddress, coefficient: worker.priceCoefficient, usage };
  }

  /** Records the current attempt's streamed tokens as its worker's contribution. */
  private closeAttempt(job: Job): void {
    if (job.worker && job.attemptTokens > 0) job.contributions.push(this.contribution(job.worker, { promptTokens: 0, completionTokens: job.attemptTokens }));
  }

  private settle(job: Job): void {
    this.options.billing?.settle(job.id, job.spec.clientId, job.spec.model, job.contributions);
  }

  /** Moves a job to another worker, continuing after any text already streamed. */
  private retryElsewhere(job: Job, error: WireError): void {
    this.closeAttempt(job);
    if (job.worker) job.tried.add(job.worker.id);
    this.release(job);
    job.earlierTokens += job.attemptTokens;
    job.attemptTokens = 0;
    // A sealed job cannot be re-sealed here; the client's SDK seals it again to another worker.
    if (job.spec.sealed || job.attempts >= this.maxAttempts || job.earlierTokens >= job.spec.params.maxTokens) {
      this.fail(job, error);
      return;
    }
    this.options.metrics.requeues.inc({ reason: error.code });
    this.options.logger.info({ jobId: job.id, code: error.code, attempt: job.attempts, streamed: job.text.length > 0 }, 'requeueing job');
    this.dispatch(job);
  }

  private cancel(job: Job, reason: string): void {
    if (job.finished) return;
    job.worker?.send({ type: 'job.cancel', jobId: job.id, reason });
    // The client pays for what it received before it went away.
    this.closeAttempt(job);
    this.finish(job);
    this.settle(job);
    this.options.metrics.jobsFinished.inc({ outcome: 'cancelled' });
  }

  private fail(job: Job, error: WireError): void {
    if (job.finished) return;
    job.worker?.send({ type: 'job.cancel', jobId: job.id, reason: error.code });
    this.finish(job);
    // A failed job costs the client nothing; workers are still paid for what they generated.
    this.options.billing?.release(job.id);
    if (job.contributions.length > 0) this.options.billing?.settle(job.id, undefined, job.spec.model, job.contributions);
    this.options.metrics.jobsFinished.inc({ outcome: error.code });
    job.sink.onError(error);
  }

  private finish(job: Job): void {
    job.finished = true;
    clearTimeout(job.timer);
    this.release(job);
    this.jobs.delete(job.id);
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
  }
}
