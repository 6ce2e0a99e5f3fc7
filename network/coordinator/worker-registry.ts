/** The set of connected, handshaken workers, keyed by worker id. */
import { EventEmitter } from 'node:events';
import { CLOSE_CODES, type WorkerJobFrame } from './worker-session.js';
import type { Tier } from '../protocol/job-schemas.js';
import type { CoordinatorFrame } from '../protocol/worker-frames.js';
import type { SignedDescriptor } from '../protocol/descriptor.js';
import type { WorkerStandingFigures } from './store.js';
import { canServe, type RoutableWorker, type RouteRequest } from './router.js';

/** What a registered worker emits: its job frames, a change of capacity, the end of its connection. */
export interface RegisteredWorkerEvents {
  frame: [WorkerJobFrame];
  capacity: [];
  closed: [reason: string];
}

/**
 * A worker jobs can be given to: a session on this instance's socket (worker-session.ts), or one
 * connected to another instance of the same network and reached over the bus (bus.ts).
 */
export interface RegisteredWorker extends RoutableWorker {
  on(event: 'frame', listener: (frame: WorkerJobFrame) => void): unknown;
  on(event: 'capacity', listener: () => void): unknown;
  once(event: 'closed', listener: (reason: string) => void): unknown;
  emit(event: 'capacity'): boolean;
  /** The Ed25519 key the worker proved in its hello (base64url). */
  identityKey: string;
  payoutAddress: string | undefined;
  descriptor: SignedDescriptor | undefined;
  /** The instance whose socket the worker is on; undefined = this one. */
  readonly instance: string | undefined;
  send(frame: CoordinatorFrame): boolean;
  close(code: number, reason: string): void;
  applyRecord(record: WorkerStandingFigures): void;
}

/** How long contextFor's answer is reused while no worker joins or leaves. */
const CONTEXT_CACHE_MS = 1000;

interface RegistryEvents {
  added: [RegisteredWorker];
  removed: [RegisteredWorker, string];
  capacity: [];
}

/** A model as the connected workers offer it. */
export interface OfferedModel {
  /** Largest context offered by a worker that may serve it now. */
  contextSize: number;
  workers: number;
  tiers: Set<Tier>;
}

/**
 * Holds one session per worker id. A session only reaches here after its hello proved the
 * identity key the id is bound to (worker-session.ts), so a newer session of the same id is the
 * same worker reconnecting and replaces the stale one; an impostor never gets this far.
 */
export class WorkerRegistry extends EventEmitter<RegistryEvents> {
  private readonly sessions = new Map<string, RegisteredWorker>();
  /** The workers offering each model, and the models (with contexts) each is indexed under. */
  private readonly byModel = new Map<string, Set<RegisteredWorker>>();
  private readonly indexedModels = new Map<RegisteredWorker, { model: string; context: number | undefined }[]>();
  /** The same workers by the context size each announced for the model (for contextFor). */
  private readonly byModelContext = new Map<string, Map<number, Set<RegisteredWorker>>>();
  /** byModel as arrays for routing, rebuilt when the model's set changes. */
  private readonly candidateArrays = new Map<string, RegisteredWorker[]>();
  private readonly contextCache = new Map<string, { at: number; value: number | undefined }>();

  /** Starts tracking a session; call once it is ready (its id is proven). */
  add(session: RegisteredWorker): void {
    const stale = this.sessions.get(session.id);
    if (stale && stale !== session) stale.close(CLOSE_CODES.replaced, 'replaced by a newer connection');
    this.sessions.set(session.id, session);
    this.reindex(session);
    session.on('capacity', () => this.emit('capacity'));
    session.once('closed', (reason) => {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
      this.unindex(session);
      this.emit('removed', session, reason);
    });
    this.emit('added', session);
  }

  /** Indexes a worker under the models it offers now (call again when they change). */
  reindex(worker: RegisteredWorker): void {
    this.unindex(worker);
    const indexed = [...worker.models].map((model) => ({ model, context: worker.contextSizes.get(model) }));
    for (const { model, context } of indexed) {
      let set = this.byModel.get(model);
      if (!set) this.byModel.set(model, (set = new Set()));
      set.add(worker);
      this.candidateArrays.delete(model);
      if (context === undefined) continue;
      let sizes = this.byModelContext.get(model);
      if (!sizes) this.byModelContext.set(model, (sizes = new Map()));
      let bucket = sizes.get(context);
      if (!bucket) sizes.set(context, (bucket = new Set()));
      bucket.add(worker);
    }
    this.indexedModels.set(worker, indexed);
    this.contextCache.clear();
  }

  private unindex(worker: RegisteredWorker): void {
    for (const { model, context } of this.indexedModels.get(worker) ?? []) {
      const set = this.byModel.get(model);
      set?.delete(worker);
      if (set?.size === 0) this.byModel.delete(model);
      this.candidateArrays.delete(model);
      const sizes = this.byModelContext.get(model);
      const bucket = context === undefined ? undefined : sizes?.get(context);
      bucket?.delete(worker);
      if (bucket?.size === 0 && context !== undefined) sizes?.delete(context);
      if (sizes?.size === 0) this.byModelContext.delete(model);
    }
    this.indexedModels.delete(worker);
    this.contextCache.clear();
  }

  /** The connected workers offering a model (on every instance), for routing. */
  candidates(model: string): readonly RegisteredWorker[] {
    let array = this.candidateArrays.get(model);
    if (!array) {
      array = [...(this.byModel.get(model) ?? [])];
      this.candidateArrays.set(model, array);
    }
    return array;
  }

  /** The session of a connected worker. */
  get(workerId: string): RegisteredWorker | undefined {
    return this.sessions.get(workerId);
  }

  /** Every connected worker. */
  all(): IterableIterator<RegisteredWorker> {
    return this.sessions.values();
  }

  /** Number of connected workers, on every instance. */
  get size(): number {
    return this.sessions.size;
  }

  /** Workers on this instance's own sockets. */
  *local(): IterableIterator<RegisteredWorker> {
    for (const s of this.sessions.values()) if (s.instance === undefined) yield s;
  }

  /** True when a connected worker could take this job once free (so it is worth queueing). */
  anyCanServe(request: Omit<RouteRequest, 'exclude' | 'maxTokens'> & { exclude?: ReadonlySet<string> }): boolean {
    for (const s of this.candidates(request.model)) if (!request.exclude?.has(s.id) && canServe(s, request)) return true;
    return false;
  }

  /**
   * Models served by connected workers that are sharing now and in good standing, with the
   * largest context among them. Unavailable or ejected workers change nothing a client sees.
   */
  models(): Map<string, OfferedModel> {
    const out = new Map<string, OfferedModel>();
    for (const model of this.byModel.keys()) {
      const offered = this.offered(model);
      if (offered) out.set(model, offered);
    }
    return out;
  }

  /** One model as models() describes it, looking only at the workers that offer it. */
  offered(model: string): OfferedModel | undefined {
    let found: OfferedModel | undefined;
    for (const s of this.candidates(model)) {
      const contextSize = s.contextSizes.get(model);
      if (!s.available || s.reputation <= 0 || contextSize === undefined) continue;
      found ??= { contextSize: 0, workers: 0, tiers: new Set<Tier>() };
      found.tiers.add(s.tier);
      found.contextSize = Math.max(found.contextSize, contextSize);
      found.workers++;
    }
    return found;
  }

  /**
   * The largest context a job for `model` can get from a worker that could take it (in standing,
   * within tier and price cap), preferring workers sharing now. Routing then sends the job only
   * to a worker whose own context fits it, so one worker's announcement admits only jobs that
   * worker alone would serve, and a worker that is not sharing changes nothing.
   */
  contextFor(model: string, minTier: Tier, maxCoefficient: number): number | undefined {
    // Asked for every request: kept for a second while no worker joins or leaves, since
    // scanning a large fleet per request would cost more than the answer is worth (routing
    // still checks each worker's own context).
    const key = `${model}\u0000${minTier}\u0000${maxCoefficient}`;
    const now = Date.now();
    const cached = this.contextCache.get(key);
    if (cached && now - cached.at < CONTEXT_CACHE_MS) return cached.value;
    const value = this.scanContext(model, minTier, maxCoefficient);
    if (this.contextCache.size >= 1000) this.contextCache.clear();
    this.contextCache.set(key, { at: now, value });
    return value;
  }

  /**
   * Walks the model's workers from the largest announced context down and stops at the first
   * that could take the job and is sharing: in a fleet mostly sharing that is a few workers,
   * not all of them (a full pass over 12,000 blocked the event loop for tens of ms).
   */
  private scanContext(model: string, minTier: Tier, maxCoefficient: number): number | undefined {
    const sizes = this.byModelContext.get(model);
    if (!sizes) return undefined;
    const request = { model, minTier, maxCoefficient, contextNeeded: 0 };
    let any: number | undefined;
    for (const size of [...sizes.keys()].sort((a, b) => b - a)) {
      for (const s of sizes.get(size) ?? []) {
        if (!canServe(s, request)) continue;
        if (s.available) return size;
        any ??= size;
      }
    }
    return any;
  }


  /** Closes every session (coordinator shutdown). */
  closeAll(): void {
    for (const s of [...this.sessions.values()]) s.close(CLOSE_CODES.shuttingDown, 'coordinator shutting down');
  }
}
