/**
 * The headless worker core: joins a coordinator, takes jobs within its capacity and sharing
 * state, runs them through the engine supervisor and streams the answer back.
 * No Electron here: the desktop shell composes this same class.
 */
import { EventEmitter } from 'node:events';
import { PROTOCOL_VERSION, MIN_PROTOCOL_VERSION } from '../../network/protocol/version.js';
import type { CoordinatorFrame, Tier, WorkerFrame } from '../../network/protocol/worker-frames.js';
import { signHello } from '../../network/protocol/worker-hello.js';
import { CoordinatorLink, type CheckFailed, type CoordinatorJobFrame, type Refusal } from './coordinator-link.js';
import { JobFailure, type EngineSupervisor } from '../engine/supervisor.js';
import type { ModelFile } from '../models/model-file.js';
import type { Logger } from '../../network/node-kit/log.js';
import type { SharingCaps } from '../sharing/settings.js';
import { signDescriptor, type IdentityKeyPair, type SignedDescriptor } from '../../network/protocol/descriptor.js';
import { SEALED_SUITE } from '../../network/protocol/sealed.js';
import { toBase64Url } from '../../network/protocol/encoding.js';
import { continuationOf } from '../../network/protocol/job-schemas.js';

/** How long a signed descriptor is valid; it is re-signed well before. */
const DESCRIPTOR_TTL_MS = 60 * 60_000;

/** The version of this build, announced to the coordinator. */
export const APP_VERSION = '0.1.0';

/** Options of a worker. */
export interface WorkerOptions {
  workerId: string;
  coordinatorUrl: string;
  model: ModelFile;
  engine: EngineSupervisor;
  maxConcurrentJobs: number;
  priceCoefficient?: number;
  /** Whether the owner's sharing policy allows work right now. */
  available?: boolean;
  /** Where the owner wants earnings paid. */
  payoutAddress?: string;
  /** The long-term identity: proves this worker's id in every hello and signs its descriptor. */
  identity: IdentityKeyPair;
  buildHash?: string;
  logger: Logger;
  /** Reconnect backoff bounds (tests shorten them). */
  reconnect?: { minDelayMs: number; maxDelayMs: number };
}

/** What the coordinator says a job earned, with its signed cumulative voucher when on chain. */
export type JobReceipt = Extract<CoordinatorJobFrame, { type: 'job.receipt' }>;

/** What welcome says about settlement (vault, voucher key, chain) and prices. */
export type CoordinatorTerms = Pick<Extract<CoordinatorFrame, { type: 'welcome' }>, 'coordinatorId' | 'settlement' | 'pricing'>;

/**
 * Records a receipt durably (the ledger); the worker acknowledges it to the coordinator only
 * once this resolves, so an unrecorded receipt is sent again on the next connection.
 */
export type ReceiptRecorder = (receipt: JobReceipt) => Promise<void>;

/** Skipped receipt numbers waited for at most (a reorder this deep means something else is wrong). */
const MAX_MISSING_RECEIPTS = 1024;
/**
 * Most receipts waiting to be recorded (twice the coordinator's resend batch). Beyond it a
 * receipt is dropped unacknowledged, and once the queue drains the worker asks for everything
 * after what it recorded: an honest coordinator's receipts all land, and one sending receipts by
 * the million cannot grow this process's memory.
 */
const MAX_PENDING_RECEIPTS = 1000;

/** How long a preemption took, from the call to each milestone. */
export interface PreemptionTiming {
  jobsStopped: number;
  /** Until every running job had stopped generating. */
  stoppedMs: number;
  /** Until the job process had exited and its memory (VRAM included) was released. */
  unloadedMs: number;
}

/** What the worker has done since it started (for the dashboard). */
export interface WorkerCounters {
  jobsServed: number;
  jobsFailed: number;
  jobsRejected: number;
  tokensGenerated: number;
}

interface WorkerEvents {
  connected: [CoordinatorTerms];
  disconnected: [string];
  /** The coordinator refuses this worker (it keeps trying, slowly: an operator may lift it). */
  refused: [Refusal];
  /** One of this worker's answers failed the coordinator's check: that job is not paid. */
  'check-failed': [CheckFailed];
  'job-started': [{ jobId: string; model: string }];
  'job-ended': [{ jobId: string; outcome: 'done' | 'failed'; completionTokens: number; durationMs: number; code?: string }];
  receipt: [JobReceipt];
  paused: [PreemptionTiming];
  resumed: [];
}

/** A running worker. */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly link: CoordinatorLink;
  readonly counters: WorkerCounters = { jobsServed: 0, jobsFailed: 0, jobsRejected: 0, tokensGenerated: 0 };
  private readonly running = new Set<string>();
  private available: boolean;
  private stopping = false;
  /** The link is being dropped on purpose, to announce a new model in hello. */
  private reannouncing = false;
  /** Jobs being stopped because sharing paused: reported as not_sharing so they move on. */
  private readonly preempted = new Set<string>();
  private readonly idleWaiters: (() => void)[] = [];
  /** Serialises pause/resume so quick flips never interleave. */
  private transition: Promise<unknown> = Promise.resolve();
  /**
   * Pauses asked for so far. A step that waited in `transition` (for running jobs, for a load)
   * compares it with what it saw before: if the owner paused meanwhile, it offers no capacity
   * and loads nothing.
   */
  private pauses = 0;
  private lastContextSize = 2048;
  private lastTier: Tier = 'unsandboxed';
  private resign: NodeJS.Timeout | undefined;
  /** The owner's Polite caps while they apply (null: none). */
  private caps: SharingCaps | null = null;
  /** The coordinator's terms from the latest welcome. */
  private currentTerms: CoordinatorTerms | undefined;
  private recordReceipt: ReceiptRecorder | undefined;
  /** Receipts are recorded and acknowledged one after another, in the order they came. */
  private receiptChain: Promise<void> = Promise.resolve();
  /** Receipts in receiptChain, and whether some were dropped since it was last empty. */
  private pendingReceipts = 0;
  private droppedReceipts = 0;
  /** The highest receipt number recorded on this worker since it started. */
  private lastReceiptSeq = 0;
  /** Numbers below lastReceiptSeq not received yet (bounded by MAX_MISSING_RECEIPTS). */
  private readonly missingReceipts = new Set<number>();
  /** What this PC itself generated for recent jobs, to check receipts against (bounded). */
  private readonly ownCounts = new Map<string, { promptTokens: number; completionTokens: number }>();

  constructor(private readonly options: WorkerOptions) {
    super();
    this.available = options.available ?? true;
    this.link = new CoordinatorLink({ url: options.coordinatorUrl, hello: (challenge) => this.hello(challenge), logger: options.logger, ...options.reconnect });
    this.link.on('frame', (frame) => this.onFrame(frame));
    // A refusal is logged once: the link asks again every half minute or so, and hears the same.
    let refusedWith: string | undefined;
    this.link.on('connected', (welcome) => {
      options.logger.info({ coordinator: this.link.url }, 'connected to the coordinator');
      refusedWith = undefined;
      this.currentTerms = { coordinatorId: welcome.coordinatorId, settlement: welcome.settlement, pricing: welcome.pricing };
      // Availability may have changed between hello and welcome, when frames cannot be sent.
      this.link.send({ type: 'capacity', available: this.available });
      this.publishDescriptor();
      this.emit('connected', this.currentTerms);
    });
    this.link.on('check-failed', (frame) => this.emit('check-failed', frame));
    this.link.on('refused', (refusal) => {
      if (refusedWith !== refusal.code) options.logger.error({ code: refusal.code, said: refusal.message.slice(0, 300) }, 'the coordinator refuses this worker; it keeps asking, in case the operator lifts it');
      refusedWith = refusal.code;
      this.emit('refused', refusal);
    });
    this.link.on('disconnected', (reason) => {
      if (this.reannouncing) options.logger.info('reconnecting to announce the new model');
      else if (!this.stopping) options.logger.warn({ reason }, 'lost the coordinator');
      this.reannouncing = false;
      // The coordinator requeues whatever we held; finishing it here would be wasted work.
      for (const jobId of this.running) options.engine.cancel(jobId);
      this.emit('disconnected', reason);
    });
  }

  /**
   * Signs and sends the descriptor clients seal to: identity, the job process's current HPKE
   * key, models, tier. Called on connect, after every job-process start, and every 30 min.
   */
  publishDescriptor(): SignedDescriptor | undefined {
    const { identity, engine, model } = this.options;
    const info = engine.info;
    if (!info) return undefined;
    const now = Date.now();
    const signed = signDescriptor(
      {
        v: 1,
        workerId: this.options.workerId,
        identityKey: toBase64Url(identity.publicKey),
        hpke: { suite: SEALED_SUITE, publicKey: info.hpkePublicKey },
        models: [{ id: model.id, sha256: model.sha256, contextSize: info.contextSize }],
        tier: info.tier,
        appVersion: APP_VERSION,
        buildHash: this.options.buildHash ?? '0000000',
        tokensPerSecond: info.tokensPerSecond,
        priceCoefficient: this.options.priceCoefficient ?? 1,
        issuedAt: now,
        expiresAt: now + DESCRIPTOR_TTL_MS,
      },
      identity.secretKey,
    );
    this.link.send({ type: 'descriptor', signed });
    return signed;
  }

  /** The model this worker serves (and announces). */
  get model(): ModelFile {
    return this.options.model;
  }

  /** The coordinator's terms (settlement identity, prices) from the latest welcome. */
  get terms(): CoordinatorTerms | undefined {
    return this.currentTerms;
  }

  /** The payout address announced in hello. */
  get payoutAddress(): string | undefined {
    return this.options.payoutAddress;
  }

  /**
   * Pays earnings to another address from now on: the next hello signs and announces it, so the
   * connection is renewed at once (running jobs are moved on by the coordinator, as on any
   * reconnect, so this waits for them to finish first).
   */
  setPayoutAddress(address: string | undefined): Promise<void> {
    return this.serially(async () => {
      if (address === this.options.payoutAddress) return;
      const wasAvailable = this.available;
      const pauses = this.pauses;
      this.setAvailable(false);
      await this.whenIdle();
      this.options.payoutAddress = address;
      // A pause while the job ran stands: the new hello says unavailable.
      this.available = wasAvailable && this.pauses === pauses;
      this.reannouncing = this.link.connected;
      this.link.reconnect('payout address changed');
    });
  }

  /**
   * Where receipts are recorded before they are acknowledged (the ledger). Without a recorder,
   * receipts are acknowledged as they arrive.
   */
  setReceiptRecorder(recorder: ReceiptRecorder | undefined): void {
    this.recordReceipt = recorder;
  }

  /** What this PC generated for a recent job (its own count), if it still remembers. */
  ownUsage(jobId: string): { promptTokens: number; completionTokens: number } | undefined {
    return this.ownCounts.get(jobId);
  }

  private rememberUsage(jobId: string, usage: { promptTokens: number; completionTokens: number }): void {
    this.ownCounts.set(jobId, usage);
    if (this.ownCounts.size > 10_000) this.ownCounts.delete(this.ownCounts.keys().next().value as string);
  }

  /** Receipts received and waiting to be recorded (at most MAX_PENDING_RECEIPTS). */
  get receiptsWaiting(): number {
    return this.pendingReceipts;
  }

  /** Asks the coordinator to send again every receipt numbered above `after`. */
  requestReceipts(after: number): boolean {
    return this.link.send({ type: 'receipts.request', after });
  }

  /**
   * Serves another model: stops taking jobs, lets the running ones finish (never cut), reloads
   * the job process with the new file, then reconnects so hello announces the new model. If
   * the new file does not load, the old model is loaded again and the error is thrown. A pause
   * meanwhile stops the running jobs at once; the switch then loads nothing (the new model
   * loads when sharing resumes) and leaves the worker paused.
   * `onPhase` hears when it waits for running jobs (and how many) and when it starts loading.
   */
  switchModel(model: ModelFile, onPhase?: (phase: 'waiting-for-jobs' | 'loading', jobs: number) => void): Promise<void> {
    return this.serially(async () => {
      const { engine, logger } = this.options;
      const previous = this.options.model;
      const wasAvailable = this.available;
      const wasLoaded = engine.info !== undefined;
      const pauses = this.pauses;
      const stillSharing = () => this.pauses === pauses;
      this.setAvailable(false);
      if (this.running.size > 0) onPhase?.('waiting-for-jobs', this.running.size);
      await this.whenIdle();
      const oldPath = engine.modelPath;
      this.options.model = model;
      engine.setModelPath(model.path);
      if (wasLoaded && !stillSharing()) {
        // The owner wants the GPU back: unload the old model now rather than load the new one.
        await engine.stop(0);
      } else if (wasLoaded) {
        onPhase?.('loading', 0);
        await engine.stop();
        try {
          await engine.start();
        } catch (error) {
          logger.error({ model: model.id, err: error instanceof Error ? error.message : String(error) }, 'the new model did not load; serving the previous one');
          this.options.model = previous;
          engine.setModelPath(oldPath);
          if (stillSharing()) await engine.start().catch(() => undefined);
          this.setAvailable(wasAvailable && stillSharing());
          throw error;
        }
      }
      logger.info({ from: previous.id, to: model.id }, 'switched model');
      this.available = wasAvailable && stillSharing();
      this.reannouncing = this.link.connected;
      this.link.reconnect('model changed');
    });
  }

  /** Jobs running now. */
  get activeJobs(): number {
    return this.running.size;
  }

  /** Connects (and keeps reconnecting) to the coordinator. The engine must be started. */
  start(): void {
    this.link.start();
    this.options.engine.on('ready', this.onEngineReady);
    this.resign = setInterval(() => this.publishDescriptor(), DESCRIPTOR_TTL_MS / 2);
    this.resign.unref();
  }

  /** A new job process brings a new HPKE key: clients must learn it. */
  private readonly onEngineReady = () => {
    this.publishDescriptor();
  };

  /** Leaves the network and stops the engine. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.resign);
    this.options.engine.off('ready', this.onEngineReady);
    this.link.stop();
    await this.options.engine.stop();
  }

  /** Sharing allowed or not; the coordinator stops offering jobs while unavailable. */
  setAvailable(available: boolean): void {
    if (available === this.available) return;
    this.available = available;
    this.link.send({ type: 'capacity', available });
  }

  /**
   * Hands the GPU back: stops advertising capacity, stops every running job (the coordinator
   * continues each on another worker from the text already sent), then ends the job process so
   * the model's memory — VRAM included — is released. The first two happen at the call, never
   * queued behind other work (a model switch waiting for a job would otherwise let it run on);
   * the job process ends once the work before it is done.
   */
  pause(): Promise<PreemptionTiming> {
    this.pauses++;
    const started = performance.now();
    const jobsStopped = this.stopJobs();
    return this.serially(() => this.handBack(started, jobsStopped));
  }

  /** Stops offering capacity and cancels the running jobs as preempted; returns how many. */
  private stopJobs(): number {
    this.setAvailable(false);
    for (const jobId of this.running) {
      if (this.preempted.has(jobId)) continue;
      this.preempted.add(jobId);
      this.options.engine.cancel(jobId);
    }
    return this.running.size;
  }

  /** Waits for the cancelled jobs to end, then ends the job process. */
  private async handBack(started: number, jobsStopped: number): Promise<PreemptionTiming> {
    // Whatever the steps before this one left running stops too.
    this.stopJobs();
    await this.whenIdle();
    const stoppedMs = performance.now() - started;
    // Jobs are stopped and nothing in the job process needs flushing: end it at once.
    await this.options.engine.stop(0);
    const unloadedMs = performance.now() - started;
    this.options.logger.info({ jobsStopped, stoppedMs: Math.round(stoppedMs), unloadedMs: Math.round(unloadedMs) }, 'sharing paused: GPU handed back');
    const timing = { jobsStopped, stoppedMs, unloadedMs };
    this.emit('paused', timing);
    return timing;
  }

  /**
   * Applies the owner's Polite caps: generation speed is held under `maxTokensPerSecond` for
   * the jobs that start from now on, all of them together (the job process paces their sum); on a GPU, new `maxGpuLayers` or `maxVramMb` limits
   * reload the model within them (running jobs move on, as in a pause), or, while the model is
   * not loaded (paused), apply at its next start. The model is reloaded only if the worker was
   * sharing and no pause came meanwhile. The power cap is the policy's: sharing pauses above it.
   */
  setCaps(caps: SharingCaps | null): Promise<void> {
    this.caps = caps;
    return this.serially(async () => {
      const { engine } = this.options;
      const limits = { gpuLayers: caps?.maxGpuLayers ?? undefined, maxVramBytes: caps?.maxVramMb ? caps.maxVramMb * 1024 * 1024 : undefined };
      const current = engine.gpuLimits;
      if (engine.info?.gpu === 'cpu' || (limits.gpuLayers === current.gpuLayers && limits.maxVramBytes === current.maxVramBytes)) return;
      if (!engine.info) {
        engine.setGpuLimits(limits);
        return;
      }
      const wasAvailable = this.available;
      const pauses = this.pauses;
      await this.handBack(performance.now(), this.stopJobs());
      engine.setGpuLimits(limits);
      if (wasAvailable && this.pauses === pauses) await this.offer(pauses);
    });
  }

  /** Reloads the model if it was unloaded, then offers capacity again (unless a pause follows). */
  resume(): Promise<void> {
    const pauses = this.pauses;
    return this.serially(() => this.offer(pauses));
  }

  /** Loads the model if needed and offers capacity, unless a pause was asked for since `pauses`. */
  private async offer(pauses: number): Promise<void> {
    // A pause asked for after this resume stands (and its step comes next).
    if (this.pauses !== pauses) return;
    if (!this.options.engine.info) await this.options.engine.start();
    if (this.pauses !== pauses) return;
    this.setAvailable(true);
    this.options.logger.info('sharing resumed');
    this.emit('resumed');
  }

  /** Runs `step` after every step before it (pause, resume, caps, model, payout address). */
  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.transition.then(step);
    this.transition = run.catch(() => undefined);
    return run;
  }

  private whenIdle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private hello(challenge: Extract<CoordinatorFrame, { type: 'challenge' }>): Extract<WorkerFrame, { type: 'hello' }> {
    const { model, engine, identity, workerId } = this.options;
    const identityKey = toBase64Url(identity.publicKey);
    const payoutAddress = this.options.payoutAddress ?? null;
    const signature = signHello({ coordinatorId: challenge.coordinatorId, nonce: challenge.nonce, workerId, identityKey, payoutAddress }, identity);
    return {
      type: 'hello',
      protocol: { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION },
      workerId,
      identityKey,
      signature,
      appVersion: APP_VERSION,
      capabilities: {
        models: [{ id: model.id, sha256: model.sha256, contextSize: (this.lastContextSize = engine.info?.contextSize ?? this.lastContextSize) }],
        maxConcurrentJobs: this.options.maxConcurrentJobs,
        tokensPerSecond: engine.info?.tokensPerSecond ?? 0,
        priceCoefficient: this.options.priceCoefficient ?? 1,
        tier: (this.lastTier = engine.info?.tier ?? this.lastTier),
      },
      available: this.available,
      ...(this.options.payoutAddress ? { payoutAddress: this.options.payoutAddress } : {}),
    };
  }

  private onFrame(frame: CoordinatorJobFrame): void {
    if (frame.type === 'job.cancel') {
      this.options.engine.cancel(frame.jobId);
      return;
    }
    if (frame.type === 'job.receipt') {
      this.onReceipt(frame);
      return;
    }
    const model = frame.type === 'job.offer' ? frame.model : frame.envelope.model;
    const reject = (code: 'unknown_model' | 'no_capacity' | 'not_sharing' | 'duplicate_job', message: string) => {
      this.counters.jobsRejected++;
      this.link.send({ type: 'job.reject', jobId: frame.jobId, code, message });
    };
    if (model !== this.options.model.id) return reject('unknown_model', `This worker does not serve '${model}'.`);
    if (!this.available) return reject('not_sharing', 'Sharing is paused on this worker.');
    if (this.running.has(frame.jobId)) return reject('duplicate_job', `Job ${frame.jobId} is already running here.`);
    if (this.running.size >= this.options.maxConcurrentJobs || !this.options.engine.info) return reject('no_capacity', 'This worker is at capacity.');
    void this.run(frame);
  }

  /**
   * Records a receipt once per number, then acknowledges it. Receipts may arrive out of order
   * (several coordinator instances settle this worker's jobs): one numbered below the highest
   * recorded is recorded too when its number was skipped, and the acknowledgement stops below
   * the lowest number still missing, so the coordinator sends that one again on reconnecting.
   */
  private onReceipt(receipt: JobReceipt): void {
    // Once one is dropped, every later one is too until the queue drains and they are asked for
    // again: a later receipt taken in would leave a gap of every number dropped before it, and a
    // gap deeper than MAX_MISSING_RECEIPTS is not waited for, so those receipts would never land.
    if (this.pendingReceipts >= MAX_PENDING_RECEIPTS || this.droppedReceipts > 0) {
      if (this.droppedReceipts++ === 0) this.options.logger.warn({ waiting: this.pendingReceipts }, 'receipts arrive faster than they can be recorded; the rest are asked for again once these are');
      return;
    }
    this.pendingReceipts++;
    this.receiptChain = this.receiptChain
      .then(() => this.recordOne(receipt))
      .catch((error: unknown) => this.options.logger.error({ jobId: receipt.jobId, err: error instanceof Error ? error.message : String(error) }, 'could not record a receipt'))
      .finally(() => {
        if (--this.pendingReceipts > 0 || this.droppedReceipts === 0) return;
        this.options.logger.info({ dropped: this.droppedReceipts, after: this.receiptAckPoint() }, 'asking again for the receipts not taken');
        this.droppedReceipts = 0;
        this.requestReceipts(this.receiptAckPoint());
      });
  }

  /** Records one receipt and acknowledges what may be (one at a time, in the order they came). */
  private async recordOne(receipt: JobReceipt): Promise<void> {
    const late = receipt.seq < this.lastReceiptSeq && this.missingReceipts.has(receipt.seq);
    if (receipt.seq <= this.lastReceiptSeq && !late) {
      this.link.send({ type: 'receipt.ack', upTo: this.receiptAckPoint() });
      return;
    }
    this.options.logger.info({ jobId: receipt.jobId, seq: receipt.seq, earnedNanotons: receipt.earnedNanotons, cumulativeNanotons: receipt.cumulativeNanotons, outcome: receipt.outcome, voucher: receipt.voucher !== undefined, cut: receipt.claimed !== undefined, late }, 'job receipt');
    try {
      await this.recordReceipt?.(receipt);
    } catch (error) {
      // Not acknowledged: the coordinator sends it again on the next connection.
      this.options.logger.error({ jobId: receipt.jobId, err: error instanceof Error ? error.message : String(error) }, 'could not record a receipt');
      return;
    }
    this.emit('receipt', receipt);
    if (late) this.missingReceipts.delete(receipt.seq);
    else {
      // Numbers skipped since the highest recorded in this run (none before the first).
      if (this.lastReceiptSeq > 0) {
        for (let seq = this.lastReceiptSeq + 1; seq < receipt.seq && this.missingReceipts.size < MAX_MISSING_RECEIPTS; seq++) this.missingReceipts.add(seq);
        if (this.missingReceipts.size >= MAX_MISSING_RECEIPTS) this.options.logger.warn({ seq: receipt.seq, after: this.lastReceiptSeq }, 'too many receipts missing to wait for each; the rest are not waited for');
      }
      this.lastReceiptSeq = receipt.seq;
    }
    this.link.send({ type: 'receipt.ack', upTo: this.receiptAckPoint() });
  }

  /** What may be acknowledged: everything below the lowest missing number, else all recorded. */
  private receiptAckPoint(): number {
    let lowest = this.lastReceiptSeq + 1;
    for (const seq of this.missingReceipts) lowest = Math.min(lowest, seq);
    return lowest - 1;
  }

  /** Starts the engine on an offer; sealed offers stay sealed: only ciphertext passes through here. */
  private generate(offer: Extract<CoordinatorJobFrame, { type: 'job.offer' | 'job.sealed_offer' }>, onTokens: (count: number, delivered: boolean) => void) {
    const { jobId } = offer;
    let seq = 0;
    const cap = this.caps?.maxTokensPerSecond ?? undefined;
    const capped = cap ? { maxTokensPerSecond: cap } : {};
    // The prompt is claimed with the first chunk, so a job that ends before job.done still has it.
    let prompt: { promptTokens: number } | undefined;
    const onPrompt = (promptTokens: number) => (prompt = { promptTokens });
    const claimPrompt = () => {
      const claim = prompt;
      prompt = undefined;
      return claim ?? {};
    };
    if (offer.type === 'job.offer') {
      const continued = continuationOf(offer);
      return this.options.engine.generate(
        { jobId, messages: offer.messages, params: offer.params, ...(continued ? { continuation: continued } : {}), ...capped },
        (text, count, toolCalls, reasoning) => {
          onTokens(count, this.link.send({ type: 'job.chunk', jobId, seq: seq++, text, tokens: count, ...(toolCalls ? { toolCalls } : {}), ...(reasoning ? { reasoning } : {}), ...claimPrompt() }));
        },
        onPrompt,
      );
    }
    const sealed = { jobId, envelope: offer.envelope, workerId: this.options.workerId, coordinatorId: this.link.coordinatorId ?? '', model: this.options.model.id, ...capped };
    return this.options.engine.generateSealed(
      sealed,
      (chunk, count) => {
        onTokens(count, this.link.send({ type: 'job.sealed_chunk', jobId, ...chunk, tokens: count, ...claimPrompt() }));
      },
      onPrompt,
    );
  }

  private async run(offer: Extract<CoordinatorJobFrame, { type: 'job.offer' | 'job.sealed_offer' }>): Promise<void> {
    const { jobId } = offer;
    const model = offer.type === 'job.offer' ? offer.model : offer.envelope.model;
    this.running.add(jobId);
    this.link.send({ type: 'job.accept', jobId });
    this.emit('job-started', { jobId, model });
    this.options.logger.info({ jobId, model, sealed: offer.type === 'job.sealed_offer', continued: offer.type === 'job.offer' && continuationOf(offer) !== undefined }, 'job started');
    let tokens = 0;
    /** Tokens of chunks handed to an open connection: what a receipt of a failed job is compared with. */
    let delivered = 0;
    const started = performance.now();
    try {
      const result = await this.generate(offer, (count, sent) => {
        tokens += count;
        if (sent) delivered += count;
      });
      const doneSent = this.link.send({ type: 'job.done', jobId, finishReason: result.finishReason, usage: result.usage });
      // Receipts are checked against the answer as the network counts it (the model's tokenizer
      // over the text), not the engine's count, which a merged split can put above it; and only
      // against what reached the coordinator when the connection dropped on the way.
      const whole = doneSent && delivered === tokens;
      this.rememberUsage(jobId, { promptTokens: result.usage.promptTokens, completionTokens: whole ? result.countedCompletionTokens : Math.min(result.countedCompletionTokens, delivered) });
      this.counters.jobsServed++;
      this.options.logger.info({ jobId, finishReason: result.finishReason, ...result.usage, ms: Math.round(performance.now() - started) }, 'job served');
      this.counters.tokensGenerated += result.usage.completionTokens;
      this.emit('job-ended', { jobId, outcome: 'done', completionTokens: result.usage.completionTokens, durationMs: performance.now() - started });
    } catch (error) {
      let failure = error instanceof JobFailure ? error.error : { code: 'internal' as const, message: String(error) };
      if (this.preempted.has(jobId)) failure = { code: 'not_sharing', message: 'The owner needs the GPU; sharing paused.' };
      // A cancel (the client left, or the request timed out) crosses tokens still on the wire,
      // which nobody is billed for: only jobs that ended otherwise are compared with the receipt.
      // Chunks generated while the connection was down never reached the coordinator: not owed.
      if (failure.code !== 'cancelled') this.rememberUsage(jobId, { promptTokens: 0, completionTokens: delivered });
      this.link.send({ type: 'job.error', jobId, code: failure.code, message: failure.message });
      this.counters.jobsFailed++;
      this.options.logger.info({ jobId, code: failure.code, completionTokens: tokens }, 'job failed');
      this.emit('job-ended', { jobId, outcome: 'failed', completionTokens: tokens, durationMs: performance.now() - started, code: failure.code });
    } finally {
      this.running.delete(jobId);
      this.preempted.delete(jobId);
      if (this.running.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}
