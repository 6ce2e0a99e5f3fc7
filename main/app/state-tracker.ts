/**
 * Watches the worker core (Worker, EngineSupervisor, SharingController events) and keeps the
 * views the dashboard shows: link status, current and last job, session counters, GPU
 * readings. Emits each change as a push of the IPC contract.
 */
import { EventEmitter } from 'node:events';
import type { WorkerCore } from '../worker/worker-core.js';
import type { SharingSnapshot } from '../sharing/sharing-controller.js';
import type { GpuDevice } from '../sharing/signals.js';
import type { CheckFailed, Refusal } from '../worker/coordinator-link.js';
import { explainFailedCheck, explainRefusal } from './refusal-words.js';
import type { AppState, CurrentJob, FinishedJob, GpuView, JobEvent, SessionEarnings, SharingView, WorkerView } from '../ipc/views.js';
import { explainSharing, switchLabel } from './sharing-words.js';
import type { SharingMode } from '../sharing/settings.js';

/** The pushes this tracker emits, by contract push name. */
export interface TrackerEvents {
  state: [AppState];
  job: [JobEvent];
  session: [SessionEarnings];
}

/** Failure codes of a job stopped for the owner or by a dropped link: the network finished it elsewhere. */
const INTERRUPTED = new Set(['not_sharing', 'cancelled', 'worker_lost']);

/** The hottest GPU of a reading, or null when there is no GPU telemetry. */
export function gpuView(snapshot: SharingSnapshot): GpuView | null {
  const devices = snapshot.signals?.gpu?.devices ?? [];
  if (devices.length === 0) return null;
  const hottest = devices.reduce<GpuDevice>((a, b) => ((b.tempC ?? -1) > (a.tempC ?? -1) ? b : a), devices[0] as GpuDevice);
  return {
    name: hottest.name,
    tempC: hottest.tempC,
    memoryUsedMb: hottest.memoryUsedMb,
    memoryTotalMb: hottest.memoryTotalMb,
    powerW: hottest.powerW,
    utilizationPercent: hottest.utilizationPercent,
  };
}

/** The sharing part of the state, with its plain sentence, one-click fix and the switch's label. */
export function sharingView(snapshot: SharingSnapshot, resumeMode: Exclude<SharingMode, 'off'>): SharingView {
  const { decision } = snapshot;
  const { sentence, fix } = explainSharing(decision);
  const switchMode = snapshot.mode === 'off' ? resumeMode : snapshot.mode;
  return { mode: snapshot.mode, resumeMode, switchLabel: switchLabel(switchMode), state: decision.state, share: decision.share, summary: decision.summary, sentence, fix, reasons: decision.reasons, since: decision.since, caps: decision.caps };
}

/** Follows one worker core and keeps its views. */
export class StateTracker extends EventEmitter<TrackerEvents> {
  private readonly since: number;
  private link: WorkerView;
  private readonly running = new Map<string, CurrentJob>();
  private lastJob: FinishedJob | null = null;
  private readonly recentJobs: FinishedJob[] = [];
  private receipts = 0;
  private reportedNanotons = 0n;
  /** Of the last snapshot taken (`state()`): answers and pushes are ordered by it. */
  private revision = 0;
  private readonly detach: (() => void)[] = [];
  /** The last mode other than Off: what the switch turns back on. */
  private resumeMode: Exclude<SharingMode, 'off'> = 'idle';

  constructor(
    private readonly core: WorkerCore,
    coordinatorUrl: string,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.since = now();
    const { worker, engine, sharing } = core;
    this.link = { status: worker.link.connected ? 'connected' : 'connecting', workerId: core.workerId, coordinator: coordinatorUrl, lastError: null, failedCheck: null };
    this.listen(worker, 'connected', () => {
      // Welcomed after a refusal: the operator took the identity back, and its strikes with it.
      const identityBack = this.link.status === 'refused' && (this.link.refusalCode === 'worker_ejected' || this.link.refusalCode === 'identity_mismatch');
      const failedCheck = identityBack ? null : this.link.failedCheck;
      this.link = { status: 'connected', workerId: this.link.workerId, coordinator: this.link.coordinator, lastError: null, failedCheck };
      this.emitState();
    });
    this.listen(worker, 'check-failed', (check: CheckFailed) => {
      const words = explainFailedCheck(check);
      const last = this.link.failedCheck;
      // The same notice again (a coordinator repeating itself) changes nothing the page shows.
      if (last && last.sentence === words.sentence && last.strikes === check.strikes) return;
      this.link = { ...this.link, failedCheck: { ...words, strikes: check.strikes, ejectAt: check.ejectAt, at: this.now() } };
      this.emitState();
    });
    this.listen(worker, 'disconnected', (reason: string) => {
      // A refusal stands until the coordinator welcomes this worker again.
      if (this.link.status === 'refused') return;
      this.link = { ...this.link, status: 'connecting', lastError: reason || 'connection closed' };
      this.emitState();
    });
    this.listen(worker, 'refused', (refusal: Refusal) => {
      const { title, sentence } = explainRefusal(refusal);
      if (this.link.status === 'refused' && this.link.lastError === sentence) return;
      this.link = { ...this.link, status: 'refused', lastError: sentence, refusal: title, refusalCode: refusal.code };
      this.emitState();
    });
    this.listen(worker, 'job-started', (event: { jobId: string; model: string }) => {
      const job = { jobId: event.jobId, model: event.model, startedAt: this.now() };
      this.running.set(event.jobId, job);
      this.emit('job', { phase: 'started', job });
      this.emitState();
    });
    this.listen(worker, 'job-ended', (event: { jobId: string; outcome: 'done' | 'failed'; completionTokens: number; code?: string }) => {
      const endedAt = this.now();
      const started = this.running.get(event.jobId);
      this.running.delete(event.jobId);
      const durationMs = endedAt - (started?.startedAt ?? endedAt);
      this.lastJob = {
        jobId: event.jobId,
        model: started?.model ?? '',
        outcome: event.outcome === 'failed' && event.code !== undefined && INTERRUPTED.has(event.code) ? 'interrupted' : event.outcome,
        completionTokens: event.completionTokens,
        durationMs,
        tokensPerSecond: durationMs >= 5 ? Math.round((event.completionTokens * 1000) / durationMs) : null,
        endedAt,
      };
      this.recentJobs.push(this.lastJob);
      if (this.recentJobs.length > 30) this.recentJobs.shift();
      this.emit('job', { phase: 'ended', job: this.lastJob });
      this.emit('session', this.session());
      this.emitState();
    });
    this.listen(worker, 'receipt', (receipt: { earnedNanotons: string }) => {
      this.receipts += 1;
      if (/^\d+$/.test(receipt.earnedNanotons)) this.reportedNanotons += BigInt(receipt.earnedNanotons);
      this.emit('session', this.session());
    });
    for (const event of ['paused', 'resumed'] as const) this.listen(worker, event, () => this.emitState());
    for (const event of ['ready', 'crashed'] as const) this.listen(engine, event, () => this.emitState());
    this.listen(sharing, 'update', () => this.emitState());
  }

  private listen(emitter: EventEmitter, event: string, listener: Parameters<EventEmitter['on']>[1]): void {
    emitter.on(event, listener);
    this.detach.push(() => emitter.off(event, listener));
  }

  private emitState(): void {
    this.emit('state', this.state());
  }

  /** The dashboard state now. */
  state(): AppState {
    const { engine, sharing } = this.core;
    const snapshot = sharing.snapshot();
    if (snapshot.mode !== 'off') this.resumeMode = snapshot.mode;
    const info = engine.info;
    const job = [...this.running.values()].at(-1) ?? null;
    return {
      sharing: sharingView(snapshot, this.resumeMode),
      worker: this.link,
      engine: info ? { loaded: true, gpu: info.gpu, tokensPerSecond: info.tokensPerSecond, contextSize: info.contextSize } : null,
      job,
      lastJob: this.lastJob,
      gpu: gpuView(snapshot),
      updatedAt: this.now(),
      revision: ++this.revision,
    };
  }

  /** This session's counters. */
  session(): SessionEarnings {
    const { counters } = this.core.worker;
    return {
      since: this.since,
      jobsServed: counters.jobsServed,
      jobsFailed: counters.jobsFailed,
      jobsRejected: counters.jobsRejected,
      tokensGenerated: counters.tokensGenerated,
      sharedMs: this.core.sharing.snapshot().counters.sharedMs,
      receipts: this.receipts,
      reportedNanotons: this.reportedNanotons.toString(),
      recentJobs: [...this.recentJobs],
    };
  }

  /** Stops following the core. */
  close(): void {
    for (const stop of this.detach.splice(0)) stop();
  }
}
