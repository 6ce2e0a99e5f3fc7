/**
 * One connected worker as the coordinator sees it: the WebSocket, the handshake, heartbeats,
 * and the frames it sends, already validated. Jobs are the JobManager's business.
 */
import { EventEmitter } from 'node:events';
import type { WebSocket, RawData } from 'ws';
import { workerFrameSchema, type CoordinatorFrame, type WorkerFrame, type Capabilities, type Tier } from '../protocol/worker-frames.js';
import { decodeFrame, encodeFrame } from '../protocol/frame-codec.js';
import { negotiateVersion, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';
import type { RoutableWorker } from './router.js';
import { isFriendlyAddress } from '../protocol/voucher.js';
import { verifyDescriptor, type SignedDescriptor } from '../protocol/descriptor.js';
import type { Logger } from './log.js';

/** Close codes used on worker sockets (4000–4999 are application codes). */
export const CLOSE_CODES = {
  incompatible: 4001,
  badFrame: 4002,
  handshakeTimeout: 4003,
  heartbeatTimeout: 4004,
  replaced: 4005,
  shuttingDown: 4006,
} as const;

/** Frames a worker sends once the handshake is done (everything but hello and heartbeats). */
export type WorkerJobFrame = Extract<WorkerFrame, { type: `job.${string}` }>;

/** Settings shared by every session. */
export interface SessionOptions {
  coordinatorId: string;
  heartbeatIntervalMs: number;
  handshakeTimeoutMs: number;
  maxFrameBytes: number;
  logger: Logger;
}

interface SessionEvents {
  ready: [];
  frame: [WorkerJobFrame];
  capacity: [];
  closed: [reason: string];
}

/** A worker connection; emits `ready` after a good hello, then `frame`, `capacity`, `closed`. */
export class WorkerSession extends EventEmitter<SessionEvents> implements RoutableWorker {
  id = '';
  models: Set<string> = new Set();
  capabilities: Capabilities | undefined;
  tier: Tier = 'unsandboxed';
  available = false;
  running = 0;
  maxConcurrentJobs = 0;
  latencyMs = 1;
  lastAssignedAt = 0;
  appVersion = '';
  payoutAddress: string | undefined;
  priceCoefficient = 1;
  /** The worker's latest verified descriptor (sealed mode), if it sent one. */
  descriptor: SignedDescriptor | undefined;
  /** Decides whether an identity key may speak for a worker id (trust on first use). */
  identityCheck: (workerId: string, identityKey: string) => boolean = () => true;
  private pingSeq = 0;
  private lastHeardAt = Date.now();
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
  }

  /** Sends a frame; false when the socket is gone or the frame is too large. */
  send(frame: CoordinatorFrame): boolean {
    if (this.closed) return false;
    const encoded = encodeFrame(frame, this.options.maxFrameBytes);
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
    this.lastHeardAt = Date.now();
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
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
    switch (frame.type) {
      case 'hello':
        this.onHello(frame);
        return;
      case 'ping':
        this.send({ type: 'pong', seq: frame.seq, sentAt: frame.sentAt });
        return;
      case 'pong':
        this.latencyMs = 0.8 * this.latencyMs + 0.2 * Math.max(0, Date.now() - frame.sentAt);
        return;
      case 'capacity':
        this.available = frame.available;
        this.emit('capacity');
        return;
      case 'error':
        this.options.logger.warn({ workerId: this.id, code: frame.code }, `worker reported: ${frame.message}`);
        return;
      case 'descriptor':
        this.onDescriptor(frame.signed);
        return;
      default:
        this.emit('frame', frame);
    }
  }

  private onHello(frame: Extract<WorkerFrame, { type: 'hello' }>): void {
    if (this.id) {
      this.protocolViolation('hello sent twice');
      return;
    }
    const match = negotiateVersion(frame.protocol);
    if (!match.ok) {
      this.send({ type: 'incompatible', code: match.code, supported: { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION }, message: match.message });
      this.close(CLOSE_CODES.incompatible, match.code);
      return;
    }
    clearTimeout(this.handshakeTimer);
    this.id = frame.workerId;
    this.appVersion = frame.appVersion;
    this.capabilities = frame.capabilities;
    this.models = new Set(frame.capabilities.models.map((m) => m.id));
    this.tier = frame.capabilities.tier;
    this.maxConcurrentJobs = frame.capabilities.maxConcurrentJobs;
    this.available = frame.available;
    this.priceCoefficient = frame.capabilities.priceCoefficient;
    if (frame.payoutAddress !== undefined) {
      if (isFriendlyAddress(frame.payoutAddress)) this.payoutAddress = frame.payoutAddress;
      else this.send({ type: 'error', code: 'invalid_request', message: `Payout address '${frame.payoutAddress}' is not a valid TON address; earnings are kept by worker id until it is fixed.` });
    }
    this.send({
      type: 'welcome',
      protocol: match.version,
      coordinatorId: this.options.coordinatorId,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      maxFrameBytes: this.options.maxFrameBytes,
    });
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatIntervalMs);
    this.beat();
    this.emit('ready');
  }

  private onDescriptor(signed: unknown): void {
    const checked = verifyDescriptor(signed);
    let problem = checked.ok ? undefined : checked.error.message;
    if (checked.ok && checked.value.workerId !== this.id) problem = 'The descriptor names another worker.';
    if (checked.ok && !problem && !this.identityCheck(this.id, checked.value.identityKey)) problem = 'This worker id belongs to another identity key.';
    if (!checked.ok || problem) {
      this.options.logger.warn({ workerId: this.id, problem }, 'descriptor refused');
      this.send({ type: 'error', code: 'invalid_request', message: `Descriptor refused: ${problem ?? 'invalid'}` });
      return;
    }
    this.descriptor = { descriptor: checked.value, signature: (signed as SignedDescriptor).signature };
  }

  private beat(): void {
    if (Date.now() - this.lastHeardAt > 3 * this.options.heartbeatIntervalMs) {
      this.socket.terminate();
      this.finish('heartbeat timeout');
      return;
    }
    this.send({ type: 'ping', seq: this.pingSeq++, sentAt: Date.now() });
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

