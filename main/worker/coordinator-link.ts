/**
 * The worker's one connection to its coordinator: WebSocket, hello and version check,
 * heartbeat watchdog, and reconnection with full-jitter exponential backoff.
 */
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { backOff } from 'exponential-backoff';
import { coordinatorFrameSchema, WORKER_SOCKET_PATH, MAX_FRAME_BYTES, type CoordinatorFrame, type WorkerFrame } from '../../network/protocol/worker-frames.js';
import { decodeFrame, encodeFrame } from '../../network/protocol/frame-codec.js';
import { forVersion } from '../../network/protocol/version.js';
import type { Logger } from '../../network/node-kit/log.js';

type Hello = Extract<WorkerFrame, { type: 'hello' }>;
type Challenge = Extract<CoordinatorFrame, { type: 'challenge' }>;
type Welcome = Extract<CoordinatorFrame, { type: 'welcome' }>;

/** Frames about jobs, which the worker handles. */
export type CoordinatorJobFrame = Extract<CoordinatorFrame, { type: 'job.offer' | 'job.sealed_offer' | 'job.cancel' | 'job.receipt' }>;

/**
 * The coordinator will not take this worker, or this worker cannot work for it: its identity was
 * ejected, its id is another key's, one side's protocol is too old for the other's
 * (`incompatible`), or its welcome names terms this app cannot use (`unusable_welcome`).
 */
export interface Refusal {
  code: 'worker_ejected' | 'identity_mismatch' | 'client_too_old' | 'server_too_old' | 'unusable_welcome';
  /** The coordinator's own words (shown as such, never as the app's); empty when it said nothing. */
  message: string;
  /** What this app found wrong, in its own words (unusable_welcome). */
  detail?: string;
}

/** One of this worker's answers failed the coordinator's check (protocol 3). */
export type CheckFailed = Extract<CoordinatorFrame, { type: 'check_failed' }>;

interface LinkEvents {
  connected: [Welcome];
  disconnected: [reason: string];
  refused: [Refusal];
  'check-failed': [CheckFailed];
  frame: [CoordinatorJobFrame];
}

/** The close code for a coordinator that broke the protocol (RFC 6455: 1002, protocol error). */
const CLOSE_PROTOCOL_ERROR = 1002;
/** How long a coordinator left for breaking the protocol has to answer the close before it is cut off. */
const LEAVE_WAIT_MS = 2_000;

/** Whether a frame that failed its schema says it is a welcome (parsed loosely; the frame is within maxPayload). */
function isWelcome(data: Buffer): boolean {
  try {
    const parsed: unknown = JSON.parse(data.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && (parsed as { type?: unknown }).type === 'welcome';
  } catch {
    return false;
  }
}

/** Options of the link. */
export interface LinkOptions {
  /**
   * The coordinator, as http(s):// or ws(s)://; the worker path is added when missing. Several
   * instances of one network (a list, or one string separated by commas): the link connects to
   * one and moves to the next when it cannot reach it or loses it.
   */
  url: string | readonly string[];
  /**
   * Builds the hello frame for each (re)connection, answering that connection's challenge, so
   * it carries current capabilities and a fresh proof of the worker's identity key.
   */
  hello: (challenge: Challenge) => Hello;
  logger: Logger;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** Turns whatever URL the owner typed into the coordinator's worker WebSocket URL. */
export function workerSocketUrl(input: string): string {
  const url = new URL(input);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`Coordinator URL must start with http://, https://, ws:// or wss:// (got ${url.protocol}).`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = WORKER_SOCKET_PATH;
  return url.toString();
}

/** Splits a coordinator list (repeated options, or URLs separated by commas) into URLs. */
export function coordinatorUrls(input: string | readonly string[]): string[] {
  const urls = (typeof input === 'string' ? [input] : [...input]).flatMap((u) => u.split(',')).map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length === 0) throw new Error('No coordinator URL given.');
  return urls;
}

/** Keeps the worker connected to its coordinator until stopped. */
export class CoordinatorLink extends EventEmitter<LinkEvents> {
  private socket: WebSocket | undefined;
  private stopped = true;
  private welcome: Welcome | undefined;
  private readonly urls: string[];
  /** Which of `urls` the next connection tries. */
  private next = 0;
  /** Set by reconnect(): the coming loss is ours, so the same instance is tried again. */
  private stay = false;

  constructor(private readonly options: LinkOptions) {
    super();
    this.urls = coordinatorUrls(options.url).map(workerSocketUrl);
  }

  /** The coordinator URL the link is connected to or trying now. */
  get url(): string {
    return this.urls[this.next % this.urls.length]!;
  }

  /** After a failed attempt or a lost connection: the next instance in the list (the same one when alone). */
  private moveOn(): void {
    this.next = (this.next + 1) % this.urls.length;
  }

  /** The coordinator's id, once welcomed. */
  get coordinatorId(): string | undefined {
    return this.welcome?.coordinatorId;
  }

  /** True while a handshaken connection is open. */
  get connected(): boolean {
    return this.welcome !== undefined;
  }

  /** Starts connecting; reconnects after every loss until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.run();
  }

  /** Closes the connection and stops reconnecting. */
  stop(): void {
    this.stopped = true;
    this.socket?.close(1000, 'worker stopping');
  }

  /**
   * Drops the current connection so the next one says hello again with current capabilities
   * (the models a worker serves are announced in hello). Reconnects at once, as after any loss.
   */
  reconnect(reason: string): void {
    if (this.stopped) return;
    this.stay = true; // a new hello to the same instance, not a failover
    this.socket?.close(1000, reason.slice(0, 120));
  }

  /** Sends a frame; false when not connected. */
  send(frame: WorkerFrame): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || !this.welcome) return false;
    const encoded = encodeFrame(forVersion(frame, this.welcome.protocol), this.welcome.maxFrameBytes);
    if (!encoded.ok) {
      this.options.logger.error({ code: encoded.error.code }, encoded.error.message);
      return false;
    }
    socket.send(encoded.value);
    return true;
  }

  private async run(): Promise<void> {
    let delayFirst = false;
    while (!this.stopped) {
      try {
        const { closed }: { closed: Promise<number> } = await backOff(() => this.connectOnce(), {
          jitter: 'full',
          startingDelay: this.options.minDelayMs ?? 250,
          maxDelay: this.options.maxDelayMs ?? 30_000,
          numOfAttempts: Number.MAX_SAFE_INTEGER,
          delayFirstAttempt: delayFirst,
          retry: (error: unknown, attempt) => {
            this.options.logger.warn({ attempt, coordinator: this.url, err: error instanceof Error ? error.message : String(error) }, 'cannot reach the coordinator; retrying');
            this.moveOn();
            return !this.stopped;
          },
        });
        const lastedMs: number = await closed;
        // A connection that drops at once (a coordinator in a crash loop) is not hammered.
        delayFirst = lastedMs < 5000;
        // The instance that dropped us may be gone: the next one in the list is tried first.
        if (!this.stay) this.moveOn();
        this.stay = false;
      } catch {
        return; // stopped while retrying
      }
    }
  }

  /** Resolves once welcomed, with a promise of how long the connection then lasted. */
  private connectOnce(): Promise<{ closed: Promise<number> }> {
    if (this.stopped) return Promise.reject(new Error('stopped'));
    return new Promise((resolveWelcome, rejectWelcome) => {
      const socket = new WebSocket(this.url, { maxPayload: 2 * MAX_FRAME_BYTES, handshakeTimeout: 10_000 });
      this.socket = socket;
      let welcomedAt = 0;
      let watchdog: NodeJS.Timeout | undefined;
      let lastHeard = Date.now();
      let resolveClosed: (lastedMs: number) => void = () => {};
      const closed = new Promise<number>((resolve) => (resolveClosed = resolve));

      let challenged = false;
      /**
       * Leaves a coordinator that broke the protocol: it is told why first (an `error` frame,
       * which its operator reads in its log), then the connection is closed, and the link
       * reconnects as after any loss. A coordinator that does not answer the close is cut off.
       */
      const leave = (code: 'bad_frame' | 'unexpected_frame', why: string): void => {
        // No longer connected from here: nothing more is sent on this connection.
        if (this.socket === socket) this.welcome = undefined;
        const told = encodeFrame({ type: 'error', code, message: `This worker left: ${why}`.slice(0, 1000) });
        if (told.ok) socket.send(told.value);
        socket.close(CLOSE_PROTOCOL_ERROR, code);
        const cutOff = setTimeout(() => socket.terminate(), LEAVE_WAIT_MS);
        socket.once('close', () => clearTimeout(cutOff));
      };
      socket.on('message', (data: Buffer, isBinary) => {
        // Frames that were on their way when we dropped the connection are not read.
        if (socket.readyState !== WebSocket.OPEN) return;
        lastHeard = Date.now();
        const decoded = isBinary ? undefined : decodeFrame(coordinatorFrameSchema, data.toString('utf8'), data.length);
        if (!decoded?.ok) {
          this.options.logger.warn({ err: decoded?.error.message ?? 'binary frame' }, 'bad frame from the coordinator; reconnecting');
          // A welcome this app cannot use comes again on every connection: the owner is told why nothing is served.
          const detail = decoded ? decoded.error.message.replace(/^Malformed frame: /, '') : 'a binary frame';
          const welcomeFrame = decoded !== undefined && isWelcome(data);
          if (!welcomedAt && welcomeFrame) this.emit('refused', { code: 'unusable_welcome', message: '', detail: detail.slice(0, 300) });
          leave('bad_frame', `it could not read ${welcomeFrame ? 'the welcome' : 'a frame'} (${detail}).`);
          return;
        }
        const frame = decoded.value;
        switch (frame.type) {
          case 'challenge': {
            if (challenged) {
              this.options.logger.warn('the coordinator sent a second challenge; reconnecting');
              leave('unexpected_frame', 'a second challenge came on one connection.');
              return;
            }
            challenged = true;
            const encoded = encodeFrame(this.options.hello(frame));
            if (encoded.ok) socket.send(encoded.value);
            return;
          }
          case 'welcome':
            // One welcome per connection, after our hello: another would start a second watchdog
            // and announce us again (capacity, descriptor, terms) in the middle of the connection.
            if (welcomedAt || !challenged) {
              this.options.logger.warn(welcomedAt ? 'the coordinator sent a second welcome; reconnecting' : 'the coordinator sent welcome before its challenge; reconnecting');
              leave('unexpected_frame', welcomedAt ? 'a second welcome came on one connection.' : 'the welcome came before the challenge.');
              return;
            }
            this.welcome = frame;
            welcomedAt = Date.now();
            watchdog = setInterval(() => {
              if (Date.now() - lastHeard > 3 * frame.heartbeatIntervalMs) {
                this.options.logger.warn('coordinator silent for 3 heartbeats; reconnecting');
                socket.terminate();
              }
            }, frame.heartbeatIntervalMs);
            this.emit('connected', frame);
            resolveWelcome({ closed });
            return;
          case 'incompatible':
            this.options.logger.error({ code: frame.code, supported: frame.supported }, frame.message);
            this.emit('refused', { code: frame.code, message: frame.message });
            return;
          case 'ping':
            this.send({ type: 'pong', seq: frame.seq, sentAt: frame.sentAt });
            return;
          case 'pong':
            return;
          case 'check_failed':
            // The coordinator's words stay in a field of their own, never the log line's message.
            this.options.logger.warn({ strikes: frame.strikes, ejectAt: frame.ejectAt, said: frame.message }, 'coordinator reported a failed check');
            this.emit('check-failed', frame);
            return;
          case 'error':
            this.options.logger.warn({ code: frame.code, said: frame.message }, 'coordinator reported an error');
            if (frame.code === 'worker_ejected' || frame.code === 'identity_mismatch') this.emit('refused', { code: frame.code, message: frame.message });
            return;
          default:
            // Jobs and receipts come to a worker the coordinator has welcomed, never before.
            if (!welcomedAt) {
              this.options.logger.warn({ type: frame.type }, 'the coordinator sent a job frame before its welcome; reconnecting');
              leave('unexpected_frame', `a ${frame.type} frame came before the welcome.`);
              return;
            }
            this.emit('frame', frame);
        }
      });
      socket.on('error', (error) => {
        if (!welcomedAt) rejectWelcome(error);
      });
      socket.on('close', (code, reason) => {
        clearInterval(watchdog);
        const text = `closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`;
        if (!welcomedAt) {
          rejectWelcome(new Error(`connection ${text} before welcome`));
          return;
        }
        this.welcome = undefined;
        this.socket = undefined;
        this.emit('disconnected', text);
        resolveClosed(Date.now() - welcomedAt);
      });
    });
  }
}
