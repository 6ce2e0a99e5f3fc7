/**
 * One connected worker as the coordinator sees it: the WebSocket, the handshake, heartbeats,
 * and the frames it sends, already validated. Jobs are the JobManager's business.
 */
import { EventEmitter } from 'node:events';
import { Address } from '@ton/core';
import { randomBytes } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import { workerFrameSchema, type CoordinatorFrame, type WorkerFrame, type Capabilities, type Tier, type WorkerModel } from '../protocol/worker-frames.js';
import { CHALLENGE_BYTES, verifyHello } from '../protocol/worker-hello.js';
import { toBase64Url } from '../protocol/encoding.js';
import { StoreUnavailableError, type KeyBinding, type WorkerStandingFigures } from './store.js';
import { decodeFrame, encodeFrame } from '../protocol/frame-codec.js';
import type { ErrorCode } from '../protocol/errors.js';
import { NODE_ED25519 } from '../node-kit/ed25519.js';
import { FRAME_SINCE, forVersion, negotiateVersion, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';
import type { RoutableWorker } from './router.js';
import { isFriendlyAddress } from '../protocol/voucher.js';
import { verifyDescriptor, type SignedDescriptor } from '../protocol/descriptor.js';
import type { Logger } from './log.js';

/** What an ejected worker is told, on the connection it loses and on every later hello. */
export const EJECTED_MESSAGE = 'This worker failed too many checks of its answers (spot checks or probes) and is no longer accepted on this network.';

/** What a worker is told when one of its answers fails a check (protocol 3 and later). */
export const CHECK_FAILED_MESSAGE = 'A spot check or probe re-scored one of your answers with the model, and it did not match.';

/** Close codes used on worker sockets (4000–4999 are application codes). */
export const CLOSE_CODES = {
  incompatible: 4001,
  badFrame: 4002,
  handshakeTimeout: 4003,
  heartbeatTimeout: 4004,
  replaced: 4005,
  shuttingDown: 4006,
  identity: 4007,
  ejected: 4008,
  /** The store could not be reached to check the worker's identity. */
  unavailable: 4009,
  /** More control frames than FRAME_BUDGETS allows. */
  tooManyFrames: 4010,
} as const;

/**
 * How many of each control frame a worker may send: a burst, then a steady rate (a token
 * bucket per connection). Each costs the coordinator more than the frame costs its sender (a
 * signature check, a database read or write, a log line, a round of routing), so a stranger's
 * PC must not send them without end. A real worker stays far below: it sends its availability
 * when sharing changes, its descriptor at connect and every few hours, asks for receipts when it
 * connects and then a batch at a time, and acknowledges each receipt once. Past its budget the
 * worker is told so and closed (it may connect again). Job frames are bounded by their jobs.
 */
export const FRAME_BUDGETS: Readonly<Partial<Record<WorkerFrame['type'], { burst: number; perSecond: number }>>> = {
  ping: { burst: 10, perSecond: 1 },
  // One per ping of the coordinator's (every 5 s at most).
  pong: { burst: 10, perSecond: 1 },
  // Counted only when it changes (the same availability again is ignored).
  capacity: { burst: 20, perSecond: 1 },
  descriptor: { burst: 5, perSecond: 0.1 },
  error: { burst: 20, perSecond: 1 },
  'receipts.request': { burst: 20, perSecond: 2 },
  // One per receipt: a worker catching up records (and acknowledges) resent batches of 500 at once.
  'receipt.ack': { burst: 1000, perSecond: 1000 },
};

/** One control frame's budget on one connection: what is left, and when it was last topped up. */
interface Bucket {
  left: number;
  at: number;
}

/** Frames a worker sends once the handshake is done (everything but hello and heartbeats). */
export type WorkerJobFrame = Extract<WorkerFrame, { type: `job.${string}` }>;

/** How often workers are pinged; every value in ms. */
export interface HeartbeatSchedule {
  idleMs: number;
  busyMs: number;
}

/** Idle workers' ping interval by default: ~800 pings a second for a fleet of 12,000. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Workers with a job in flight are pinged at least this often. */
export const DEFAULT_BUSY_HEARTBEAT_MS = 5_000;

/**
 * The ping schedule for an idle interval (and optionally a busy one). Most of a large fleet is
 * idle at any moment, so its pings are most of the coordinator's socket writes; a worker with a
 * job in flight is pinged more often, so one that goes silent mid-job is dropped (and its job
 * moved) as soon as before. The idle interval is rounded to a whole number of busy ones, since
 * one timer ticks at the busy interval.
 */
export function heartbeatSchedule(idleMs = DEFAULT_HEARTBEAT_MS, busyMs = DEFAULT_BUSY_HEARTBEAT_MS): HeartbeatSchedule {
  const busy = Math.min(busyMs, idleMs);
  return { busyMs: busy, idleMs: busy * Math.max(1, Math.round(idleMs / busy)) };
}

/** Settings shared by every session. */
export interface SessionOptions {
  coordinatorId: string;
  /**
   * Heartbeats (see `heartbeatSchedule`): a worker holding a job is pinged every `busyMs`, an
   * idle one every `idleMs` (a whole number of `busyMs`, announced in welcome as the longest gap).
   */
  heartbeat: HeartbeatSchedule;
  handshakeTimeoutMs: number;
  maxFrameBytes: number;
  logger: Logger;
  /**
   * Binds a worker id to the identity key that proved it (durably, in the store); a promise where
   * the store answers over the network, so a crowd of workers reconnecting never stalls the others.
   */
  bindIdentity: (workerId: string, identityKey: string) => KeyBinding | Promise<KeyBinding>;
  /** Whether an announced model may be served here: true, or why not (a catalog mismatch). */
  acceptModel: (model: WorkerModel) => true | string;
  /** What welcome tells every worker about settlement and prices. */
  welcome: () => Pick<Extract<CoordinatorFrame, { type: 'welcome' }>, 'settlement' | 'pricing'>;
}

interface SessionEvents {
  ready: [];
  frame: [WorkerJobFrame];
  /** The worker durably recorded receipts up to this number. */
  ack: [upTo: number];
  /** The worker asks for every receipt numbered above this. */
  resend: [after: number];
  capacity: [];
  /** The worker reported an error (with this code), as it left or otherwise. */
  reported: [code: ErrorCode];
  closed: [reason: string];
}

/** A worker connection; emits `ready` after a good hello, then `frame`, `capacity`, `closed`. */
export class WorkerSession extends EventEmitter<SessionEvents> implements RoutableWorker {
  /** On this instance's own socket. */
  readonly instance = undefined;
  id = '';
  /** The Ed25519 key this session proved (base64url). */
  identityKey = '';
  models: Set<string> = new Set();
  contextSizes: Map<string, number> = new Map();
  capabilities: Capabilities | undefined;
  tier: Tier = 'unsandboxed';
  available = false;
  running = 0;
  maxConcurrentJobs = 0;
  /** Round-trip time of the coordinator's own pings (diagnostics only: never routed on). */
  rttMs = 0;
  lastAssignedAt = 0;
  /** Mirrors of the durable record (worker-standing.ts), read by the router. */
  reputation = 0;
  ttftMs = 0;
  tokensPerSecond = 0;
  appVersion = '';
  payoutAddress: string | undefined;
  priceCoefficient = 1;
  /** The worker's latest verified descriptor (sealed mode), if it sent one. */
  descriptor: SignedDescriptor | undefined;
  private readonly nonce = toBase64Url(randomBytes(CHALLENGE_BYTES));
  private readonly pingsSent = new Map<number, number>();
  private readonly budgets = new Map<WorkerFrame['type'], Bucket>();
  private pingSeq = 0;
  private lastHeardAt = Date.now();
  /** Heartbeat ticks since the last ping, and since when the worker has held a job (at a tick). */
  private ticksSincePing = 0;
  private busySince: number | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: SessionOptions,
  ) {
    super();
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', (code, reason) => this.finish(`socket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`));
    socket.on('error', (error) => this.options.logger.warn({ err: error.message, workerId: this.id }, 'worker socket error'));
    this.handshakeTimer = setTimeout(() => this.close(CLOSE_CODES.handshakeTimeout, 'no hello in time'), options.handshakeTimeoutMs);
    // Every connection starts with a fresh challenge: hello must sign it (worker-hello.ts).
    this.send({ type: 'challenge', coordinatorId: options.coordinatorId, nonce: this.nonce });
  }

  /** False once the connection closed (or is closing). */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** Takes the router's view of this worker from its durable record. */
  applyRecord(record: WorkerStandingFigures): void {
    this.reputation = record.ejectedAt === null ? record.reputation : 0;
    this.ttftMs = record.ttftMs;
    this.tokensPerSecond = record.tokensPerSecond;
  }

  /** Sends a frame; false when the socket is gone or the frame is too large. */
  send(frame: CoordinatorFrame): boolean {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return false;
    // A worker on an older protocol never gets a frame it would not understand.
    if ((FRAME_SINCE[frame.type] ?? 0) > this.version) return false;
    const encoded = encodeFrame(forVersion(frame, this.version), this.options.maxFrameBytes);
    if (!encoded.ok) {
      this.options.logger.error({ workerId: this.id, code: encoded.error.code }, encoded.error.message);
      return false;
    }
    this.socket.send(encoded.value);
    return true;
  }

  /** Closes the connection with an application close code. */
  close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, reason);
    }
    // A peer that never answers the close handshake must not keep the session half-alive.
    setTimeout(() => this.socket.terminate(), 1000).unref();
    this.finish(reason);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    // Frames still arriving after the close was decided are not read (nor logged, nor answered).
    if (this.closed) return;
    this.lastHeardAt = Date.now();
    // ws hands over a Buffer (its default binaryType); only other shapes are copied into one.
    const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const decoded = isBinary
      ? ({ ok: false, error: { code: 'bad_frame', message: 'Binary frames are not part of the protocol.' } } as const)
      : decodeFrame(workerFrameSchema, buffer.toString('utf8'), buffer.length, this.options.maxFrameBytes);
    if (!decoded.ok) {
      this.options.logger.warn({ workerId: this.id, code: decoded.error.code }, decoded.error.message);
      this.send({ type: 'error', code: decoded.error.code, message: decoded.error.message });
      this.close(CLOSE_CODES.badFrame, decoded.error.code);
      return;
    }
    const frame = decoded.value;
    if (!this.id && frame.type !== 'hello') {
      this.protocolViolation(`expected hello, got ${frame.type}`);
      return;
    }
    // Availability said again as it stands changes nothing: not read further, so not counted either.
    if (frame.type === 'capacity' && frame.available === this.available) return;
    if (!this.withinBudget(frame.type)) return;
    switch (frame.type) {
      case 'hello':
        this.onHello(frame);
        return;
      case 'ping':
        this.send({ type: 'pong', seq: frame.seq, sentAt: frame.sentAt });
        return;
      case 'pong': {
        // Timed from our own record of when the ping left: the echoed sentAt is the worker's word.
        const sentAt = this.pingsSent.get(frame.seq);
        this.pingsSent.delete(frame.seq);
        if (sentAt !== undefined) this.rttMs = 0.8 * this.rttMs + 0.2 * (performance.now() - sentAt);
        return;
      }
      case 'capacity':
        this.available = frame.available;
        this.emit('capacity');
        return;
      case 'error':
        // The worker's words stay in a field of their own: never the log line's message.
        this.options.logger.warn({ workerId: this.id, code: frame.code, said: frame.message }, 'worker reported an error');
        this.emit('reported', frame.code);
        return;
      case 'descriptor':
        this.onDescriptor(frame.signed);
        return;
      case 'receipt.ack':
        this.emit('ack', frame.upTo);
        return;
      case 'receipts.request':
        this.emit('resend', frame.after);
        return;
      default:
        this.emit('frame', frame);
    }
  }

  /** True from a valid hello until its identity is bound (the store may answer later). */
  private binding = false;
  /** The protocol version agreed in hello (the oldest spoken until then). */
  private version = MIN_PROTOCOL_VERSION;

  private onHello(frame: Extract<WorkerFrame, { type: 'hello' }>): void {
    if (this.id || this.binding) {
      this.protocolViolation('hello sent twice');
      return;
    }
    const match = negotiateVersion(frame.protocol);
    if (!match.ok) {
      this.send({ type: 'incompatible', code: match.code, supported: { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION }, message: match.message });
      this.close(CLOSE_CODES.incompatible, match.code);
      return;
    }
    const statement = { coordinatorId: this.options.coordinatorId, nonce: this.nonce, workerId: frame.workerId, identityKey: frame.identityKey, payoutAddress: frame.payoutAddress ?? null };
    // OpenSSL's Ed25519: the pure-JS default took tens of ms a hello, and thousands join at once.
    if (!verifyHello(statement, frame.signature, NODE_ED25519)) {
      this.refuse('identity_mismatch', CLOSE_CODES.identity, `The hello of ${frame.workerId} is not signed by its identity key over this connection's challenge.`);
      return;
    }
    const bound = this.options.bindIdentity(frame.workerId, frame.identityKey);
    if (!(bound instanceof Promise)) return this.onBound(frame, match.version, bound);
    this.binding = true;
    bound.then(
      (binding) => {
        this.binding = false;
        // The worker may have gone (or timed out) while the store answered.
        if (!this.closed) this.onBound(frame, match.version, binding);
      },
      (error: unknown) => {
        this.binding = false;
        this.options.logger.error({ workerId: frame.workerId, err: error instanceof Error ? error.message : String(error) }, 'binding a worker identity failed');
        // The worker reconnects (with backoff), as after any close.
        this.close(CLOSE_CODES.unavailable, error instanceof StoreUnavailableError ? 'the coordinator cannot reach its database; reconnect' : 'identity check failed; reconnect');
      },
    );
  }

  /** The rest of a hello, once its identity is bound: refused, or welcomed. */
  private onBound(frame: Extract<WorkerFrame, { type: 'hello' }>, version: number, binding: KeyBinding): void {
    if (binding.status === 'mismatch') {
      this.refuse('identity_mismatch', CLOSE_CODES.identity, `Worker id ${frame.workerId} belongs to another identity key; pick a new id.`);
      return;
    }
    if (binding.status === 'ejected') {
      this.refuse('worker_ejected', CLOSE_CODES.ejected, EJECTED_MESSAGE);
      return;
    }
    clearTimeout(this.handshakeTimer);
    this.version = version;
    this.id = frame.workerId;
    this.identityKey = frame.identityKey;
    this.applyRecord(binding.record);
    this.appVersion = frame.appVersion;
    this.capabilities = frame.capabilities;
    for (const model of frame.capabilities.models) {
      const accepted = this.options.acceptModel(model);
      if (accepted === true) {
        this.models.add(model.id);
        this.contextSizes.set(model.id, model.contextSize);
      } else {
        this.send({ type: 'error', code: 'unknown_model', message: accepted });
      }
    }
    this.tier = frame.capabilities.tier;
    this.maxConcurrentJobs = frame.capabilities.maxConcurrentJobs;
    this.available = frame.available;
    this.priceCoefficient = frame.capabilities.priceCoefficient;
    if (frame.payoutAddress !== undefined) {
      // The vault pays basechain addresses only (a masterchain payout costs it ~10× in fees).
      if (isFriendlyAddress(frame.payoutAddress) && Address.parseFriendly(frame.payoutAddress).address.workChain === 0) this.payoutAddress = frame.payoutAddress;
      else this.send({ type: 'error', code: 'invalid_request', message: `Payout address '${frame.payoutAddress}' is not a valid basechain TON address; earnings are kept by worker id until it is fixed.` });
    }
    this.send({
      type: 'welcome',
      protocol: version,
      coordinatorId: this.options.coordinatorId,
      heartbeatIntervalMs: this.options.heartbeat.idleMs,
      maxFrameBytes: this.options.maxFrameBytes,
      ...this.options.welcome(),
    });
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeat.busyMs);
    this.ping();
    this.emit('ready');
  }

  private refuse(code: 'identity_mismatch' | 'worker_ejected', closeCode: number, message: string): void {
    this.options.logger.warn({ code }, message);
    this.send({ type: 'error', code, message });
    this.close(closeCode, code);
  }

  private onDescriptor(signed: unknown): void {
    const checked = verifyDescriptor(signed);
    let problem = checked.ok ? undefined : checked.error.message;
    if (checked.ok && checked.value.workerId !== this.id) problem = 'The descriptor names another worker.';
    if (checked.ok && !problem && checked.value.identityKey !== this.identityKey) problem = 'The descriptor is signed by another key than the one this worker proved in hello.';
    if (!checked.ok || problem) {
      this.options.logger.warn({ workerId: this.id, problem }, 'descriptor refused');
      this.send({ type: 'error', code: 'invalid_request', message: `Descriptor refused: ${problem ?? 'invalid'}` });
      return;
    }
    this.descriptor = { descriptor: checked.value, signature: (signed as SignedDescriptor).signature };
  }

  /**
   * One heartbeat tick (every busy interval). A worker is dropped after three of its intervals
   * without a word: counted from the last frame heard, or, for one that holds a job, from when
   * this tick first saw it busy if that is later (it was idle, so heard from less often, before).
   */
  private beat(): void {
    const now = Date.now();
    const { idleMs, busyMs } = this.options.heartbeat;
    const busy = this.running > 0;
    this.busySince = busy ? (this.busySince ?? now) : undefined;
    const silentMs = now - Math.max(this.lastHeardAt, this.busySince ?? 0);
    if (silentMs > 3 * (busy ? busyMs : idleMs)) {
      this.socket.terminate();
      this.finish('heartbeat timeout');
      return;
    }
    this.ticksSincePing++;
    if (busy || this.ticksSincePing * busyMs >= idleMs) this.ping();
  }

  private ping(): void {
    this.ticksSincePing = 0;
    const seq = this.pingSeq++;
    this.pingsSent.set(seq, performance.now());
    // Unanswered pings are forgotten after a while, so a silent worker cannot grow this map.
    for (const old of this.pingsSent.keys()) if (old < seq - 8) this.pingsSent.delete(old);
    this.send({ type: 'ping', seq, sentAt: Date.now() });
  }

  /** Takes one frame of `type` from its budget (FRAME_BUDGETS); past it, the worker is told so and closed. */
  private withinBudget(type: WorkerFrame['type']): boolean {
    const budget = FRAME_BUDGETS[type];
    if (!budget) return true;
    const now = performance.now();
    const bucket = this.budgets.get(type) ?? { left: budget.burst, at: now };
    bucket.left = Math.min(budget.burst, bucket.left + ((now - bucket.at) / 1000) * budget.perSecond);
    bucket.at = now;
    this.budgets.set(type, bucket);
    if (bucket.left >= 1) {
      bucket.left -= 1;
      return true;
    }
    const message = `Too many '${type}' frames: at most ${budget.burst} at once, then ${budget.perSecond} a second.`;
    this.options.logger.warn({ workerId: this.id, type }, message);
    this.send({ type: 'error', code: 'unexpected_frame', message });
    this.close(CLOSE_CODES.tooManyFrames, 'too_many_frames');
    return false;
  }

  private protocolViolation(message: string): void {
    this.options.logger.warn({ workerId: this.id }, message);
    this.send({ type: 'error', code: 'unexpected_frame', message });
    this.close(CLOSE_CODES.badFrame, 'unexpected_frame');
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    clearInterval(this.heartbeat);
    this.emit('closed', reason);
  }
}

