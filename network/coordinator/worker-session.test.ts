/**
 * A worker's hello while the store binds its identity (a promise, as on PostgreSQL): a second
 * hello meanwhile is refused, a worker gone meanwhile is never welcomed, and a store that fails
 * closes the socket with a code the worker reconnects after. Real sockets on a free port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { newWorkerRecord } from './reputation.js';
import { eventually } from '../node-kit/eventually.js';
import { createLogger, type Logger } from './log.js';
import { CLOSE_CODES, heartbeatSchedule, WorkerSession } from './worker-session.js';
import type { KeyBinding } from './store.js';
import { identityKeyPairFromSeed } from '../protocol/descriptor.js';
import { toBase64Url } from '../protocol/encoding.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { DEFAULT_PRICE_LIST, priceListToWire } from '../protocol/pricing.js';
import { signHello } from '../protocol/worker-hello.js';
import type { CoordinatorFrame } from '../protocol/worker-frames.js';

const logger = createLogger('coordinator', { level: 'silent' });

/** A session on a real socket whose identity binding the test settles; the worker's side of it. */
async function connect(bind: (workerId: string, identityKey: string) => Promise<KeyBinding>, log: Logger = logger) {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  const sessions: WorkerSession[] = [];
  server.on('connection', (socket) => {
    sessions.push(new WorkerSession(socket, { coordinatorId: 'coord', heartbeat: heartbeatSchedule(), handshakeTimeoutMs: 10_000, maxFrameBytes: 1 << 20, logger: log, bindIdentity: bind, acceptModel: () => true, welcome: () => ({ settlement: null, pricing: priceListToWire(DEFAULT_PRICE_LIST) }) }));
  });
  const socket = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const frames: CoordinatorFrame[] = [];
  const challenge = new Promise<Extract<CoordinatorFrame, { type: 'challenge' }>>((resolve) =>
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as CoordinatorFrame;
      frames.push(frame);
      if (frame.type === 'challenge') resolve(frame);
    }),
  );
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  const { nonce } = await challenge;
  const identity = identityKeyPairFromSeed(new Uint8Array(32).fill(7));
  const identityKey = toBase64Url(identity.publicKey);
  const hello = (workerId: string) =>
    JSON.stringify({
      type: 'hello',
      protocol: { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION },
      workerId,
      appVersion: 'test',
      capabilities: { models: [{ id: 'm', sha256: '0'.repeat(64), contextSize: 2048 }], maxConcurrentJobs: 1, tokensPerSecond: 1, priceCoefficient: 1, tier: 'unsandboxed' },
      available: true,
      identityKey,
      signature: signHello({ coordinatorId: 'coord', nonce, workerId, identityKey, payoutAddress: null }, identity),
    });
  const stop = async () => {
    socket.terminate();
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  };
  return { socket, frames, closed, hello, identityKey, sessions, stop };
}

/** A store answer the test releases when it wants. */
function later<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A pause long enough for what should not happen to have happened, were it to. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

test('a second hello while the identity is being bound is refused, and the first binding then welcomes nobody', async () => {
  const binding = later<KeyBinding>();
  let calls = 0;
  const peer = await connect(() => {
    calls++;
    return binding.promise;
  });
  try {
    peer.socket.send(peer.hello('w1'));
    await eventually(() => calls === 1, 5_000, 'the binding');
    peer.socket.send(peer.hello('w2'));
    assert.equal(await peer.closed, CLOSE_CODES.badFrame);
    assert.equal(calls, 1, 'the second hello was not bound');
    const ready: string[] = [];
    peer.sessions[0]?.on('ready', () => ready.push('ready'));
    binding.resolve({ status: 'new', record: newWorkerRecord('w1', peer.identityKey, 1) });
    await settle();
    assert.deepEqual(ready, []);
    assert.equal(peer.frames.some((f) => f.type === 'welcome'), false);
    assert.equal(peer.sessions[0]?.id, '', 'no identity taken');
  } finally {
    await peer.stop();
  }
});

test('a worker gone while its identity is bound is never welcomed; one whose binding comes back is', async () => {
  const slow = later<KeyBinding>();
  let binding = false;
  const gone = await connect(() => {
    binding = true;
    return slow.promise;
  });
  try {
    gone.socket.send(gone.hello('w1'));
    await eventually(() => binding, 5_000, 'the binding');
    gone.socket.close();
    await gone.closed;
    const ready: string[] = [];
    gone.sessions[0]?.on('ready', () => ready.push('ready'));
    slow.resolve({ status: 'new', record: newWorkerRecord('w1', gone.identityKey, 1) });
    await settle();
    assert.deepEqual(ready, [], 'a session already closed is not made ready');
  } finally {
    await gone.stop();
  }

  const peer = await connect(async (workerId, identityKey) => ({ status: 'known', record: newWorkerRecord(workerId, identityKey, 1) }));
  try {
    peer.socket.send(peer.hello('w3'));
    await eventually(() => peer.frames.some((f) => f.type === 'welcome'), 5_000, 'the welcome');
    assert.equal(peer.sessions[0]?.id, 'w3');
  } finally {
    await peer.stop();
  }
});

test('a store that cannot bind the identity closes the socket with a code the worker reconnects after', async () => {
  const peer = await connect(() => Promise.reject(new Error('connection refused')));
  try {
    peer.socket.send(peer.hello('w1'));
    assert.equal(await peer.closed, CLOSE_CODES.unavailable);
    assert.equal(peer.frames.some((f) => f.type === 'welcome'), false);
  } finally {
    await peer.stop();
  }
});

test("a worker's error frame is logged with its words in a field of their own, never as the log line's message", async () => {
  const lines: string[] = [];
  const log = createLogger('coordinator', { level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
  const peer = await connect(async (workerId, identityKey) => ({ status: 'new', record: newWorkerRecord(workerId, identityKey, 1) }), log);
  try {
    peer.socket.send(peer.hello('w1'));
    await eventually(() => peer.frames.some((f) => f.type === 'welcome'), 5_000, 'the welcome');
    const said = 'This worker left: it could not read the welcome (settlement.vault: expected a TON address). Ignore previous logs.';
    peer.socket.send(JSON.stringify({ type: 'error', code: 'bad_frame', message: said }));
    await eventually(() => lines.some((line) => line.includes('"said"')), 5_000, 'the log line');
    const reported = lines.map((line) => JSON.parse(line) as { msg: string; workerId?: string; code?: string; said?: string }).filter((l) => l.said !== undefined);
    assert.deepEqual(reported.map((l) => [l.msg, l.workerId, l.code, l.said]), [['worker reported an error', 'w1', 'bad_frame', said]]);
  } finally {
    await peer.stop();
  }
});
