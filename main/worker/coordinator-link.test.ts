/** The worker finds the coordinator's WebSocket endpoint from whatever URL the owner typed, and holds a coordinator to the handshake. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { CoordinatorLink, coordinatorUrls, workerSocketUrl, type Refusal } from './coordinator-link.js';
import { createLogger } from '../../network/node-kit/log.js';
import type { CoordinatorFrame } from '../../network/protocol/worker-frames.js';
import { DEFAULT_PRICE_LIST, priceListToWire } from '../../network/protocol/pricing.js';
import { PROTOCOL_VERSION } from '../../network/protocol/version.js';
import { toBase64Url } from '../../network/protocol/encoding.js';
import { defaultThreads } from '../engine/threads.js';

test('http, https, ws and wss URLs all lead to the worker socket', () => {
  assert.equal(workerSocketUrl('http://127.0.0.1:8787'), 'ws://127.0.0.1:8787/v1/worker');
  assert.equal(workerSocketUrl('https://coord.example/'), 'wss://coord.example/v1/worker');
  assert.equal(workerSocketUrl('ws://h:1/custom/path'), 'ws://h:1/custom/path');
  assert.throws(() => workerSocketUrl('ftp://h'), /must start with http/);
  assert.throws(() => workerSocketUrl('not a url'));
});

test('several coordinator instances: repeated options and comma-separated lists', () => {
  assert.deepEqual(coordinatorUrls('http://a:1, http://b:2,,'), ['http://a:1', 'http://b:2']);
  assert.deepEqual(coordinatorUrls(['http://a:1', 'http://b:2,http://c:3']), ['http://a:1', 'http://b:2', 'http://c:3']);
  assert.throws(() => coordinatorUrls([' ', '']), /No coordinator URL/);
});

test('engine threads: half the cores, at least one (never llama.cpp’s max(4, cores))', () => {
  assert.equal(defaultThreads(1), 1);
  assert.equal(defaultThreads(2), 1);
  assert.equal(defaultThreads(16), 8);
});

type Welcome = Extract<CoordinatorFrame, { type: 'welcome' }>;

const welcome: Welcome = { type: 'welcome', protocol: PROTOCOL_VERSION, coordinatorId: 'scripted', heartbeatIntervalMs: 60_000, maxFrameBytes: 1 << 20, settlement: null, pricing: priceListToWire(DEFAULT_PRICE_LIST) };

/** A link to a scripted coordinator on `server`, reconnecting within 10–20 ms. */
function linkTo(server: WebSocketServer): CoordinatorLink {
  return new CoordinatorLink({
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hello: () => ({ type: 'hello', protocol: { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION }, workerId: 'w1', appVersion: 'test', capabilities: { models: [], maxConcurrentJobs: 1, tokensPerSecond: 0, priceCoefficient: 1, tier: 'unsandboxed' }, available: false, identityKey: 'k', signature: 's' }),
    logger: createLogger('link', { level: 'silent' }),
    minDelayMs: 10,
    maxDelayMs: 20,
  });
}

/** 'done' once `promise` settles, 'timeout' if it has not within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([promise.then(() => 'done' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('a second welcome on one connection is a protocol violation: the link drops that connection and reconnects, leaking no timer', async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  let connections = 0;
  const dropped: Promise<void>[] = [];
  const toldFirst: { type: string; code?: string; message?: string }[] = [];
  server.on('connection', (socket) => {
    connections += 1;
    const first = connections === 1;
    dropped.push(new Promise((resolve) => socket.once('close', () => resolve())));
    socket.send(JSON.stringify({ type: 'challenge', coordinatorId: 'scripted', nonce: toBase64Url(new Uint8Array(32).fill(7)) }));
    socket.once('message', () => {
      if (first) socket.on('message', (data: Buffer) => toldFirst.push(JSON.parse(data.toString('utf8')) as (typeof toldFirst)[number]));
      // The first connection welcomes the worker again and again; the second behaves.
      for (let i = 0; i < (first ? 50 : 1); i++) socket.send(JSON.stringify(welcome));
    });
  });
  const link = linkTo(server);
  const welcomed: Welcome[] = [];
  link.on('connected', (frame) => welcomed.push(frame));
  const before = timers();
  link.start();
  try {
    await once(link, 'connected');
    assert.equal(await within(dropped[0]!, 5000), 'done', 'the worker closed the connection that welcomed it twice');
    assert.deepEqual(
      toldFirst.filter((f) => f.type === 'error').map((f) => [f.code, f.message]),
      [['unexpected_frame', 'This worker left: a second welcome came on one connection.']],
      'having told the coordinator why, once',
    );
    const welcomedAgain = link.connected ? Promise.resolve() : once(link, 'connected');
    assert.equal(await within(welcomedAgain, 5000), 'done', 'and said hello again on a new one');
    assert.equal(connections, 2, `reconnected once (${connections})`);
    assert.equal(welcomed.length, 2, 'one welcome taken per connection');
    assert.ok(timers() <= before + 1, `active timers went from ${before} to ${timers()}`);
  } finally {
    const gone = once(link, 'disconnected');
    link.stop();
    await within(gone, 5000);
    server.close();
  }
  assert.ok(timers() <= before, 'none left once stopped');
});

test('a job frame before the welcome is a protocol violation: the worker never sees it, and the link reconnects', async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  const offer: CoordinatorFrame = { type: 'job.offer', jobId: 'early', model: 'm', messages: [{ role: 'user', content: 'hi' }], params: { maxTokens: 4, temperature: 0 } };
  let connections = 0;
  server.on('connection', (socket) => {
    connections += 1;
    const first = connections === 1;
    socket.send(JSON.stringify({ type: 'challenge', coordinatorId: 'scripted', nonce: toBase64Url(new Uint8Array(32).fill(7)) }));
    socket.once('message', () => {
      // The first connection offers a job before welcoming; the second welcomes, then offers.
      if (first) socket.send(JSON.stringify({ ...offer, jobId: 'before-welcome' }));
      socket.send(JSON.stringify(welcome));
      if (!first) socket.send(JSON.stringify({ ...offer, jobId: 'after-welcome' }));
    });
  });
  const link = linkTo(server);
  const jobs: string[] = [];
  link.on('frame', (frame) => jobs.push(frame.type === 'job.offer' ? frame.jobId : frame.type));
  link.start();
  try {
    const offered = new Promise<void>((resolve) => link.on('frame', () => resolve()));
    assert.equal(await within(offered, 5000), 'done', 'a job came on the connection that welcomed first');
    assert.deepEqual(jobs, ['after-welcome'], 'the early offer never reached the worker');
    assert.equal(connections, 2, 'the connection that offered before welcoming was dropped');
  } finally {
    const gone = once(link, 'disconnected');
    link.stop();
    await within(gone, 5000);
    server.close();
  }
});

test('a coordinator too old or too new for this app, or whose welcome names terms it cannot use, is a refusal the owner is told of, and the link keeps asking', async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(server, 'listening');
  // Each connection answers the hello differently: incompatible (our protocol is too old), a
  // welcome whose vault is no TON address, then a welcome this app can use.
  const answers: unknown[] = [
    { type: 'incompatible', code: 'client_too_old', supported: { min: PROTOCOL_VERSION + 1, max: PROTOCOL_VERSION + 1 }, message: 'Update Silkworm.' },
    { ...welcome, settlement: { vault: 'not-an-address', voucherPublicKey: 'ab'.repeat(32), chainGlobalId: -3 } },
    welcome,
  ];
  let connections = 0;
  // What the worker said after its hello, on each connection, and how it closed.
  const told: { frames: { type: string; code?: string; message?: string }[]; closed?: number }[] = [];
  server.on('connection', (socket) => {
    const answer = answers[Math.min(connections, answers.length - 1)];
    const heard: (typeof told)[number] = { frames: [] };
    told[connections] = heard;
    connections += 1;
    socket.send(JSON.stringify({ type: 'challenge', coordinatorId: 'scripted', nonce: toBase64Url(new Uint8Array(32).fill(7)) }));
    socket.once('message', () => {
      socket.on('message', (data: Buffer) => heard.frames.push(JSON.parse(data.toString('utf8')) as (typeof heard.frames)[number]));
      socket.send(JSON.stringify(answer));
      if ((answer as { type: string }).type === 'incompatible') socket.close(4001, 'client_too_old');
    });
    socket.on('close', (code) => (heard.closed = code));
  });
  const link = linkTo(server);
  const refusals: Refusal[] = [];
  link.on('refused', (refusal) => refusals.push(refusal));
  link.start();
  try {
    assert.equal(await within(once(link, 'connected'), 10_000), 'done', 'the link kept asking, and took the welcome it could use');
    assert.deepEqual(refusals.map((r) => [r.code, r.message]), [['client_too_old', 'Update Silkworm.'], ['unusable_welcome', '']]);
    assert.match(refusals[1]?.detail ?? '', /vault/i, 'what was wrong with the welcome, in the app’s words');
    assert.equal(connections, 3);
    // The coordinator whose welcome could not be used is told why, for its operator, and the
    // connection is closed as a protocol error, not dropped.
    const unusable = told[1]!;
    assert.deepEqual(unusable.frames.map((f) => [f.type, f.code]), [['error', 'bad_frame']]);
    assert.match(unusable.frames[0]?.message ?? '', /could not read the welcome.*vault/i);
    assert.equal(unusable.closed, 1002);
  } finally {
    const gone = once(link, 'disconnected');
    link.stop();
    await within(gone, 5000);
    server.close();
  }
});
