/**
 * A child process of the coordinator load bench holding thousands of simulated workers, each one
 * WebSocket speaking the real worker protocol (network/protocol/): it answers the challenge with a
 * hello signed by its own Ed25519 identity key, answers pings, accepts job offers and streams
 * chunks stamped with their send time, then job.done, and acknowledges receipts. Simulated
 * workers run no model: the coordinator is what is measured. Driven over IPC by
 * coordinator-load.ts (LoadWorkersCommand in, LoadWorkersReport out).
 */
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../network/protocol/version.js';
import { coordinatorFrameSchema, WORKER_SOCKET_PATH, type CoordinatorFrame, type WorkerFrame } from '../network/protocol/worker-frames.js';
import { decodeFrame, encodeFrame } from '../network/protocol/frame-codec.js';
import type { IdentityKeyPair } from '../network/protocol/descriptor.js';
import { NODE_ED25519, nodeIdentityKeyPairFromSeed } from '../network/node-kit/ed25519.js';
import { signHello } from '../network/protocol/worker-hello.js';
import { toBase64Url } from '../network/protocol/encoding.js';
import { createHash } from 'node:crypto';

/** What the parent asks of this process. */
export type LoadWorkersCommand =
  | { type: 'connect'; url: string; count: number; firstIndex: number; model: string; chunks: number; chunkIntervalMs: number; concurrency: number }
  /** Sets the time between chunks of the jobs offered from now on. */
  | { type: 'pace'; chunkIntervalMs: number }
  /** Starts counting ping gaps afresh (the hold window begins). */
  | { type: 'window' }
  | { type: 'report' }
  | { type: 'stop' };

/** What this process tells the parent. */
export type LoadWorkersReport =
  | { type: 'connected'; welcomed: number; failed: number; elapsedMs: number; firstError?: string }
  | {
      type: 'report';
      /** Workers whose socket is open and that were welcomed. */
      open: number;
      /** Open workers that heard at least `minPings` pings in the window, none late. */
      onTime: number;
      /** Largest gap between two pings any worker heard in the window, ms. */
      maxGapMs: number;
      pings: number;
      closes: number;
      jobs: number;
      receipts: number;
    };

/** A ping later than this after the one before is late: the coordinator pings every interval. */
const LATE_FACTOR = 1.5;

interface Sim {
  socket: WebSocket;
  welcomed: boolean;
  open: boolean;
  heartbeatMs: number;
  lastPingAt: number;
  windowPings: number;
  late: boolean;
}

const sims: Sim[] = [];
let windowMaxGapMs = 0;
let pings = 0;
let closes = 0;
let jobs = 0;
let receipts = 0;
let pacedIntervalMs: number | undefined;

function send(sim: Sim, frame: WorkerFrame): void {
  const encoded = encodeFrame(frame);
  if (encoded.ok && sim.socket.readyState === WebSocket.OPEN) sim.socket.send(encoded.value);
}

/** A stable identity per worker index, so a rerun against the same data dir is a reconnect. */
function identityFor(index: number): IdentityKeyPair {
  return nodeIdentityKeyPairFromSeed(createHash('sha256').update(`silkworm-load-worker-${index}`).digest());
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function streamJob(sim: Sim, jobId: string, chunks: number, intervalMs: number): void {
  jobs++;
  send(sim, { type: 'job.accept', jobId });
  let seq = 0;
  const next = () => {
    if (!sim.open) return;
    if (seq < chunks) {
      // The chunk carries its own send time: the client subtracts it from when it read it.
      send(sim, { type: 'job.chunk', jobId, seq, text: `${nowMs().toFixed(3)}|`, tokens: 1 });
      seq++;
      setTimeout(next, intervalMs);
      return;
    }
    send(sim, { type: 'job.done', jobId, finishReason: 'stop', usage: { promptTokens: 4, completionTokens: chunks } });
    send(sim, { type: 'capacity', available: true });
  };
  next();
}

function connectOne(url: string, index: number, command: Extract<LoadWorkersCommand, { type: 'connect' }>): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}${WORKER_SOCKET_PATH}`, { perMessageDeflate: false });
    const sim: Sim = { socket, welcomed: false, open: false, heartbeatMs: 5000, lastPingAt: 0, windowPings: 0, late: false };
    const workerId = `load-${index}`;
    let settled = false;
    const settle = (error?: string) => {
      if (settled) return;
      settled = true;
      resolve(error);
    };
    socket.on('open', () => (sim.open = true));
    socket.on('error', (error) => settle(error.message));
    socket.on('close', (code) => {
      if (sim.open && sim.welcomed) closes++;
      sim.open = false;
      settle(`closed ${code} before welcome`);
    });
    socket.on('message', (data: Buffer) => {
      const decoded = decodeFrame(coordinatorFrameSchema, data.toString('utf8'), data.length);
      if (!decoded.ok) {
        settle(decoded.error.message);
        socket.terminate();
        return;
      }
      onFrame(sim, workerId, decoded.value, command, settle);
    });
    sims.push(sim);
  });
}

function onFrame(sim: Sim, workerId: string, frame: CoordinatorFrame, command: Extract<LoadWorkersCommand, { type: 'connect' }>, settle: (error?: string) => void): void {
  switch (frame.type) {
    case 'challenge': {
      const identity = identityFor(Number(workerId.slice(5)));
      const identityKey = toBase64Url(identity.publicKey);
      const signature = signHello({ coordinatorId: frame.coordinatorId, nonce: frame.nonce, workerId, identityKey, payoutAddress: null }, identity, NODE_ED25519);
      send(sim, {
        type: 'hello',
        protocol: { min: PROTOCOL_VERSION, max: PROTOCOL_VERSION },
        workerId,
        appVersion: 'load-sim',
        capabilities: { models: [{ id: command.model, sha256: '0'.repeat(64), contextSize: 2048 }], maxConcurrentJobs: 1, tokensPerSecond: 50, priceCoefficient: 1, tier: 'unsandboxed' },
        available: true,
        identityKey,
        signature,
      });
      return;
    }
    case 'welcome':
      sim.welcomed = true;
      sim.heartbeatMs = frame.heartbeatIntervalMs;
      settle();
      return;
    case 'ping': {
      const now = performance.now();
      pings++;
      if (sim.lastPingAt > 0) {
        const gap = now - sim.lastPingAt;
        if (sim.windowPings > 0) windowMaxGapMs = Math.max(windowMaxGapMs, gap);
        if (sim.windowPings > 0 && gap > LATE_FACTOR * sim.heartbeatMs) sim.late = true;
      }
      sim.lastPingAt = now;
      sim.windowPings++;
      send(sim, { type: 'pong', seq: frame.seq, sentAt: frame.sentAt });
      return;
    }
    case 'job.offer':
      streamJob(sim, frame.jobId, command.chunks, pacedIntervalMs ?? command.chunkIntervalMs);
      return;
    case 'job.receipt':
      receipts++;
      send(sim, { type: 'receipt.ack', upTo: frame.seq });
      return;
    case 'incompatible':
    case 'error':
      settle(`${frame.type}: ${frame.message}`);
      return;
    default:
      return;
  }
}

async function connectAll(command: Extract<LoadWorkersCommand, { type: 'connect' }>): Promise<LoadWorkersReport> {
  const started = performance.now();
  let nextIndex = command.firstIndex;
  const end = command.firstIndex + command.count;
  let failed = 0;
  let firstError: string | undefined;
  // A bounded number of handshakes in flight, as many real workers joining at once would be.
  const lane = async () => {
    while (nextIndex < end) {
      const error = await connectOne(command.url, nextIndex++, command);
      if (error !== undefined) {
        failed++;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: command.concurrency }, lane));
  return { type: 'connected', welcomed: sims.filter((s) => s.welcomed && s.open).length, failed, elapsedMs: Math.round(performance.now() - started), ...(firstError ? { firstError } : {}) };
}

function report(): LoadWorkersReport {
  const open = sims.filter((s) => s.welcomed && s.open);
  // Two pings at least: one gap measured inside the window.
  const onTime = open.filter((s) => !s.late && s.windowPings >= 2).length;
  return { type: 'report', open: open.length, onTime, maxGapMs: Math.round(windowMaxGapMs), pings, closes, jobs, receipts };
}

process.on('message', (message: LoadWorkersCommand) => {
  const reply = (value: LoadWorkersReport) => process.send?.(value);
  switch (message.type) {
    case 'connect':
      void connectAll(message).then(reply);
      return;
    case 'window':
      windowMaxGapMs = 0;
      for (const s of sims) {
        s.windowPings = 0;
        s.late = false;
      }
      return;
    case 'report':
      reply(report());
      return;
    case 'pace':
      pacedIntervalMs = message.chunkIntervalMs;
      return;
    case 'stop':
      for (const s of sims) s.socket.terminate();
      process.disconnect();
      return;
  }
});
