/**
 * A scripted coordinator for the worker's tests: a real WebSocket server speaking the real
 * protocol (challenge, a check of the signed hello, welcome), then whatever the test sends.
 * Used only by *.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { coordinatorFrameSchema, workerFrameSchema, type CoordinatorFrame, type WorkerFrame } from '../../../network/protocol/worker-frames.js';
import { verifyHello } from '../../../network/protocol/worker-hello.js';
import { DEFAULT_PRICE_LIST, priceListToWire } from '../../../network/protocol/pricing.js';
import { PROTOCOL_VERSION } from '../../../network/protocol/version.js';
import { toBase64Url } from '../../../network/protocol/encoding.js';

export type Welcome = Extract<CoordinatorFrame, { type: 'welcome' }>;

/** A welcome that settles on chain with `vault` (none without one), at the default prices. */
export function welcomeFor(vault?: string): Welcome {
  return { type: 'welcome', protocol: PROTOCOL_VERSION, coordinatorId: 'scripted', heartbeatIntervalMs: 60_000, maxFrameBytes: 1 << 20, settlement: vault ? { vault, voucherPublicKey: '11'.repeat(32), chainGlobalId: -3 } : null, pricing: priceListToWire(DEFAULT_PRICE_LIST) };
}

export class ScriptedCoordinator {
  readonly server: WebSocketServer;
  socket: WebSocket | undefined;
  /** Connections accepted so far. */
  connections = 0;
  readonly frames: WorkerFrame[] = [];
  /** What the worker's latest capacity frame said (kept when a test clears `frames`). */
  private lastAvailable = false;
  private waiters: { match: (f: WorkerFrame) => boolean; resolve: (f: WorkerFrame) => void }[] = [];

  /**
   * `welcome` says what each hello is answered with (by the connection's number, from 1): a
   * test may answer with a frame the protocol does not allow, as a dishonest coordinator would.
   */
  constructor(public welcome: (connection: number) => object) {
    this.server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    this.server.on('connection', (socket) => {
      this.socket = socket;
      const connection = ++this.connections;
      const nonce = toBase64Url(new Uint8Array(32).fill(7));
      this.send({ type: 'challenge', coordinatorId: 'scripted', nonce });
      socket.on('message', (data: Buffer) => {
        const frame = workerFrameSchema.parse(JSON.parse(data.toString('utf8')));
        if (frame.type === 'hello') {
          const signed = verifyHello({ coordinatorId: 'scripted', nonce, workerId: frame.workerId, identityKey: frame.identityKey, payoutAddress: frame.payoutAddress ?? null }, frame.signature);
          assert.ok(signed, 'the worker signs its hello');
          socket.send(JSON.stringify(this.welcome(connection)));
        }
        if (frame.type === 'capacity') this.lastAvailable = frame.available;
        this.frames.push(frame);
        this.waiters = this.waiters.filter((w) => (w.match(frame) ? (w.resolve(frame), false) : true));
      });
    });
  }

  /** A coordinator without settlement, listening. */
  static async start(): Promise<ScriptedCoordinator> {
    const coordinator = new ScriptedCoordinator(() => welcomeFor());
    await coordinator.listening();
    return coordinator;
  }

  /** Resolves once the server listens. */
  async listening(): Promise<void> {
    if (!this.server.address()) await once(this.server, 'listening');
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  send(frame: CoordinatorFrame): void {
    this.socket?.send(JSON.stringify(coordinatorFrameSchema.parse(frame)));
  }

  /** Resolves once the worker says it takes jobs (at once if its latest capacity frame said so). */
  async sharing(): Promise<void> {
    if (!this.lastAvailable) await this.next('capacity', (f) => f.available);
  }

  /** Every availability the worker announced, in order (its hellos' and its capacity frames'). */
  get availability(): boolean[] {
    return this.frames.flatMap((f) => (f.type === 'hello' || f.type === 'capacity' ? [f.available] : []));
  }

  /** Resolves once the worker's latest announcement says `available`. */
  async announced(available: boolean): Promise<void> {
    while (this.availability.at(-1) !== available) await new Promise<WorkerFrame>((resolve) => this.waiters.push({ match: () => true, resolve }));
  }

  next<T extends WorkerFrame['type']>(type: T, match: (f: Extract<WorkerFrame, { type: T }>) => boolean = () => true): Promise<Extract<WorkerFrame, { type: T }>> {
    const seen = this.frames.find((f) => f.type === type && match(f as Extract<WorkerFrame, { type: T }>));
    if (seen) return Promise.resolve(seen as Extract<WorkerFrame, { type: T }>);
    return new Promise((resolve) => this.waiters.push({ match: (f) => f.type === type && match(f as Extract<WorkerFrame, { type: T }>), resolve: (f) => resolve(f as Extract<WorkerFrame, { type: T }>) }));
  }

  /** Closes the server and every connection to it. */
  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
