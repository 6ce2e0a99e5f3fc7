/**
 * Several coordinator instances as one network, over a NATS message bus (`--bus nats://…`).
 *
 * Each instance keeps the WebSocket sessions of the workers connected to it and tells the others
 * what routing needs to know about them (presence). Every instance then routes over every
 * instance's workers: a worker on another instance is a RemoteWorker in the registry, and the
 * JobManager treats it as any other. What the JobManager sends it (offers, cancels, receipts)
 * travels to the instance holding its socket, which passes it on and sends the job's frames back
 * to the instance that started the job. The instance a client called keeps the job from start to
 * settlement: it meters, bills and judges from the frames it received, as it does for its own
 * workers.
 *
 * Subjects (JSON messages, each checked against its schema; a malformed one is dropped and logged):
 * - `silkworm.presence`: beats, and the routable state of each instance's workers when it changes;
 * - `silkworm.features`: with each beat, the message kinds beyond the first bus format that the
 *   instance reads (instances of an older build neither send nor hear it, and are sent only what
 *   they read);
 * - `silkworm.to.<instance>`: frames for a worker connected to that instance;
 * - `silkworm.from.<instance>`: a job's frames, back to the instance that started it; to an
 *   instance that reads `frames`, the frames of one turn of the event loop go in one message;
 * - `silkworm.ping.<instance>`: with each beat, a request each instance that reads `ping`
 *   answers at once. The round trip, smoothed, is what a job through the bus costs on top of
 *   its worker's own time (its offer goes there, its frames come back): routing adds it to a
 *   remote worker's expected time.
 *
 * The bus joins instances of one operator: it must be private to them (NATS credentials in the
 * URL). What workers send is checked where it arrives, on the socket, before it reaches the bus.
 * An instance whose beats stop (killed, cut off) is dropped after `3 × beatMs`: its workers leave
 * every registry, so the jobs they held move on to other workers, as when a worker is lost.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { workerFrameSchema, coordinatorFrameSchema, type CoordinatorFrame } from '../protocol/worker-frames.js';
import { tierSchema } from '../protocol/job-schemas.js';
import type { RegisteredWorker, RegisteredWorkerEvents, WorkerRegistry } from './worker-registry.js';
import { CLOSE_CODES, type WorkerJobFrame } from './worker-session.js';
import type { WorkerStandingFigures } from './store.js';
import type { Logger } from './log.js';

const SUBJECT = {
  presence: 'silkworm.presence',
  features: 'silkworm.features',
  to: (instance: string) => `silkworm.to.${instance}`,
  from: (instance: string) => `silkworm.from.${instance}`,
  ping: (instance: string) => `silkworm.ping.${instance}`,
};

/** Most worker states in one presence message (a message stays well under NATS's 1 MiB default). */
const STATES_PER_MESSAGE = 500;
/** How long a relayed job's slot stays taken after a cancel its worker never answers. */
const STOP_GRACE_MS = 30_000;
/** Every worker's state is published again this often, in case a message was lost. */
const FULL_SYNC_MS = 30_000;

/** How long closing waits for what is queued to reach the bus. */
const CLOSE_DRAIN_MS = 5_000;

/** Most job frames in one `frames` message. */
const FRAMES_PER_MESSAGE = 256;
/** A `frames` message is sent once its frames' JSON reaches this many characters (≤ 3 bytes each, under NATS's 1 MiB). */
const FRAMES_MESSAGE_CHARS = 256 * 1024;
/** The message kinds beyond the first bus format this build reads. */
const FEATURES = ['frames', 'ping'];
/** Weight of a new round-trip sample in a peer's smoothed figure. */
const RTT_WEIGHT = 0.25;

const idSchema = z.string().min(1).max(200);

/** What routing needs to know about a worker on another instance. */
const workerStateSchema = z.strictObject({
  id: idSchema,
  identityKey: z.string().max(100),
  models: z.array(z.tuple([idSchema, z.number().int().nonnegative()])).max(64),
  tier: tierSchema,
  available: z.boolean(),
  running: z.number().int().nonnegative().max(10_000),
  maxConcurrentJobs: z.number().int().nonnegative().max(10_000),
  reputation: z.number().min(0).max(1),
  ttftMs: z.number().nonnegative(),
  tokensPerSecond: z.number().nonnegative(),
  priceCoefficient: z.number().positive(),
  payoutAddress: z.string().max(100).optional(),
});
type WorkerState = z.infer<typeof workerStateSchema>;

const presenceSchema = z.discriminatedUnion('type', [
  /** `epoch` is new each time the instance starts: a restarted instance is a newcomer. */
  z.strictObject({ type: z.literal('beat'), instance: idSchema, epoch: idSchema }),
  z.strictObject({ type: z.literal('bye'), instance: idSchema }),
  z.strictObject({ type: z.literal('workers'), instance: idSchema, workers: z.array(workerStateSchema).max(STATES_PER_MESSAGE), gone: z.array(idSchema).max(STATES_PER_MESSAGE) }),
]);

const toWorkerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('send'), origin: idSchema, workerId: idSchema, frame: coordinatorFrameSchema }),
  z.strictObject({ kind: z.literal('eject'), origin: idSchema, workerId: idSchema }),
  /** The worker's standing as the sending instance just stored it (the bus joins trusted instances). */
  z.strictObject({
    kind: z.literal('record'),
    origin: idSchema,
    workerId: idSchema,
    standing: z.strictObject({
      identityKey: idSchema,
      reputation: z.number().min(0).max(1),
      ttftMs: z.number().nonnegative().max(1e9),
      tokensPerSecond: z.number().nonnegative().max(1e9),
      ejectedAt: z.number().int().nonnegative().nullable(),
    }),
  }),
]);

/** Sent with every beat; `epoch` ties it to the run of the instance its beats announced. */
const featuresSchema = z.strictObject({ instance: idSchema, epoch: idSchema, reads: z.array(z.string().max(64)).max(32) });

const relayedFrameSchema = z.strictObject({ workerId: idSchema, frame: workerFrameSchema });

const fromWorkerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('frame'), workerId: idSchema, frame: workerFrameSchema }),
  /** Several job frames, in the order they came (only to an instance whose features include `frames`). */
  z.strictObject({ kind: z.literal('frames'), frames: z.array(relayedFrameSchema).min(1).max(FRAMES_PER_MESSAGE) }),
  z.strictObject({ kind: z.literal('gone'), workerId: idSchema }),
]);
type FromWorkerMessage = { kind: 'frame'; workerId: string; frame: WorkerJobFrame } | { kind: 'gone'; workerId: string };

/** Options of the bus. */
export interface BusOptions {
  /** nats://[user:password@]host:port, several separated by commas. */
  url: string;
  /** This instance's id (its coordinatorId). */
  instance: string;
  registry: WorkerRegistry;
  logger: Logger;
  /** How often an instance says it is alive (default 1000 ms); it is dropped after 3 silent beats. */
  beatMs?: number;
  /** How often changed worker states are published (default 200 ms). */
  syncMs?: number;
}

/** A worker connected to another instance, as this instance routes to it. */
export class RemoteWorker extends EventEmitter<RegisteredWorkerEvents> implements RegisteredWorker {
  identityKey = '';
  models = new Set<string>();
  contextSizes = new Map<string, number>();
  tier: WorkerState['tier'] = 'unsandboxed';
  available = false;
  maxConcurrentJobs = 0;
  lastAssignedAt = 0;
  reputation = 0;
  ttftMs = 0;
  tokensPerSecond = 0;
  priceCoefficient = 1;
  payoutAddress: string | undefined;
  /** Jobs this instance has on the worker now (it counts them itself). */
  private own = 0;
  /** Jobs on the worker as its instance last published, less those this instance saw end since. */
  private published = 0;
  /** Sealed jobs go only to workers on the instance the client called (the envelope names it). */
  readonly descriptor = undefined;
  private ended = false;

  constructor(
    readonly id: string,
    readonly instance: string,
    private readonly bus: ClusterBus,
  ) {
    super();
  }

  /**
   * Jobs on the worker, as far as this instance can tell: never fewer than its own. Its instance
   * publishes a count a few hundred milliseconds old at best, which may not include the offers
   * this instance has just sent; taken as it comes, it would route offers the worker then
   * refuses as over capacity.
   */
  get running(): number {
    return Math.max(this.published, this.own);
  }

  /** The job manager counts a job taken (+1) or ended (−1); an end also comes off the published count. */
  set running(value: number) {
    const delta = value - this.running;
    this.own = Math.max(0, this.own + delta);
    if (delta < 0) this.published = Math.max(0, this.published + delta);
  }

  /** The bus's measured round trip to the worker's instance (0 until measured). */
  get relayMs(): number {
    return this.bus.roundTripMs(this.instance);
  }

  /** Takes the state its instance published; true when the models it offers changed. */
  update(state: WorkerState): boolean {
    const freed = (state.available && !this.available) || state.running < this.running;
    const modelsChanged = state.models.length !== this.models.size || state.models.some(([model]) => !this.models.has(model));
    this.identityKey = state.identityKey;
    this.models = new Set(state.models.map(([model]) => model));
    this.contextSizes = new Map(state.models);
    this.tier = state.tier;
    this.available = state.available;
    this.published = state.running;
    this.maxConcurrentJobs = state.maxConcurrentJobs;
    this.reputation = state.reputation;
    this.ttftMs = state.ttftMs;
    this.tokensPerSecond = state.tokensPerSecond;
    this.priceCoefficient = state.priceCoefficient;
    this.payoutAddress = state.payoutAddress;
    if (freed) this.emit('capacity');
    return modelsChanged;
  }

  send(frame: CoordinatorFrame): boolean {
    if (this.ended) return false;
    return this.bus.relay(this.instance, { kind: 'send', workerId: this.id, frame });
  }

  /** Only an ejection reaches the worker's own instance; any other close ends this view of it. */
  close(code: number, reason: string): void {
    if (code === CLOSE_CODES.ejected) this.bus.relay(this.instance, { kind: 'eject', workerId: this.id });
    this.end(reason);
  }

  /** The shared store has its new standing: mirror it here, and pass it to its instance (no store read there). */
  applyRecord(record: WorkerStandingFigures): void {
    this.reputation = record.ejectedAt === null ? record.reputation : 0;
    this.ttftMs = record.ttftMs;
    this.tokensPerSecond = record.tokensPerSecond;
    const { identityKey, reputation, ttftMs, tokensPerSecond, ejectedAt } = record;
    this.bus.relay(this.instance, { kind: 'record', workerId: this.id, standing: { identityKey, reputation, ttftMs, tokensPerSecond, ejectedAt } });
  }

  /** No longer reachable through its instance. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('closed', reason);
  }
}

/** A job this instance passes between a local worker and the instance that started it. */
interface Relayed {
  jobId: string;
  origin: string;
  worker: RegisteredWorker;
  stopTimer?: NodeJS.Timeout;
}

/** This instance's link to the others. */
export class ClusterBus {
  /** Peers heard from: when last, and which run of theirs. */
  private readonly seen = new Map<string, { at: number; epoch: string }>();
  private readonly epoch = randomUUID();
  private readonly published = new Map<string, string>();
  private readonly gone = new Set<string>();
  private readonly relayed = new Map<string, Relayed>();
  /** Peers (of the run they beat as now) that read `frames` messages. */
  private readonly readsFrames = new Set<string>();
  /** Peers (of the run they beat as now) that answer pings. */
  private readonly answersPings = new Set<string>();
  /** Each peer's smoothed round trip, in ms, once measured. */
  private readonly roundTrips = new Map<string, number>();
  /** Frames for each such peer waiting for the end of this turn of the event loop, as JSON, with their length. */
  private readonly outbox = new Map<string, { items: string[]; chars: number }>();
  private outboxFlush: NodeJS.Immediate | undefined;
  /**
   * Messages for workers on other instances, published together at the end of this turn of the
   * event loop: the NATS client then writes them to its socket in one go rather than one write
   * each (offers, receipts and standings each come from a callback of their own).
   */
  private toPeers: [subject: string, text: string][] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private closing = false;
  /** False while the connection to NATS is lost (the client reconnects by itself). */
  private linked = true;

  /** Whether this instance reaches the bus now: while it does not, it routes only to its own workers. */
  get connected(): boolean {
    return this.linked;
  }

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: BusOptions,
  ) {}

  /** Connects, joins the presence channel and starts publishing this instance's workers. */
  static async start(options: BusOptions): Promise<ClusterBus> {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: options.url.split(','), name: `silkworm-coordinator-${options.instance}`, maxReconnectAttempts: -1 });
    } catch (error) {
      throw new Error(`Cannot join the bus at ${redactBusUrl(options.url)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const bus = new ClusterBus(nc, options);
    bus.listen();
    return bus;
  }

  /** The smoothed round trip to a peer, in ms; 0 until measured (or for a peer that does not answer pings). */
  roundTripMs(peer: string): number {
    return this.roundTrips.get(peer) ?? 0;
  }

  /** Instances heard from within the last three beats (this one not included). */
  get peers(): string[] {
    return [...this.seen.keys()];
  }

  private get beatMs(): number {
    return this.options.beatMs ?? 1000;
  }

  private listen(): void {
    const { registry, instance, logger } = this.options;
    this.subscribe(SUBJECT.presence, presenceSchema, (message) => this.onPresence(message));
    this.subscribe(SUBJECT.features, featuresSchema, (message) => this.onFeatures(message));
    this.subscribe(SUBJECT.to(instance), toWorkerSchema, (message) => this.onToWorker(message));
    this.subscribe(SUBJECT.from(instance), fromWorkerSchema, (message) => this.onFromWorker(message));
    // Answered at once, with nothing: the round trip is the measure.
    this.nc.subscribe(SUBJECT.ping(instance), { callback: (error, msg) => void (error ? undefined : msg.respond()) });
    registry.on('added', (worker) => {
      if (worker.instance !== undefined) return;
      this.gone.delete(worker.id);
      worker.on('frame', (frame) => this.onLocalFrame(worker, frame));
    });
    registry.on('removed', (worker) => {
      if (worker.instance !== undefined) return;
      // The jobs other instances started on this connection are lost with it: they say so, and
      // those instances move the jobs on, as for a worker of their own that was lost.
      for (const [key, entry] of this.relayed) {
        if (entry.worker !== worker) continue;
        if (!entry.stopTimer) this.sendFrom(entry.origin, { kind: 'frame', workerId: worker.id, frame: { type: 'job.error', jobId: entry.jobId, code: 'worker_lost', message: 'The worker’s connection was lost.' } });
        this.dropRelay(key, entry, false);
      }
      if (registry.get(worker.id)) return; // it reconnected here already
      this.published.delete(worker.id);
      this.gone.add(worker.id);
    });
    const beat = () => {
      this.announce();
      const deadline = Date.now() - 3 * this.beatMs;
      for (const [peer, { at }] of this.seen) if (at < deadline) this.dropInstance(peer, 'its beats stopped');
      for (const peer of this.answersPings) this.ping(peer);
    };
    beat();
    this.timers.push(
      setInterval(beat, this.beatMs),
      setInterval(() => this.sync(false), this.options.syncMs ?? 200),
      setInterval(() => this.sync(true), FULL_SYNC_MS),
    );
    for (const timer of this.timers) timer.unref();
    void this.watchLink();
    void this.nc.closed().then((error) => {
      if (!this.closing) logger.error({ err: error ? String(error) : undefined }, 'the bus connection closed');
    });
    logger.info({ instance, bus: redactBusUrl(this.options.url) }, 'joined the bus');
  }

  /**
   * Follows the link to NATS. Once it is lost, the other instances are dropped at once, as when
   * their beats stop, rather than three beats later: meanwhile an offer to one of their workers
   * would wait and then fail, where now a job goes to a worker here or is refused as retryable.
   * Once the link is back it says goodbye and beats again: the others, which may not have
   * dropped it (a link lost for less than three of their beats), drop it and take it for a
   * newcomer, so they send it their workers again, and it takes theirs (newcomers to it too).
   */
  private async watchLink(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect' && this.linked) {
        this.linked = false;
        this.options.logger.warn({ bus: redactBusUrl(this.options.url) }, 'lost the bus; reconnecting (meanwhile only this instance’s workers are reachable)');
        for (const peer of [...this.seen.keys()]) this.dropInstance(peer, 'the bus is lost');
      } else if (status.type === 'reconnect' && !this.linked) {
        this.linked = true;
        this.options.logger.info({ bus: redactBusUrl(this.options.url) }, 'the bus is back');
        this.publish(SUBJECT.presence, { type: 'bye', instance: this.options.instance });
        this.announce();
      }
    }
  }

  /** Says this instance is here, which run it is, and what it reads. */
  private announce(): void {
    this.publish(SUBJECT.presence, { type: 'beat', instance: this.options.instance, epoch: this.epoch });
    this.publish(SUBJECT.features, { instance: this.options.instance, epoch: this.epoch, reads: FEATURES });
  }

  private subscribe<T>(subject: string, schema: z.ZodType<T>, handle: (message: T) => void): void {
    this.nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) return this.options.logger.error({ subject, err: String(error) }, 'bus subscription failed');
        let parsed: z.ZodSafeParseResult<T>;
        try {
          parsed = schema.safeParse(JSON.parse(msg.string()));
        } catch {
          return this.options.logger.warn({ subject, bytes: msg.data.length }, 'bus message is not JSON; dropped');
        }
        if (!parsed.success) return this.options.logger.warn({ subject, issue: parsed.error.issues[0]?.message, path: parsed.error.issues[0]?.path.join('.') }, 'malformed bus message; dropped');
        handle(parsed.data);
      },
    });
  }

  private publish(subject: string, message: unknown): boolean {
    return this.publishText(subject, JSON.stringify(message));
  }

  private publishText(subject: string, text: string): boolean {
    if (this.nc.isClosed()) return false;
    try {
      this.nc.publish(subject, text);
      return true;
    } catch (error) {
      this.options.logger.error({ subject, err: error instanceof Error ? error.message : String(error) }, 'bus publish failed');
      return false;
    }
  }

  /**
   * Sends a job's frame (or word that a worker is gone) back to the instance that started the
   * job. To a peer that reads `frames`, frames wait for the end of this turn of the event loop
   * and go together; anything else first sends what waits for that peer, so order is kept.
   */
  private sendFrom(origin: string, message: FromWorkerMessage): void {
    if (message.kind !== 'frame' || !this.readsFrames.has(origin)) {
      this.flushOutbox(origin);
      this.publish(SUBJECT.from(origin), message);
      return;
    }
    const item = JSON.stringify({ workerId: message.workerId, frame: message.frame });
    let waiting = this.outbox.get(origin);
    if (waiting && (waiting.items.length >= FRAMES_PER_MESSAGE || waiting.chars + item.length > FRAMES_MESSAGE_CHARS)) {
      this.flushOutbox(origin);
      waiting = undefined;
    }
    if (!waiting) this.outbox.set(origin, (waiting = { items: [], chars: 0 }));
    waiting.items.push(item);
    waiting.chars += item.length;
    this.flushAtEndOfTurn();
  }

  private flushAtEndOfTurn(): void {
    this.outboxFlush ??= setImmediate(() => {
      this.outboxFlush = undefined;
      for (const peer of [...this.outbox.keys()]) this.flushOutbox(peer);
      this.flushToPeers();
    });
  }

  private flushToPeers(): void {
    const waiting = this.toPeers;
    this.toPeers = [];
    for (const [subject, text] of waiting) this.publishText(subject, text);
  }

  private flushOutbox(origin: string): void {
    const waiting = this.outbox.get(origin);
    if (!waiting) return;
    this.outbox.delete(origin);
    this.publishText(SUBJECT.from(origin), `{"kind":"frames","frames":[${waiting.items.join(',')}]}`);
  }

  /** A peer says what it reads; taken only from the run its beats announced. */
  private onFeatures(message: z.infer<typeof featuresSchema>): void {
    if (message.instance === this.options.instance || this.seen.get(message.instance)?.epoch !== message.epoch) return;
    if (message.reads.includes('frames')) this.readsFrames.add(message.instance);
    else this.readsFrames.delete(message.instance);
    if (message.reads.includes('ping')) this.answersPings.add(message.instance);
    else this.answersPings.delete(message.instance);
  }

  /**
   * Measures the round trip to a peer. One that does not answer within a beat counts as a beat
   * away (its beats decide whether it is gone).
   */
  private ping(peer: string): void {
    if (this.nc.isClosed()) return;
    const sent = performance.now();
    const measured = (ms: number) => {
      if (!this.answersPings.has(peer)) return; // dropped meanwhile
      const before = this.roundTrips.get(peer);
      this.roundTrips.set(peer, before === undefined ? ms : before + RTT_WEIGHT * (ms - before));
    };
    this.nc.request(SUBJECT.ping(peer), undefined, { timeout: this.beatMs }).then(
      () => measured(performance.now() - sent),
      () => measured(this.beatMs),
    );
  }

  /** Passes something for a worker to the instance it is connected to (at the end of this turn, in order). */
  relay(owner: string, message: { kind: 'send'; workerId: string; frame: CoordinatorFrame } | { kind: 'eject'; workerId: string } | { kind: 'record'; workerId: string; standing: WorkerStandingFigures }): boolean {
    if (this.closing || this.nc.isClosed()) return false;
    this.toPeers.push([SUBJECT.to(owner), JSON.stringify({ ...message, origin: this.options.instance })]);
    this.flushAtEndOfTurn();
    return true;
  }

  /** Publishes the state of local workers that changed since last time (all of them when `full`). */
  private sync(full: boolean): void {
    const changed: WorkerState[] = [];
    for (const worker of this.options.registry.local()) {
      const state = stateOf(worker);
      const key = JSON.stringify(state);
      if (!full && this.published.get(worker.id) === key) continue;
      this.published.set(worker.id, key);
      changed.push(state);
    }
    const gone = [...this.gone];
    this.gone.clear();
    for (let i = 0; i < Math.max(changed.length, gone.length); i += STATES_PER_MESSAGE) {
      this.publish(SUBJECT.presence, { type: 'workers', instance: this.options.instance, workers: changed.slice(i, i + STATES_PER_MESSAGE), gone: gone.slice(i, i + STATES_PER_MESSAGE) });
    }
  }

  private onPresence(message: z.infer<typeof presenceSchema>): void {
    const peer = message.instance;
    if (peer === this.options.instance) return;
    if (message.type === 'bye') return this.dropInstance(peer, 'it left the bus');
    const known = this.seen.get(peer);
    if (message.type === 'workers') {
      // State from a peer not heard beating yet waits for its beat (which says which run it is).
      if (!known) return;
      known.at = Date.now();
    } else {
      if (known && known.epoch !== message.epoch) this.dropInstance(peer, 'it restarted');
      if (!this.seen.has(peer)) {
        this.options.logger.info({ peer }, 'instance joined');
        this.seen.set(peer, { at: Date.now(), epoch: message.epoch });
        // A newcomer knows nothing of our workers yet. It takes workers only from an instance
        // it has heard beating, so our beat goes first (on the same subject, from one
        // connection: NATS delivers them in order). Otherwise it would drop them and have them
        // only with our next full sync, up to FULL_SYNC_MS later, refusing requests meanwhile.
        this.announce();
        this.sync(true);
      } else if (known) known.at = Date.now();
      return;
    }
    const { registry } = this.options;
    for (const state of message.workers) {
      const current = registry.get(state.id);
      if (current && current.instance === undefined) continue; // connected here: our own session is the truth
      if (current instanceof RemoteWorker && current.instance === peer) {
        if (current.update(state)) registry.reindex(current);
        continue;
      }
      const remote = new RemoteWorker(state.id, peer, this);
      remote.update(state);
      registry.add(remote);
    }
    for (const id of message.gone) {
      const current = registry.get(id);
      if (current instanceof RemoteWorker && current.instance === peer) current.end(`it left instance ${peer}`);
    }
  }

  private dropInstance(peer: string, why: string): void {
    if (!this.seen.delete(peer)) return;
    // Its next run may be of another build: it says again what it reads.
    this.readsFrames.delete(peer);
    this.answersPings.delete(peer);
    this.roundTrips.delete(peer);
    this.outbox.delete(peer);
    this.options.logger.warn({ peer, why }, 'instance dropped; its workers leave routing');
    for (const worker of [...this.options.registry.all()]) if (worker instanceof RemoteWorker && worker.instance === peer) worker.end(`instance ${peer} is gone (${why})`);
    // Jobs it started on our workers have nobody to answer to: they stop, and their slots free
    // once the workers say so (or the grace passes).
    for (const [key, entry] of this.relayed) {
      if (entry.origin !== peer || entry.stopTimer) continue;
      entry.worker.send({ type: 'job.cancel', jobId: entry.jobId, reason: `instance ${peer} that started it is gone` });
      entry.stopTimer = setTimeout(() => this.dropRelay(key, entry, true), STOP_GRACE_MS);
      entry.stopTimer.unref();
    }
  }

  /** Another instance sends something to a worker connected here. */
  private onToWorker(message: z.infer<typeof toWorkerSchema>): void {
    const { registry, logger } = this.options;
    const worker = registry.get(message.workerId);
    if (!worker || worker.instance !== undefined) {
      // Not here (any more): the sender stops routing to it through us.
      this.sendFrom(message.origin, { kind: 'gone', workerId: message.workerId });
      return;
    }
    if (message.kind === 'eject') return worker.close(CLOSE_CODES.ejected, 'worker_ejected');
    if (message.kind === 'record') {
      const { standing } = message;
      // Figures of an identity the worker no longer has are stale: neither mirrored nor acted on.
      if (standing.identityKey !== worker.identityKey) return;
      worker.applyRecord(standing);
      if (standing.ejectedAt !== null) worker.close(CLOSE_CODES.ejected, 'worker_ejected');
      return;
    }
    const { frame } = message;
    if (frame.type === 'job.offer' || frame.type === 'job.sealed_offer') {
      this.relayed.set(relayKey(frame.jobId, worker.id), { jobId: frame.jobId, origin: message.origin, worker });
      worker.running++;
    } else if (frame.type === 'job.cancel') {
      const key = relayKey(frame.jobId, worker.id);
      const entry = this.relayed.get(key);
      if (entry && !entry.stopTimer) {
        entry.stopTimer = setTimeout(() => this.dropRelay(key, entry, true), STOP_GRACE_MS);
        entry.stopTimer.unref();
      }
    }
    if (!worker.send(frame)) {
      logger.warn({ workerId: worker.id, type: frame.type }, 'could not pass a frame to a worker');
      this.sendFrom(message.origin, { kind: 'gone', workerId: worker.id });
    }
  }

  /** A local worker's job frame: if another instance started that job, it goes back there. */
  private onLocalFrame(worker: RegisteredWorker, frame: WorkerJobFrame): void {
    const key = relayKey(frame.jobId, worker.id);
    const entry = this.relayed.get(key);
    if (!entry) return;
    this.sendFrom(entry.origin, { kind: 'frame', workerId: worker.id, frame });
    if (frame.type === 'job.done' || frame.type === 'job.error' || frame.type === 'job.reject') this.dropRelay(key, entry, true);
  }

  private dropRelay(key: string, entry: Relayed, freeSlot: boolean): void {
    if (this.relayed.get(key) !== entry) return;
    this.relayed.delete(key);
    clearTimeout(entry.stopTimer);
    if (!freeSlot) return;
    entry.worker.running = Math.max(0, entry.worker.running - 1);
    entry.worker.emit('capacity');
  }

  /** Job frames from a worker on another instance, for jobs started here. */
  private onFromWorker(message: z.infer<typeof fromWorkerSchema>): void {
    if (message.kind === 'frames') {
      for (const item of message.frames) this.onFromWorker({ kind: 'frame', ...item });
      return;
    }
    const worker = this.options.registry.get(message.workerId);
    if (!(worker instanceof RemoteWorker)) return;
    if (message.kind === 'gone') return worker.end('its instance no longer holds it');
    const { frame } = message;
    if (frame.type.startsWith('job.')) worker.emit('frame', frame as WorkerJobFrame);
  }

  /** Says goodbye (peers drop this instance's workers at once) and disconnects. */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    clearImmediate(this.outboxFlush);
    for (const peer of [...this.outbox.keys()]) this.flushOutbox(peer);
    this.flushToPeers();
    for (const entry of this.relayed.values()) clearTimeout(entry.stopTimer);
    this.relayed.clear();
    this.publish(SUBJECT.presence, { type: 'bye', instance: this.options.instance });
    for (const peer of [...this.seen.keys()]) this.dropInstance(peer, 'this instance is closing');
    // What waits is sent first (a drain) while the link is up, for at most a few seconds; without
    // a link, a drain would wait for a server that may never come back, and the instance with it.
    if (this.linked) await Promise.race([this.nc.drain().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, CLOSE_DRAIN_MS).unref())]);
    if (!this.nc.isClosed()) await this.nc.close().catch(() => undefined);
  }
}

/** The bus URL(s) without credentials, for logs and errors. */
export function redactBusUrl(url: string): string {
  return url
    .split(',')
    .map((u) => u.replace(/\/\/[^@/]*@/, '//***@'))
    .join(',');
}

function relayKey(jobId: string, workerId: string): string {
  return `${workerId}\u0000${jobId}`;
}

/** A local worker's routable state, as published. */
function stateOf(worker: RegisteredWorker): WorkerState {
  return {
    id: worker.id,
    identityKey: worker.identityKey,
    models: [...worker.contextSizes],
    tier: worker.tier,
    available: worker.available,
    running: worker.running,
    maxConcurrentJobs: worker.maxConcurrentJobs,
    reputation: worker.reputation,
    ttftMs: worker.ttftMs,
    tokensPerSecond: worker.tokensPerSecond,
    priceCoefficient: worker.priceCoefficient,
    ...(worker.payoutAddress ? { payoutAddress: worker.payoutAddress } : {}),
  };
}
