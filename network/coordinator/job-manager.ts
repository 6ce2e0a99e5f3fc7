/**
 * Jobs from submission to their one terminal event: routing, the wait for a free worker,
 * requeue when a worker refuses or is lost, continuation after the first token, output bounds,
 * timeouts and cancellation. Every job ends in exactly one onDone or onError, and every ending
 * is settled: what was delivered is metered from the coordinator's own figures (metering.ts),
 * then charged and credited (billing.ts), after a spot check or the client's receipt when one
 * applies. Workers' standing follows what they did (worker-standing.ts).
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_MAX_TOKEN_BYTES, type ChatMessage } from '../protocol/chat.js';
import type { WireError } from '../protocol/errors.js';
import type { FinishReason, JobParams, Tier, ToolCallDelta, Usage } from '../protocol/worker-frames.js';
import { continuationFields, forcesCall, isConstrained, type AnswerUsage } from '../protocol/job-schemas.js';
import { mergeParts, partBytes } from '../protocol/answer-parts.js';
import { CLIENT_ERROR_CODES, WORKER_RETRYABLE_CODES } from '../protocol/http-contract.js';
import { fromBase64Url } from '../protocol/encoding.js';
import { asksNoLess, pickWorker, type Exploration, type RouteRequest } from './router.js';
import type { RegisteredWorker, WorkerRegistry } from './worker-registry.js';
import type { WorkerJobFrame } from './worker-session.js';
import type { Logger } from './log.js';
import type { CoordinatorMetrics } from './metrics.js';
import { SettlementDeferred, type Billing, type InFlightJob } from './billing.js';
import { BooksError } from './books-check.js';
import { SEALED_TAG_BYTES, type SealedChunk, type SealedEnvelope } from '../protocol/sealed.js';
import { meterJob, withOwnCount, type AttemptObservation, type MeterResult } from './metering.js';
import type { WorkerStanding } from './worker-standing.js';
import type { JobOutcome } from './store.js';
import { attemptSpeed, type SpeedSample } from './reputation.js';

/** Requests a pass over the queue remembers as finding no free worker (each later job checks them all). */
const NONE_FREE_KEPT = 16;
/**
 * Longest a job's settlement waits for its spot check (the verifier's queue is up to 64 checks,
 * each re-scoring up to max_tokens on the coordinator's CPU) before it settles unchecked.
 */
export const SPOT_CHECK_WAIT_MS = 5 * 60_000;
/** How much longer than that a checked job's hold is kept: the settlement's own time to land. */
const HOLD_MARGIN_MS = 60_000;

/** Counts the text a transport job streamed, with the model's own tokenizer. */
export interface TextMeter {
  countText(text: string): number;
  /** Tokens of tool calls, each assembled: its name's plus its arguments'. */
  countToolCalls(calls: readonly ToolCallDelta[]): number;
  /** Upper bound on the bytes one token decodes to. */
  maxTokenBytes: number;
}

/** What a client asked for, already validated and sized. */
export interface JobSpec {
  model: string;
  messages: ChatMessage[];
  params: JobParams;
  minTier: Tier;
  timeoutMs: number;
  /** The client's highest acceptable price coefficient (the hold was priced at it). */
  maxCoefficient: number;
  /** The coordinator's prompt figure: an exact count with the vocabulary, else a bound. */
  prompt: { figure: number; exact: boolean };
  /** Context the job needs on a worker (prompt + max_tokens when the prompt is counted). */
  contextNeeded: number;
  /** The model's tokenizer, when the coordinator holds it (transport jobs). */
  meter?: TextMeter;
  /** The paying client; undefined = unmetered (the operator pays the workers). */
  clientId?: string;
  /** Id chosen by the caller (who may already hold money against it). */
  jobId?: string;
  /** A sealed job: its envelope goes to exactly this worker, and cannot move to another. */
  sealed?: { envelope: SealedEnvelope; workerId: string };
  /** Sealed jobs: settlement waits for the client's signed usage receipt (or its deadline). */
  awaitReceipt?: (settle: (receipt: Usage | undefined) => void) => void;
  /**
   * A probe (sealed-probes.ts), a sealed job this coordinator sent itself: settlement waits for
   * its own count of the answer it opened (milliseconds after the stream ends, as a client's
   * receipt comes), which is exact; undefined: settled on the sealed bounds.
   */
  awaitProbe?: (settle: (counted: Usage | undefined) => void) => void;
}

/** Where a job's output goes (the HTTP response). */
export interface JobSink {
  /** Text, then pieces of tool calls (whose text is empty); a thinking model's thoughts come first, as `reasoning`. */
  onChunk(text: string, toolCalls?: ToolCallDelta[], reasoning?: string): void;
  /** Sealed jobs: a chunk only the client can open. */
  onSealedChunk?(chunk: SealedChunk): void;
  /** `usage.reasoningTokens`: the part of the billed completion that was thoughts, when the coordinator counted them. */
  onDone(result: { finishReason: FinishReason; usage: AnswerUsage }): void;
  onError(error: WireError): void;
}

/** A submitted job, as its submitter can touch it. */
export interface JobHandle {
  id: string;
  /** Stops the job (client went away); no terminal event follows. */
  cancel(reason: string): void;
}

/** Re-scores a sample of transport jobs with the same model (verifier.ts). */
export interface SpotCheck {
  /** Whether this job is in the sample (jobs the verifier cannot re-score never are). */
  sample(model: string, params: JobParams): boolean;
  /** The ids of workers whose answer fails the check; undefined when no attempt could be scored. */
  check(job: { model: string; messages: ChatMessage[]; params: JobParams; attempts: { workerId: string; before: string; beforeReasoning: string; text: string; reasoning: string; toolCalls: ToolCallDelta[] }[] }): Promise<string[] | undefined>;
}

/** One worker's turn at a job. */
interface Attempt {
  worker: RegisteredWorker;
  offeredAt: number;
  /** The worker's price coefficient when it was offered the job (within the client's cap): what the attempt is billed at. */
  coefficient: number;
  /** The max_tokens this attempt was given (what earlier attempts used is taken off). */
  maxTokens: number;
  /** Text the client had before this attempt (its continuation). */
  before: string;
  /** A thinking model's thought the client had before this attempt (its continuation's). */
  beforeReasoning: string;
  accepted: boolean;
  /** The worker ended this attempt itself (done, error, reject) or is gone: its slot is free. */
  ended: boolean;
  text: string;
  /** A thinking model's thoughts this attempt streamed (transport); billed with the text. */
  reasoning: string;
  /** Tool calls streamed, assembled one entry per call (transport). */
  toolCalls: ToolCallDelta[];
  bytes: number;
  chunks: number;
  /** The sum of its chunks' `tokens`, bounded at max_tokens + 1 (more still reads as a dispute). */
  claimTokens: number;
  /** The worker's prompt claim made with its first chunk (protocol 5), for when no job.done comes. */
  promptClaim?: number;
  done?: Usage;
  firstChunkAt?: number;
  lastChunkAt?: number;
  cutOff: boolean;
  lost: boolean;
}

interface Job {
  id: string;
  spec: JobSpec;
  sink: JobSink;
  createdAt: number;
  attempts: Attempt[];
  current: Attempt | undefined;
  tried: Set<string>;
  /** Text streamed to the client so far, over every attempt (transport). */
  text: string;
  /** A thinking model's thought streamed to the client so far, over every attempt (transport). */
  reasoning: string;
  nextSeq: number;
  finished: boolean;
  timer: NodeJS.Timeout;
}

/** Options of the JobManager. */
export interface JobManagerOptions {
  registry: WorkerRegistry;
  logger: Logger;
  metrics: CoordinatorMetrics;
  standing: WorkerStanding;
  /** Most workers one job is offered to before it fails. */
  maxAttempts?: number;
  /** Most jobs waiting for a free worker. */
  maxQueued?: number;
  /** How long a cancelled job's slot stays taken when its worker never says it stopped. */
  stopGraceMs?: number;
  billing?: Billing;
  spotCheck?: SpotCheck;
  /** Longest a job's settlement waits for its spot check before it settles unchecked (SPOT_CHECK_WAIT_MS). */
  spotCheckWaitMs?: number;
  exploration?: Exploration;
}

/** Owns every in-flight job. */
export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  /** Settlements waiting for a spot check or a client's receipt. */
  private pendingSettlements = 0;
  /**
   * Jobs that ended, until they are on the books (or kept to try again), with the outcome they
   * settle as: still checkpointed (inFlight), as a spot check or a client's receipt can take a while.
   */
  private readonly settling = new Map<string, { job: Job; outcome: JobOutcome }>();
  private settledWaiters: (() => void)[] = [];
  /** Slots of jobs told to stop, kept until their worker says they stopped (stopKey). */
  private readonly stopping = new Map<string, { worker: RegisteredWorker; timer: NodeJS.Timeout }>();
  readonly maxAttempts: number;
  private readonly maxQueued: number;
  /** Jobs whose worker was lost, waiting for the pass over the queue that follows (before the queue). */
  private readonly lost: Job[] = [];
  /** The jobs whose current attempt is on each worker. */
  private readonly onWorker = new Map<RegisteredWorker, Set<Job>>();
  /** Counts the times a worker may have become free (a slot, a capacity change, a new worker). */
  private freed = 0;

  constructor(private readonly options: JobManagerOptions) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.maxQueued = options.maxQueued ?? 1000;
    const { registry } = options;
    registry.on('added', (session) => {
      session.on('frame', (frame) => this.onFrame(session, frame));
      this.freed++;
      this.drain();
    });
    registry.on('capacity', () => {
      this.freed++;
      this.drain();
    });
    registry.on('removed', (session, reason) => {
      this.onWorkerLost(session, reason);
      // Sealed jobs queued for this worker fail now rather than at their timeout.
      queueMicrotask(() => this.drain());
    });
  }

  /** True while a job with this id is running or waiting. */
  has(jobId: string): boolean {
    return this.jobs.has(jobId);
  }

  /** Number of jobs not yet finished. */
  get active(): number {
    return this.jobs.size;
  }

  /** Resolves once no job is running and no settlement is waiting (tests; shutdown). */
  settled(): Promise<void> {
    if (this.jobs.size === 0 && this.pendingSettlements === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private checkSettled(): void {
    if (this.jobs.size === 0 && this.pendingSettlements === 0) for (const wake of this.settledWaiters.splice(0)) wake();
  }

  /** Starts a job; its sink hears exactly one terminal event unless the job is cancelled. */
  submit(spec: JobSpec, sink: JobSink): JobHandle {
    const job: Job = {
      id: spec.jobId ?? `job-${randomUUID()}`,
      spec,
      sink,
      createdAt: Date.now(),
      attempts: [],
      current: undefined,
      tried: new Set(),
      text: '',
      reasoning: '',
      nextSeq: 0,
      finished: false,
      timer: setTimeout(() => this.fail(job, { code: 'timeout', message: `No answer within ${spec.timeoutMs} ms.` }, 'timeout'), spec.timeoutMs),
    };
    this.jobs.set(job.id, job);
    this.dispatch(job);
    return { id: job.id, cancel: (reason) => this.cancel(job, reason) };
  }

  /** Each job's books as last checkpointed (inFlight), and how far its attempts had got then (chunks, acceptances, ends). */
  private readonly lastMetered = new Map<string, { streamed: number; countedAt: number; entry: InFlightJob | undefined }>();

  /**
   * The jobs in flight for at least `minAgeMs` that delivered something billable, metered as if
   * each ended now (Billing.checkpoint): what a restart bills should this process die first.
   * Jobs that ended but are not on the books yet (waiting for a spot check or a client's
   * receipt, which can only lower the bill) are among them, with the outcome they ended with.
   * Counting a long answer with the model's tokenizer takes milliseconds (about 50 ms for 32 KB
   * of the test model's text), so one call counts again only what it can within `budgetMs`,
   * the jobs counted longest ago first; the others keep their last figures, which only grow, so
   * a restart bills no more than was delivered. A job whose stream has not moved is not counted
   * again.
   */
  inFlight(minAgeMs: number, budgetMs = 20): InFlightJob[] {
    const started = performance.now();
    const now = Date.now();
    const running = [...this.jobs.values()].filter((job) => !job.finished).map((job) => ({ job, outcome: undefined }));
    const due = [...running, ...this.settling.values()].filter(({ job }) => now - job.createdAt >= minAgeMs);
    const live = new Set(due.map(({ job }) => job.id));
    for (const id of this.lastMetered.keys()) if (!live.has(id)) this.lastMetered.delete(id);
    due.sort((a, b) => (this.lastMetered.get(a.job.id)?.countedAt ?? 0) - (this.lastMetered.get(b.job.id)?.countedAt ?? 0));
    const found: InFlightJob[] = [];
    for (const { job, outcome } of due) {
      const last = this.lastMetered.get(job.id);
      // An ending counts as a move: the same books, now with the outcome the job ended with.
      const streamed = job.attempts.reduce((sum, a) => sum + a.chunks + (a.accepted ? 1 : 0) + (a.done ? 1 : 0), 0) + job.attempts.length + (outcome ? 1 : 0);
      if (last && (last.streamed === streamed || performance.now() - started >= budgetMs)) {
        if (last.entry) found.push(last.entry);
        continue;
      }
      if (!last && performance.now() - started >= budgetMs) continue;
      const { parts } = meterJob({ attempts: this.observations(job), promptFigure: job.spec.prompt.figure, promptExact: job.spec.prompt.exact });
      const entry = parts.length > 0 ? { jobId: job.id, clientId: job.spec.clientId, model: job.spec.model, parts, ...(outcome ? { outcome } : {}) } : undefined;
      this.lastMetered.set(job.id, { streamed, countedAt: performance.now(), entry });
      if (entry) found.push(entry);
    }
    return found;
  }

  /** Fails every job (coordinator shutdown); what was delivered is still billed. */
  shutdown(): void {
    for (const job of [...this.jobs.values()]) this.fail(job, { code: 'internal', message: 'The coordinator is shutting down.' }, 'failed');
  }

  private completionUsed(job: Job): number {
    return job.attempts.reduce((sum, a) => sum + this.completionFigure(job, a), 0);
  }

  /**
   * `pass`: within one pass over the queue, the requests for which no worker was free. Assigning
   * jobs only makes workers busier, so a job that asks no less than one of them is queued again
   * without scoring the fleet: with every worker busy, a pass over Q queued jobs would otherwise
   * look at every worker Q times, once per slot a worker frees. Once a slot frees during the
   * pass, what it remembered is forgotten.
   */
  private dispatch(job: Job, pass?: QueuePass): void {
    if (job.finished) return;
    const sealed = job.spec.sealed;
    if (sealed) {
      const target = this.options.registry.get(sealed.workerId);
      // The envelope names this instance, so only a worker connected here can open it.
      if (!target || target.instance !== undefined || !target.available || target.reputation <= 0 || job.tried.has(target.id)) this.fail(job, { code: 'worker_lost', message: `Worker ${sealed.workerId} is not available.` }, 'failed');
      // Its price may have risen since admission (a reconnect asking more): never above the client's cap.
      else if (target.priceCoefficient > job.spec.maxCoefficient) this.fail(job, { code: 'no_capacity', message: `Worker ${sealed.workerId} now asks ${target.priceCoefficient}× list price, above this job's cap of ${job.spec.maxCoefficient}; pick another.` }, 'failed');
      else if (target.running < target.maxConcurrentJobs) this.assign(job, target);
      // Busy: the job waits for this worker (its envelope can open nowhere else), as transport jobs wait.
      else this.enqueue(job);
      return;
    }
    const remaining = job.spec.params.maxTokens - this.completionUsed(job);
    const request = { model: job.spec.model, minTier: job.spec.minTier, exclude: job.tried, maxCoefficient: job.spec.maxCoefficient, contextNeeded: job.spec.contextNeeded, maxTokens: remaining };
    if (pass && pass.freed !== this.freed) {
      // A worker may have become free during the pass (a failed send gave its slot back).
      pass.noneFree.length = 0;
      pass.freed = this.freed;
    }
    const known = pass?.noneFree.some((busy) => asksNoLess(request, busy)) ?? false;
    const worker = known ? undefined : pickWorker(this.options.registry.candidates(job.spec.model), request, this.options.exploration);
    if (worker) {
      this.assign(job, worker);
      return;
    }
    if (!known && pass && pass.noneFree.length < NONE_FREE_KEPT) pass.noneFree.push(request);
    if (!this.options.registry.anyCanServe(request)) {
      const first = job.attempts.length === 0;
      this.fail(job, first ? { code: 'no_capacity', message: `No worker serving '${job.spec.model}' within this request's tier and price cap is connected.` } : { code: 'worker_lost', message: `Every worker serving '${job.spec.model}' failed this job.` }, 'failed');
      return;
    }
    this.enqueue(job);
  }

  private enqueue(job: Job): void {
    if (this.queue.length >= this.maxQueued) {
      this.fail(job, { code: 'no_capacity', message: 'Every worker is busy and the queue is full; try again shortly.' }, 'failed');
      return;
    }
    this.queue.push(job);
  }

  private drain(): void {
    const waiting = [...this.lost.splice(0), ...this.queue.splice(0)];
    const pass: QueuePass = { freed: this.freed, noneFree: [] };
    for (const job of waiting) this.dispatch(job, pass);
  }

  private assign(job: Job, worker: RegisteredWorker): void {
    const maxTokens = job.spec.params.maxTokens - this.completionUsed(job);
    const attempt: Attempt = { worker, offeredAt: Date.now(), coefficient: worker.priceCoefficient, maxTokens, before: job.text, beforeReasoning: job.reasoning, accepted: false, ended: false, text: '', reasoning: '', toolCalls: [], bytes: 0, chunks: 0, claimTokens: 0, cutOff: false, lost: false };
    job.attempts.push(attempt);
    job.current = attempt;
    let held = this.onWorker.get(worker);
    if (!held) this.onWorker.set(worker, (held = new Set()));
    held.add(job);
    job.nextSeq = 0;
    worker.running++;
    worker.lastAssignedAt = Date.now();
    this.options.metrics.jobsDispatched.inc({ worker_on: worker.instance === undefined ? 'this_instance' : 'other_instance' });
    const sent = job.spec.sealed
      ? worker.send({ type: 'job.sealed_offer', jobId: job.id, envelope: job.spec.sealed.envelope })
      : worker.send({
          type: 'job.offer',
          jobId: job.id,
          model: job.spec.model,
          messages: job.spec.messages,
          params: { ...job.spec.params, maxTokens },
          ...continuationFields({ text: job.text, reasoning: job.reasoning }),
        });
    if (!sent) {
      attempt.ended = true;
      this.retryElsewhere(job, { code: 'worker_lost', message: 'Could not send the job to the worker.' });
    }
  }

  /**
   * Lets go of a job's current attempt. A worker still running it is told to stop, and its slot
   * stays taken until it says the job ended (or `stopGraceMs` passes): offering it the next job
   * sooner would only get a refusal, and the job would lose that worker.
   */
  private release(job: Job, reason: string): void {
    const attempt = job.current;
    if (!attempt) return;
    job.current = undefined;
    const held = this.onWorker.get(attempt.worker);
    held?.delete(job);
    if (held?.size === 0) this.onWorker.delete(attempt.worker);
    if (attempt.ended) {
      this.freeSlot(attempt.worker);
      return;
    }
    attempt.ended = true;
    attempt.worker.send({ type: 'job.cancel', jobId: job.id, reason });
    const key = stopKey(job.id, attempt.worker);
    const timer = setTimeout(() => this.stopped(key), this.options.stopGraceMs ?? 30_000);
    timer.unref();
    this.stopping.set(key, { worker: attempt.worker, timer });
  }

  /** A stopped job's worker confirmed (or the grace passed): its slot is free again. */
  private stopped(key: string): void {
    const held = this.stopping.get(key);
    if (!held) return;
    clearTimeout(held.timer);
    this.stopping.delete(key);
    this.freeSlot(held.worker);
  }

  private freeSlot(worker: RegisteredWorker): void {
    worker.running = Math.max(0, worker.running - 1);
    this.freed++;
    queueMicrotask(() => this.drain());
  }

  /** The most bytes an attempt may stream: its max_tokens at the longest a token can spell. */
  private byteCap(job: Job, attempt: Attempt): number {
    return attempt.maxTokens * (job.spec.meter?.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES);
  }

  private onFrame(session: RegisteredWorker, frame: WorkerJobFrame): void {
    const ends = frame.type === 'job.done' || frame.type === 'job.error' || frame.type === 'job.reject';
    if (ends) this.stopped(stopKey(frame.jobId, session));
    const job = this.jobs.get(frame.jobId);
    const attempt = job?.current;
    if (!job || !attempt || attempt.worker !== session) {
      // A late frame for a job this worker no longer holds (cancelled, timed out, moved on).
      if (!ends) {
        this.options.logger.debug({ workerId: session.id, jobId: frame.jobId, type: frame.type }, 'frame for a job this worker does not hold');
      }
      return;
    }
    switch (frame.type) {
      case 'job.accept':
        attempt.accepted = true;
        return;
      case 'job.reject':
        attempt.ended = true;
        this.retryElsewhere(job, { code: frame.code, message: frame.message });
        return;
      case 'job.chunk': {
        if (job.spec.sealed || frame.seq !== job.nextSeq) {
          attempt.lost = true;
          this.retryElsewhere(job, { code: 'bad_frame', message: `Chunk ${frame.seq} arrived, ${job.nextSeq} expected.` });
          return;
        }
        const part = { text: frame.text, ...(frame.toolCalls ? { toolCalls: frame.toolCalls } : {}), ...(frame.reasoning ? { reasoning: frame.reasoning } : {}) };
        // A job that forces a call is answered by the call alone: the engine writes no text there.
        const wrong = frame.toolCalls ? badToolCalls(job, attempt, frame.text, frame.toolCalls) : frame.text !== '' && forcesCall(job.spec.params) ? 'Text streamed for a job that forces a tool call.' : undefined;
        if (wrong) {
          this.options.logger.warn({ jobId: job.id, workerId: attempt.worker.id, why: wrong }, 'a worker streamed what its engine could not have written for this job; its attempt ends');
          attempt.lost = true;
          this.retryElsewhere(job, { code: 'bad_frame', message: wrong });
          return;
        }
        const bytes = partBytes(part);
        if (attempt.bytes + bytes > this.byteCap(job, attempt) || attempt.chunks + 1 > attempt.maxTokens + 1) {
          this.cutOff(job, attempt, `streamed more than ${attempt.maxTokens} tokens can hold`);
          return;
        }
        job.nextSeq++;
        attempt.accepted = true;
        this.noteChunk(job, attempt, bytes, frame.tokens, frame.promptTokens);
        attempt.text += frame.text;
        attempt.reasoning += frame.reasoning ?? '';
        job.text += frame.text;
        job.reasoning += frame.reasoning ?? '';
        if (frame.toolCalls) attempt.toolCalls = mergeParts({ text: '', toolCalls: attempt.toolCalls }, { text: '', toolCalls: frame.toolCalls }).toolCalls ?? [];
        job.sink.onChunk(frame.text, frame.toolCalls, frame.reasoning);
        return;
      }
      case 'job.sealed_chunk': {
        if (!job.spec.sealed || frame.seq !== job.nextSeq) {
          attempt.lost = true;
          this.retryElsewhere(job, { code: 'bad_frame', message: 'A sealed chunk out of order or for a job in clear.' });
          return;
        }
        const bytes = Math.max(0, (fromBase64Url(frame.ciphertext)?.length ?? 0) - SEALED_TAG_BYTES);
        if (attempt.bytes + bytes > this.byteCap(job, attempt) || attempt.chunks + 1 > attempt.maxTokens + 1) {
          this.cutOff(job, attempt, `sealed chunks hold more than ${attempt.maxTokens} tokens can`);
          return;
        }
        job.nextSeq++;
        attempt.accepted = true;
        this.noteChunk(job, attempt, bytes, frame.tokens, frame.promptTokens);
        const { type: _type, jobId: _jobId, tokens: _tokens, promptTokens: _promptTokens, ...chunk } = frame;
        job.sink.onSealedChunk?.(chunk);
        return;
      }
      case 'job.done': {
        attempt.done = frame.usage;
        attempt.accepted = true;
        attempt.ended = true;
        if (frame.finishReason === 'tool_calls' && attempt.toolCalls.length === 0 && !job.spec.sealed) {
          attempt.lost = true;
          this.retryElsewhere(job, { code: 'bad_frame', message: 'The worker ended with tool calls it never streamed.' });
          return;
        }
        this.finish(job);
        this.options.metrics.jobsFinished.inc({ outcome: 'done' });
        this.settle(job, 'done', (usage) => job.sink.onDone({ finishReason: frame.finishReason, usage: { ...usage, ...this.reasoningTokens(job, usage) } }));
        return;
      }
      case 'job.error':
        attempt.ended = true;
        if (WORKER_RETRYABLE_CODES.has(frame.code)) {
          if (frame.code !== 'not_sharing' && frame.code !== 'no_capacity') attempt.lost = attempt.accepted;
          this.retryElsewhere(job, { code: frame.code, message: frame.message });
        } else if (CLIENT_ERROR_CODES.has(frame.code) && attempt.bytes === 0) {
          this.onClientError(job, attempt, { code: frame.code, message: frame.message });
        } else {
          attempt.lost = true;
          this.fail(job, { code: frame.code, message: frame.message }, 'failed');
        }
        return;
    }
  }

  /**
   * A worker refused the job as the client asked it (invalid, or too long for its context) before
   * answering anything. When the coordinator counted the prompt itself and routed the job to a
   * worker whose context fits it, a `context_length_exceeded` is the worker's fault: the job moves
   * on. Otherwise the client gets the 400, and nothing is billed: no work was done.
   */
  private onClientError(job: Job, attempt: Attempt, error: WireError): void {
    if (error.code === 'context_length_exceeded' && job.spec.prompt.exact && !job.spec.sealed) {
      attempt.lost = true;
      this.retryElsewhere(job, { code: 'worker_lost', message: `The worker refused a job that fits its context: ${error.message}` });
      return;
    }
    attempt.accepted = false;
    this.fail(job, error, 'failed');
  }

  private noteChunk(job: Job, attempt: Attempt, bytes: number, claimedTokens: number, promptClaim: number | undefined): void {
    const now = Date.now();
    // Only the first chunk's claim counts (the worker claims its prompt once).
    if (attempt.chunks === 0 && promptClaim !== undefined) attempt.promptClaim = promptClaim;
    if (attempt.firstChunkAt === undefined && bytes > 0) {
      attempt.firstChunkAt = now;
      if (job.attempts.length === 1) this.options.metrics.timeToFirstToken.observe((now - job.createdAt) / 1000);
    }
    attempt.lastChunkAt = now;
    attempt.bytes += bytes;
    attempt.chunks++;
    // A claim past what the attempt could produce only reads as a dispute; bounded here, so a
    // worker's running sum stays a small integer (2,048 chunks at 2^20 each overflow a column).
    attempt.claimTokens = Math.min(attempt.claimTokens + claimedTokens, attempt.maxTokens + 1);
  }

  /** The output bound was crossed: the job ends with what was delivered, the worker is flagged. */
  private cutOff(job: Job, attempt: Attempt, why: string): void {
    attempt.cutOff = true;
    this.options.logger.warn({ jobId: job.id, workerId: attempt.worker.id, bytes: attempt.bytes, maxTokens: attempt.maxTokens }, `worker cut off: ${why}`);
    if (job.spec.sealed) {
      this.fail(job, { code: 'output_too_large', message: `The worker's answer grew past what max_tokens allows; it was cut off.` }, 'cut_off');
      return;
    }
    this.finish(job, 'output_too_large');
    this.options.metrics.jobsFinished.inc({ outcome: 'cut_off' });
    this.settle(job, 'cut_off', (usage) => job.sink.onDone({ finishReason: 'length', usage: { ...usage, ...this.reasoningTokens(job, usage) } }));
  }

  private onWorkerLost(session: RegisteredWorker, reason: string): void {
    for (const [key, held] of this.stopping) {
      if (held.worker !== session) continue;
      clearTimeout(held.timer);
      this.stopping.delete(key);
    }
    // Its own jobs only: an instance that dies takes thousands of workers with it at once.
    for (const job of [...(this.onWorker.get(session) ?? [])]) {
      if (job.current?.worker !== session) continue;
      job.current.lost = job.current.accepted;
      job.current.ended = true;
      this.retryElsewhere(job, { code: 'worker_lost', message: `The worker was lost (${reason}).` }, true);
    }
  }

  /** The coordinator's figure for an attempt's completion tokens, thoughts included (≤ its max_tokens). */
  private completionFigure(job: Job, attempt: Attempt): number {
    const meter = job.spec.sealed ? undefined : job.spec.meter;
    const figure = meter ? meter.countText(attempt.text) + (attempt.reasoning ? meter.countText(attempt.reasoning) : 0) + meter.countToolCalls(attempt.toolCalls) : attempt.bytes;
    return Math.min(figure, attempt.maxTokens);
  }

  /** How much of a transport job's billed completion was thoughts (OpenAI's `reasoning_tokens`), when there were any and they were counted. */
  private reasoningTokens(job: Job, usage: Usage): { reasoningTokens?: number } {
    const meter = job.spec.sealed ? undefined : job.spec.meter;
    if (!meter || job.attempts.every((a) => a.reasoning === '')) return {};
    const counted = job.attempts.reduce((sum, a) => sum + (a.reasoning ? meter.countText(a.reasoning) : 0), 0);
    return { reasoningTokens: Math.min(counted, usage.completionTokens) };
  }

  private observations(job: Job): AttemptObservation[] {
    const exact = !job.spec.sealed && job.spec.meter !== undefined;
    return job.attempts.map((a) => {
      // Its job.done's, else the one made with its first chunk (a job that ended before job.done).
      const promptClaim = a.done?.promptTokens ?? a.promptClaim;
      return {
        workerId: a.worker.id,
        payoutAddress: a.worker.payoutAddress,
        coefficient: a.coefficient,
        accepted: a.accepted,
        streamed: a.bytes > 0,
        completionFigure: this.completionFigure(job, a),
        completionExact: exact,
        completionClaim: a.done ? a.done.completionTokens : a.claimTokens,
        ...(promptClaim !== undefined && a.before === '' && a.beforeReasoning === '' ? { promptClaim } : {}),
      };
    });
  }

  /**
   * Meters and settles a job that ended, whatever ended it; returns the usage billed (before a
   * spot check or a client receipt, which can only lower it). Spot-checked jobs and sealed jobs
   * awaiting their receipt settle later; their holds stay until then. `then` (the client's last
   * event) runs once the job is on the books, or at once when its settlement waits.
   */
  private settle(job: Job, outcome: JobOutcome, then?: (usage: Usage) => void): Usage {
    const input = { attempts: this.observations(job), promptFigure: job.spec.prompt.figure, promptExact: job.spec.prompt.exact };
    const provisional = meterJob(input);
    const usage = provisional.parts.reduce((u, p) => ({ promptTokens: u.promptTokens + p.usage.promptTokens, completionTokens: u.completionTokens + p.usage.completionTokens }), { promptTokens: 0, completionTokens: 0 });
    // A settlement that waits (for a spot check, a client's receipt, a probe's count) may outlive
    // the job's hold, which expires at the request's deadline plus a minute: it settles late.
    let waits = true;
    const book = (result: MeterResult, finalOutcome: JobOutcome, failedWorkers: ReadonlySet<string> = new Set(), booked?: () => void) => {
      try {
        this.judge(job, result, finalOutcome, failedWorkers);
        const parts = result.parts.filter((p) => !failedWorkers.has(p.workerId));
        if (parts.length > 0) return this.book(job, finalOutcome, parts, booked, waits);
        this.options.billing?.release(job.id).catch((error: unknown) => this.options.logger.error({ jobId: job.id, err: error instanceof Error ? error.message : String(error) }, 'refunding a hold failed; it comes back when it expires'));
      } catch (error) {
        // The store failed (not the books' rules, which settleSoon reports): the hold stays until
        // it expires and is refunded; the job still ends for its client and for shutdown.
        this.options.logger.error({ jobId: job.id, err: error instanceof Error ? error.message : String(error) }, 'settling a job failed');
      }
      booked?.();
    };
    const later = (run: (done: () => void) => void) => {
      this.pendingSettlements++;
      this.settling.set(job.id, { job, outcome });
      run(() => {
        this.settling.delete(job.id);
        this.pendingSettlements--;
        this.checkSettled();
      });
    };
    const { spotCheck } = this.options;
    if (job.spec.awaitProbe && provisional.parts.length > 0) {
      const awaitProbe = job.spec.awaitProbe;
      later((done) => awaitProbe((counted) => book(counted ? meterJob(withOwnCount(input, counted)) : provisional, outcome, new Set(), done)));
      then?.(usage);
    } else if (job.spec.awaitReceipt && provisional.parts.length > 0) {
      const awaitReceipt = job.spec.awaitReceipt;
      later((done) =>
        awaitReceipt((receipt) => {
          const result = meterJob({ ...input, ...(receipt ? { clientReceipt: receipt } : {}) });
          if (receipt && job.spec.clientId) {
            const disputedBy = result.disputes.find((d) => d.kind === 'over_client_receipt')?.workerId ?? null;
            this.options.standing.clientReceipt({ jobId: job.id, clientId: job.spec.clientId, disputedBy, at: Date.now() });
          }
          book(result, outcome, new Set(), done);
        }),
      );
      then?.(usage);
    } else if (spotCheck && !job.spec.sealed && provisional.parts.length > 0 && spotCheck.sample(job.spec.model, job.spec.params)) {
      // What each answer wrote: its text (and thoughts), and the calls it ended with (the verifier scores the text and the calls' arguments).
      const attempts = job.attempts.filter((a) => a.text !== '' || a.reasoning !== '' || a.toolCalls.length > 0).map((a) => ({ workerId: a.worker.id, before: a.before, beforeReasoning: a.beforeReasoning, text: a.text, reasoning: a.reasoning, toolCalls: a.toolCalls }));
      later((done) => {
        // The check waits on the verifier's queue, which may outlast the job's hold: the hold is kept
        // for as long as the check may take, and a check that takes longer is given up on (the job
        // settles unchecked), so a check never holds the worker's pay or the client's money for good.
        const waitMs = this.options.spotCheckWaitMs ?? SPOT_CHECK_WAIT_MS;
        this.options.billing?.extendHold(job.id, Date.now() + waitMs + HOLD_MARGIN_MS).catch((error: unknown) => this.options.logger.warn({ jobId: job.id, err: error instanceof Error ? error.message : String(error) }, 'keeping the hold of a job being checked failed; if the check outlasts it, the job settles from the balance'));
        let ended = false;
        const end = (result: 'passed' | 'failed' | 'unscored', failedSet: ReadonlySet<string>) => {
          if (ended) return;
          ended = true;
          clearTimeout(timer);
          this.options.metrics.spotChecks.inc({ result });
          book(provisional, failedSet.size > 0 ? 'verify_failed' : outcome, failedSet, done);
        };
        const timer = setTimeout(() => {
          this.options.logger.warn({ jobId: job.id, waitMs }, 'spot check took too long; settling without it');
          end('unscored', new Set());
        }, waitMs);
        spotCheck.check({ model: job.spec.model, messages: job.spec.messages, params: job.spec.params, attempts }).then(
          (failed) => {
            const failedSet = new Set(failed ?? []);
            if (ended && failedSet.size > 0) this.options.logger.warn({ jobId: job.id, failed: [...failedSet] }, 'a spot check given up on came back failed; the job was settled without it');
            end(failed === undefined ? 'unscored' : failedSet.size > 0 ? 'failed' : 'passed', failedSet);
          },
          (error: unknown) => {
            this.options.logger.error({ jobId: job.id, err: error instanceof Error ? error.message : String(error) }, 'spot check failed to run; settling without it');
            end('unscored', new Set());
          },
        );
      });
      then?.(usage);
    } else {
      // The client hears the end of its job once the job is on the books.
      waits = false;
      later((done) =>
        book(provisional, outcome, new Set(), () => {
          then?.(usage);
          done();
        }),
      );
    }
    return usage;
  }

  private book(job: Job, outcome: JobOutcome, parts: MeterResult['parts'], booked: (() => void) | undefined, late: boolean): void {
    for (const p of parts) {
      this.options.metrics.tokens.inc({ kind: 'prompt' }, p.usage.promptTokens);
      this.options.metrics.tokens.inc({ kind: 'completion' }, p.usage.completionTokens);
    }
    const { billing } = this.options;
    if (!billing) return booked?.();
    billing.settleSoon(job.id, job.spec.clientId, job.spec.model, outcome, parts, (error) => {
      const err = error instanceof Error ? error.message : String(error);
      // The store cannot be reached: billing keeps the settlement and tries it again, and the
      // client hears the end of its job now (the worker's receipt comes once it lands).
      if (error instanceof SettlementDeferred) this.options.logger.warn({ jobId: job.id, err }, 'settlement deferred until the store answers');
      // The books refused (an invariant or a bound): nothing was written; the hold stays until
      // it expires and is refunded. Loud, because it means a bug or an attack.
      else if (error instanceof BooksError) this.options.logger.error({ jobId: job.id, err }, 'settlement refused by the books');
      // The store failed otherwise (nothing written): the hold stays until it expires.
      else if (error) this.options.logger.error({ jobId: job.id, err }, 'settling a job failed');
      booked?.();
    }, late);
  }

  /** Records disputes and moves each worker's standing by what it did in this job. */
  private judge(job: Job, result: MeterResult, outcome: JobOutcome, failedWorkers: ReadonlySet<string>): void {
    const { standing } = this.options;
    const now = Date.now();
    const disputed = new Set<string>();
    for (const d of result.disputes) {
      standing.dispute({ jobId: job.id, workerId: d.workerId, kind: d.kind, claimed: d.claimed, counted: d.counted, at: now });
      this.options.metrics.disputes.inc({ kind: d.kind });
      // Against a client's receipt the coordinator cannot tell who is wrong: on file, no penalty.
      if (d.kind !== 'over_client_receipt') disputed.add(d.workerId);
    }
    for (const a of job.attempts) {
      const id = a.worker.id;
      if (failedWorkers.has(id)) standing.record(id, 'verify_failed');
      else if (a.cutOff) standing.record(id, 'cut_off');
      else if (disputed.has(id)) standing.record(id, 'dispute');
      else if (a.lost) standing.record(id, 'lost');
      else if (a.done && outcome !== 'verify_failed') standing.record(id, 'clean', this.speedOf(job, a));
    }
  }

  /** Time to first token and tokens per second of an attempt, as the coordinator saw them. */
  private speedOf(job: Job, a: Attempt): SpeedSample {
    if (a.firstChunkAt === undefined) return {};
    return attemptSpeed({ offeredAt: a.offeredAt, firstChunkAt: a.firstChunkAt, lastChunkAt: a.lastChunkAt }, this.completionFigure(job, a), a.worker.relayMs);
  }

  /**
   * Moves a job to another worker, continuing after any text already streamed. `afterLosses`:
   * offered again by the pass over the queue that follows the loss of its worker (first in
   * line), not at once. An instance that dies takes thousands of workers with it in
   * one turn; offering each of their jobs at once would route over a fleet whose index is
   * rebuilt after every worker that leaves.
   */
  private retryElsewhere(job: Job, error: WireError, afterLosses = false): void {
    const attempt = job.current;
    if (attempt) job.tried.add(attempt.worker.id);
    this.release(job, error.code);
    // A sealed job cannot be re-sealed here; the client's SDK seals it again to another worker.
    if (job.spec.sealed || !this.canContinue(job) || job.attempts.length >= this.maxAttempts || this.completionUsed(job) >= job.spec.params.maxTokens) {
      this.fail(job, error, 'failed');
      return;
    }
    this.options.metrics.requeues.inc({ reason: error.code });
    this.options.logger.info({ jobId: job.id, code: error.code, attempt: job.attempts.length, streamed: job.text.length > 0 || job.reasoning.length > 0 }, 'requeueing job');
    if (afterLosses) this.lost.push(job);
    else this.dispatch(job);
  }

  /**
   * Whether another worker can go on from what was streamed: free text can, but a JSON grammar
   * or a tool call cannot be resumed halfway (it would start over inside the client's answer).
   */
  private canContinue(job: Job): boolean {
    if (job.attempts.some((a) => a.toolCalls.length > 0)) return false;
    return !(isConstrained(job.spec.params) && job.text !== '');
  }

  private cancel(job: Job, reason: string): void {
    if (job.finished) return;
    this.finish(job, reason);
    // The client pays for what it received before it went away.
    this.settle(job, 'cancelled');
    this.options.metrics.jobsFinished.inc({ outcome: 'cancelled' });
  }

  private fail(job: Job, error: WireError, outcome: JobOutcome): void {
    if (job.finished) return;
    this.finish(job, error.code);
    this.options.metrics.jobsFinished.inc({ outcome: error.code });
    // Whatever ended it, what was delivered is billed (prompt once a worker started on it).
    this.settle(job, outcome, () => job.sink.onError(error));
  }

  private finish(job: Job, reason = 'finished'): void {
    job.finished = true;
    clearTimeout(job.timer);
    this.release(job, reason);
    this.jobs.delete(job.id);
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    queueMicrotask(() => this.checkSettled());
  }
}

/** One pass over the queue (drain): the requests that found no free worker since `freed` last changed. */
interface QueuePass {
  freed: number;
  noneFree: RouteRequest[];
}

/** Which stopping job a worker's slot is held for. */
function stopKey(jobId: string, worker: RegisteredWorker): string {
  return `${worker.id}\u0000${jobId}`;
}

/**
 * Why a chunk's tool-call pieces are malformed, if they are: calls are numbered 0, 1, 2… in
 * order, a call's first piece names it, and no text follows a call (OpenAI clients assemble
 * text and calls separately; a worker may not interleave them).
 */
function badToolCalls(job: { spec: { params: JobParams } }, attempt: { toolCalls: ToolCallDelta[] }, text: string, deltas: readonly ToolCallDelta[]): string | undefined {
  const { tools, toolChoice, parallelToolCalls } = job.spec.params;
  if (!tools) return 'Tool calls streamed for a job that offered no tools.';
  if (text !== '') return 'Text and tool calls in one chunk.';
  // What the engine cannot write: another function than the one the client named, or a second call where the client allowed one.
  const named = typeof toolChoice === 'object' ? toolChoice.name : undefined;
  let last = attempt.toolCalls.at(-1);
  for (const delta of deltas) {
    const current = last?.index;
    if (delta.index === current) {
      if (delta.name !== undefined) return `Tool call ${delta.index} is named twice.`;
    } else if (delta.index === (current ?? -1) + 1) {
      if (delta.name === undefined || !tools.some((t) => t.name === delta.name)) return `Tool call ${delta.index} does not start with the name of an offered tool.`;
      if (named !== undefined && delta.name !== named) return `Tool call ${delta.index} names ${delta.name}, but the job forces a call of ${named}.`;
      if (delta.index > 0 && parallelToolCalls === false) return `Tool call ${delta.index}: the job allows one call (parallel_tool_calls false).`;
      last = { index: delta.index, name: delta.name };
    } else return `Tool call ${delta.index} arrived out of order.`;
  }
  return undefined;
}
