/**
 * A scripted worker speaking the wire protocol directly, for what a real worker never does:
 * malformed or oversized frames, wrong versions, vanishing before its first token, silence.
 */
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../network/protocol/version.js';
import type { CoordinatorFrame, WorkerFrame } from '../network/protocol/worker-frames.js';

/** A raw protocol peer: send anything, see every frame and the close. */
export class FakeWorker {
  readonly frames: CoordinatorFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private listeners: ((frame: CoordinatorFrame) => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as CoordinatorFrame;
      // Heartbeats are answered, so a fake stays connected as long as its test needs.
      if (frame.type === 'ping') this.send({ type: 'pong', seq: frame.seq, sentAt: frame.sentAt });
      this.frames.push(frame);
      for (const l of this.listeners) l(frame);
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens a socket to the coordinator's worker endpoint. */
  static async connect(coordinatorUrl: string): Promise<FakeWorker> {
    const socket = new WebSocket(`${coordinatorUrl.replace(/^http/, 'ws')}/v1/worker`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new FakeWorker(socket);
  }

  /** Connects and completes the handshake, announcing the given model. */
  static async join(coordinatorUrl: string, workerId: string, model = 'silkworm-test'): Promise<FakeWorker> {
    const fake = await FakeWorker.connect(coordinatorUrl);
    fake.send(fakeHello(workerId, model));
    await fake.next('welcome');
    return fake;
  }

  /** Sends a frame (or any raw text). */
  send(frame: WorkerFrame | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame of a type (past frames included). */
  next<T extends CoordinatorFrame['type']>(type: T, timeoutMs = 10_000): Promise<Extract<CoordinatorFrame, { type: T }>> {
    const seen = this.frames.find((f) => f.type === type);
    if (seen) return Promise.resolve(seen as Extract<CoordinatorFrame, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${type}' frame within ${timeoutMs} ms`)), timeoutMs);
      this.listeners.push((frame) => {
        if (frame.type === type) {
          clearTimeout(timer);
          resolve(frame as Extract<CoordinatorFrame, { type: T }>);
        }
      });
    });
  }
}

/** A valid hello for a fake worker. */
export function fakeHello(workerId: string, model = 'silkworm-test', protocol = { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION }): Extract<WorkerFrame, { type: 'hello' }> {
  return {
    type: 'hello',
    protocol,
    workerId,
    appVersion: 'fake',
    capabilities: { models: [{ id: model, sha256: '0'.repeat(64), contextSize: 2048 }], maxConcurrentJobs: 1, tokensPerSecond: 1, priceCoefficient: 1, tier: 'unsandboxed' },
    available: true,
  };
}
