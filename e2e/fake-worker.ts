/**
 * A scripted worker speaking the wire protocol directly, for what a real worker never does:
 * malformed or oversized frames, wrong versions, vanishing before its first token, silence,
 * and the attacks of a dishonest worker (inflated claims, unbounded output, id hijack…).
 */
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../network/protocol/version.js';
import type { CoordinatorFrame, WorkerFrame } from '../network/protocol/worker-frames.js';
import { identityKeyPairFromSeed, signDescriptor, type IdentityKeyPair } from '../network/protocol/descriptor.js';
import { JobKeyPair } from '../network/protocol/sealed.js';
import { signHello } from '../network/protocol/worker-hello.js';
import { toBase64Url } from '../network/protocol/encoding.js';

type Challenge = Extract<CoordinatorFrame, { type: 'challenge' }>;
type Hello = Extract<WorkerFrame, { type: 'hello' }>;

/** How a fake introduces itself. */
export interface FakeHelloOptions {
  model?: string;
  /** The sha256 announced for the model (default: zeros; a coordinator with a catalog refuses it). */
  sha256?: string;
  protocol?: { min: number; max: number };
  identity?: IdentityKeyPair;
  payoutAddress?: string;
  priceCoefficient?: number;
  contextSize?: number;
  maxConcurrentJobs?: number;
  available?: boolean;
}

/** A fresh random identity key pair. */
export function randomIdentity(): IdentityKeyPair {
  return identityKeyPairFromSeed(randomBytes(32));
}

/**
 * A signed descriptor for a fake that takes sealed jobs (send `frame` after joining with the same
 * `identity`), and the job key pair whose public half it announces.
 */
export async function sealedDescriptor(workerId: string, identity: IdentityKeyPair, model: { id: string; sha256?: string; contextSize?: number }): Promise<{ frame: Extract<WorkerFrame, { type: 'descriptor' }>; keyPair: JobKeyPair }> {
  const keyPair = await JobKeyPair.generate();
  const now = Date.now();
  const descriptor = {
    v: 1 as const,
    workerId,
    identityKey: toBase64Url(identity.publicKey),
    hpke: { suite: 'X25519-HKDF-SHA256-ChaCha20Poly1305' as const, publicKey: keyPair.publicKey },
    models: [{ id: model.id, sha256: model.sha256 ?? '0'.repeat(64), contextSize: model.contextSize ?? 2048 }],
    tier: 'sandboxed' as const,
    appVersion: 'fake',
    buildHash: '0000000',
    tokensPerSecond: 1,
    priceCoefficient: 1,
    issuedAt: now,
    expiresAt: now + 600_000,
  };
  return { frame: { type: 'descriptor', signed: signDescriptor(descriptor, identity.secretKey) }, keyPair };
}

/** A raw protocol peer: send anything, see every frame and the close. */
export class FakeWorker {
  readonly frames: CoordinatorFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Answer pings with a pong whose sentAt is this much in the future (a lie about latency). */
  pongSkewMs = 0;
  /** Whether pings get their pong (false: a worker gone silent, its socket still open). */
  answerPings = true;
  /** When each ping arrived (performance.now()). */
  readonly pingTimes: number[] = [];
  private listeners: ((frame: CoordinatorFrame) => void)[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as CoordinatorFrame;
      // Heartbeats are answered, so a fake stays connected as long as its test needs.
      if (frame.type === 'ping') {
        this.pingTimes.push(performance.now());
        if (this.answerPings) this.send({ type: 'pong', seq: frame.seq, sentAt: frame.sentAt + this.pongSkewMs });
      }
      this.frames.push(frame);
      for (const l of this.listeners) l(frame);
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** Opens a socket to the coordinator's worker endpoint and waits for its challenge. */
  static async connect(coordinatorUrl: string): Promise<FakeWorker> {
    const socket = new WebSocket(`${coordinatorUrl.replace(/^http/, 'ws')}/v1/worker`);
    // Listen before the socket opens: the challenge may come in the same read as the upgrade.
    const fake = new FakeWorker(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await fake.next('challenge');
    return fake;
  }

  /** Connects and completes the handshake, announcing the given model. */
  static async join(coordinatorUrl: string, workerId: string, options: FakeHelloOptions = {}): Promise<FakeWorker> {
    const fake = await FakeWorker.connect(coordinatorUrl);
    fake.send(fake.hello(workerId, options));
    await fake.next('welcome');
    return fake;
  }

  /** The coordinator's challenge on this connection. */
  get challenge(): Challenge {
    const challenge = this.frames.find((f): f is Challenge => f.type === 'challenge');
    if (!challenge) throw new Error('no challenge yet');
    return challenge;
  }

  /** A hello answering this connection's challenge, signed by `options.identity` (random by default). */
  hello(workerId: string, options: FakeHelloOptions = {}): Hello {
    const identity = options.identity ?? randomIdentity();
    const identityKey = toBase64Url(identity.publicKey);
    const { coordinatorId, nonce } = this.challenge;
    const signature = signHello({ coordinatorId, nonce, workerId, identityKey, payoutAddress: options.payoutAddress ?? null }, identity);
    return {
      type: 'hello',
      protocol: options.protocol ?? { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION },
      workerId,
      appVersion: 'fake',
      capabilities: {
        models: [{ id: options.model ?? 'silkworm-test', sha256: options.sha256 ?? '0'.repeat(64), contextSize: options.contextSize ?? 2048 }],
        maxConcurrentJobs: options.maxConcurrentJobs ?? 1,
        tokensPerSecond: 1,
        priceCoefficient: options.priceCoefficient ?? 1,
        tier: 'unsandboxed',
      },
      available: options.available ?? true,
      identityKey,
      signature,
      ...(options.payoutAddress ? { payoutAddress: options.payoutAddress } : {}),
    };
  }

  /** Sends a frame (or any raw text). */
  send(frame: WorkerFrame | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame of a type (past frames included). */
  next<T extends CoordinatorFrame['type']>(type: T, timeoutMs = 10_000): Promise<Extract<CoordinatorFrame, { type: T }>> {
    const seen = this.frames.find((f) => f.type === type);
    if (seen) return Promise.resolve(seen as Extract<CoordinatorFrame, { type: T }>);
    return this.nextNew(type, timeoutMs);
  }

  /** The next frame of a type that arrives from now on; rejects if the socket closes first. */
  nextNew<T extends CoordinatorFrame['type']>(type: T, timeoutMs = 10_000): Promise<Extract<CoordinatorFrame, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no '${type}' frame within ${timeoutMs} ms`)), timeoutMs);
      void this.closed.then(() => {
        clearTimeout(timer);
        reject(new Error(`the socket closed before a '${type}' frame`));
      });
      const listener = (frame: CoordinatorFrame) => {
        if (frame.type === type) {
          clearTimeout(timer);
          this.listeners = this.listeners.filter((l) => l !== listener);
          resolve(frame as Extract<CoordinatorFrame, { type: T }>);
        }
      };
      this.listeners.push(listener);
    });
  }

  /** Closes the socket. */
  close(): void {
    this.socket.close();
  }
}
