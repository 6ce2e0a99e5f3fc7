/**
 * The bus between coordinator instances, on a real nats-server: presence makes a worker of one
 * instance routable on the other, its changes follow, it leaves when it disconnects, and all of
 * an instance's workers leave when its beats stop. Frames cross both ways: a turn's frames in one
 * message to an instance that reads them so, one by one to an instance of the first bus format.
 * An instance that joins late learns the others' workers at once; one that loses its link drops
 * the others at once, learns their workers again when the link is back, and can close meanwhile.
 * Bad `--bus` values and an unreachable server give clear errors without leaking the password.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect } from '@nats-io/transport-node';
import { ClusterBus, RemoteWorker, redactBusUrl } from './bus.js';
import { parseBusUrl } from './cli.js';
import { WorkerRegistry, type RegisteredWorker, type RegisteredWorkerEvents } from './worker-registry.js';
import { createLogger } from './log.js';
import type { WorkerStandingFigures } from './store.js';
import type { CoordinatorFrame } from '../protocol/worker-frames.js';
import { freePort, missingBinary, startNats, type TestEngine } from '../node-kit/test-engines.js';
import { CuttableProxy } from '../node-kit/test-proxy.js';

const skip = missingBinary('nats-server') ?? false;
if (skip) console.log(`skipped: the coordinators' bus — ${skip}`);
const logger = createLogger('coordinator', { level: (process.env.BUS_LOG as 'debug' | undefined) ?? 'silent' });

/** A worker on this instance's own socket, as far as the bus can tell. */
class LocalWorker extends EventEmitter<RegisteredWorkerEvents> implements RegisteredWorker {
  readonly instance = undefined;
  identityKey = 'key-of-w1';
  models = new Set(['m']);
  contextSizes = new Map([['m', 4096]]);
  tier = 'sandboxed' as const;
  available = true;
  running = 0;
  maxConcurrentJobs = 2;
  lastAssignedAt = 0;
  reputation = 0.5;
  ttftMs = 120;
  tokensPerSecond = 40;
  priceCoefficient = 1;
  payoutAddress: string | undefined;
  descriptor = undefined;
  readonly sent: CoordinatorFrame[] = [];
  constructor(readonly id: string) {
    super();
  }
  send(frame: CoordinatorFrame): boolean {
    this.sent.push(frame);
    return true;
  }
  close(_code: number, reason: string): void {
    this.emit('closed', reason);
  }
  readonly records: WorkerStandingFigures[] = [];
  applyRecord(record: WorkerStandingFigures): void {
    this.records.push(record);
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("a remote worker's count of jobs is never below this instance's own, whatever stale count its instance publishes", () => {
  const remote = new RemoteWorker('w', 'inst-b', undefined as never);
  const state = (running: number) => ({ id: 'w', identityKey: 'k', models: [['m', 2048]] as [string, number][], tier: 'unsandboxed' as const, available: true, running, maxConcurrentJobs: 4, reputation: 0.5, ttftMs: 0, tokensPerSecond: 0, priceCoefficient: 1 });
  remote.update(state(0));
  for (let i = 0; i < 4; i++) remote.running++; // four offers sent from here
  assert.equal(remote.running, 4);
  remote.update(state(0)); // published before any of them arrived there
  assert.equal(remote.running, 4, 'still four: the worker would refuse a fifth');
  remote.update(state(3)); // it saw three of them, and another instance's job ended
  assert.equal(remote.running, 4);
  remote.running = Math.max(0, remote.running - 1); // one of ours ended
  assert.equal(remote.running, 3);
  remote.update(state(4)); // ours, plus one from another instance
  assert.equal(remote.running, 4);
  remote.running = Math.max(0, remote.running - 1); // another of ours ended: off the published count too
  assert.equal(remote.running, 3, 'the freed slot is seen at once, not at the next publish');
  for (let i = 0; i < 3; i++) remote.running = Math.max(0, remote.running - 1);
  assert.equal(remote.running, 0);
});

describe('the bus between coordinator instances', { skip }, () => {
  let nats: TestEngine;
  const buses: ClusterBus[] = [];
  // Every bus stays joined until the end of the file: two of one id would be one instance
  // restarting over and over to the others, so each test takes ids of its own.
  const ids = new Set<string>();
  const instance = (id: string) => {
    assert.ok(!ids.has(id), `instance id ${id} is taken by another test of this file`);
    ids.add(id);
    return { registry: new WorkerRegistry(), id };
  };
  const join_ = async (side: { registry: WorkerRegistry; id: string }) => {
    const bus = await ClusterBus.start({ url: nats.url, instance: side.id, registry: side.registry, logger, beatMs: 100, syncMs: 20 });
    buses.push(bus);
    return bus;
  };

  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    for (const bus of buses) await bus.close();
    await nats?.stop();
  });

  test('a worker on one instance becomes routable on the other, follows its changes, and leaves', async () => {
    const a = instance('inst-a');
    const b = instance('inst-b');
    await join_(a);
    const busB = await join_(b);
    const local = new LocalWorker('w1');
    b.registry.add(local);
    await until(() => a.registry.get('w1') instanceof RemoteWorker, 'w1 to appear on a');
    const remote = a.registry.get('w1') as RemoteWorker;
    assert.equal(remote.instance, 'inst-b');
    assert.deepEqual([...remote.contextSizes], [['m', 4096]]);
    assert.equal(remote.tier, 'sandboxed');
    assert.equal(remote.reputation, 0.5);
    assert.equal(remote.descriptor, undefined, 'sealed jobs stay on the instance the client called');
    assert.deepEqual([...a.registry.local()], [], 'a has none of its own');
    await until(() => busB.peers.includes('inst-a'), 'b to hear a’s beats');

    local.available = false;
    await until(() => !remote.available, 'the change of capacity to cross');

    // An offer travels to the worker's instance, which takes a slot; the job's frames come back.
    const frames: string[] = [];
    remote.on('frame', (frame) => frames.push(frame.type));
    assert.equal(remote.send({ type: 'job.offer', jobId: 'job-1', model: 'm', messages: [{ role: 'user', content: 'hi' }], params: { maxTokens: 4, temperature: 0 } }), true);
    await until(() => local.sent.length === 1, 'the offer to reach the worker');
    assert.equal(local.sent[0]?.type, 'job.offer');
    assert.equal(local.running, 1, 'the slot is taken on the worker’s own instance');
    local.emit('frame', { type: 'job.accept', jobId: 'job-1' });
    local.emit('frame', { type: 'job.chunk', jobId: 'job-1', seq: 0, text: 'x', tokens: 1 });
    local.emit('frame', { type: 'job.done', jobId: 'job-1', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 } });
    // Not a job of a's: a frame for another job is not sent anywhere.
    local.emit('frame', { type: 'job.accept', jobId: 'job-unrelated' });
    await until(() => frames.length === 3, 'the job’s frames to come back');
    assert.deepEqual(frames, ['job.accept', 'job.chunk', 'job.done']);
    assert.equal(local.running, 0, 'done frees the slot');

    // Standing moved by a job a settled: b mirrors the figures a stored, with no store of its own to read.
    const standing = { identityKey: 'key-of-w1', reputation: 0.75, ttftMs: 80, tokensPerSecond: 55, ejectedAt: null };
    remote.applyRecord(standing);
    assert.equal(remote.reputation, 0.75);
    await until(() => local.records.length === 1, 'the standing to reach the worker’s instance');
    assert.deepEqual(local.records[0], standing);
    // Figures for an identity the worker no longer has are not mirrored.
    remote.applyRecord({ ...standing, identityKey: 'an-older-key', reputation: 0.1 });
    // Figures out of bounds, or none, from anyone on the bus: dropped, nothing mirrored.
    const nc = await connect({ servers: nats.url });
    nc.publish('silkworm.to.inst-b', JSON.stringify({ kind: 'record', origin: 'inst-a', workerId: 'w1', standing: { ...standing, reputation: 5 } }));
    nc.publish('silkworm.to.inst-b', JSON.stringify({ kind: 'record', origin: 'inst-a', workerId: 'w1' }));
    await nc.flush();
    await nc.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(local.records.length, 1);

    let closed = '';
    remote.once('closed', (reason) => (closed = reason));
    local.close(0, 'socket closed');
    await until(() => a.registry.get('w1') === undefined, 'w1 to leave a');
    assert.match(closed, /left instance inst-b/);
  });

  test('an instance that joins later learns at once of the workers already on the others', async () => {
    const early = instance('inst-early');
    await join_(early);
    early.registry.add(new LocalWorker('w-early'));
    // Long enough for w-early's state to have gone out (every 20 ms here) and for several beats.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const late = instance('inst-late');
    await join_(late);
    // Not at the next full sync (every 30 s): the instance that hears a newcomer beats before
    // it sends its workers, and a newcomer takes workers only from an instance heard beating.
    await until(() => late.registry.get('w-early') instanceof RemoteWorker, 'w-early to appear on inst-late');
    assert.equal((late.registry.get('w-early') as RemoteWorker).instance, 'inst-early');
  });

  test('an instance that loses the bus drops the others at once, has their workers again soon after the link is back though they never dropped it, and closes while it is away', async () => {
    // g beats slowly: it does not notice h's link gone for seconds, so it never drops h itself.
    const g = instance('inst-slow');
    const busG = await ClusterBus.start({ url: nats.url, instance: g.id, registry: g.registry, logger, beatMs: 10_000, syncMs: 20 });
    buses.push(busG);
    g.registry.add(new LocalWorker('w-slow'));
    const proxy = await CuttableProxy.start({ host: '127.0.0.1', port: Number(new URL(nats.url).port) });
    try {
      const h = instance('inst-cut');
      const busH = await ClusterBus.start({ url: `nats://127.0.0.1:${proxy.port}`, instance: h.id, registry: h.registry, logger, beatMs: 100, syncMs: 20 });
      buses.push(busH);
      await until(() => h.registry.get('w-slow') instanceof RemoteWorker, 'w-slow to appear on h');
      assert.equal(busH.connected, true);

      await proxy.cut();
      await until(() => !busH.connected, 'h to see its link lost');
      assert.equal(h.registry.get('w-slow'), undefined, 'g’s worker leaves h’s routing at once');
      await proxy.restore();
      await until(() => busH.connected, 'h to reconnect');
      // Not at g's next full publish, 30 s away: h's goodbye and beat make it a newcomer to g.
      await until(() => h.registry.get('w-slow') instanceof RemoteWorker, 'w-slow to appear on h again');

      // An instance that closes while its bus is away closes all the same (a drain would wait for ever).
      await proxy.cut();
      await until(() => !busH.connected, 'h to see its link lost again');
      buses.splice(buses.indexOf(busH), 1);
      const closed = await Promise.race([busH.close().then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 10_000, 'still closing'))]);
      assert.equal(closed, 'closed');
    } finally {
      await proxy.stop();
    }
  });

  test('an instance that leaves, restarts, or whose beats stop, loses its workers on the others', async () => {
    const c = instance('inst-c');
    const d = instance('inst-d');
    await join_(c);
    const busD = await join_(d);
    d.registry.add(new LocalWorker('w2'));
    await until(() => c.registry.get('w2') instanceof RemoteWorker, 'w2 to appear on c');
    let closed = '';
    c.registry.get('w2')?.once('closed', (reason) => (closed = reason));
    buses.splice(buses.indexOf(busD), 1);
    await busD.close();
    await until(() => c.registry.get('w2') === undefined, 'w2 to leave c');
    assert.match(closed, /inst-d is gone \(it left the bus\)/);

    // An instance that restarts comes back as a newcomer; one killed says no goodbye. Here a
    // scripted peer speaks the bus: it announces w3, restarts, announces w4, and falls silent.
    const nc = await connect({ servers: nats.url });
    const announce = (epoch: string, id: string) => {
      const state = { id, identityKey: 'k', models: [['m', 2048]], tier: 'unsandboxed', available: true, running: 0, maxConcurrentJobs: 1, reputation: 0.3, ttftMs: 0, tokensPerSecond: 0, priceCoefficient: 1 };
      nc.publish('silkworm.presence', JSON.stringify({ type: 'beat', instance: 'inst-killed', epoch }));
      nc.publish('silkworm.presence', JSON.stringify({ type: 'workers', instance: 'inst-killed', workers: [state], gone: [] }));
      return nc.flush();
    };
    try {
      await announce('run-1', 'w3');
      await until(() => c.registry.get('w3') instanceof RemoteWorker, 'w3 to appear on c');
      c.registry.get('w3')?.once('closed', (reason) => (closed = reason));
      await announce('run-2', 'w4');
      await until(() => c.registry.get('w4') instanceof RemoteWorker, 'w4 to appear on c');
      assert.equal(c.registry.get('w3'), undefined, 'what the previous run announced is gone');
      assert.match(closed, /inst-killed is gone \(it restarted\)/);
    } finally {
      await nc.close();
    }
    const silentFrom = Date.now();
    c.registry.get('w4')?.once('closed', (reason) => (closed = reason));
    await until(() => c.registry.get('w4') === undefined, 'w4 to leave c');
    assert.match(closed, /inst-killed is gone \(its beats stopped\)/);
    assert.ok(Date.now() - silentFrom >= 150, 'not before the beats were missed');
  });

  test('a worker that reconnects drops the jobs other instances had on its old connection, and they hear it', async () => {
    const f = instance('inst-f');
    const g = instance('inst-g');
    await join_(f);
    await join_(g);
    const first = new LocalWorker('w6');
    g.registry.add(first);
    await until(() => f.registry.get('w6') instanceof RemoteWorker, 'w6 to appear on f');
    const remote = f.registry.get('w6') as RemoteWorker;
    const frames: string[] = [];
    remote.on('frame', (frame) => frames.push(`${frame.type}:${frame.type === 'job.error' ? frame.code : ''}`));
    remote.send({ type: 'job.offer', jobId: 'job-r', model: 'm', messages: [{ role: 'user', content: 'hi' }], params: { maxTokens: 4, temperature: 0 } });
    await until(() => first.sent.length === 1, 'the offer to reach the worker');
    g.registry.add(new LocalWorker('w6')); // the same worker, on a new connection: the old one closes
    await until(() => frames.length === 1, 'f to hear the job was lost');
    assert.deepEqual(frames, ['job.error:worker_lost']);
    assert.equal(f.registry.get('w6'), remote, 'the worker itself is still routable through g');
  });

  test('jobs that a vanished instance started on our workers are stopped, and their slots free', async () => {
    const e = instance('inst-owner');
    await join_(e);
    const local = new LocalWorker('w5');
    e.registry.add(local);
    const nc = await connect({ servers: nats.url });
    try {
      nc.publish('silkworm.presence', JSON.stringify({ type: 'beat', instance: 'inst-origin', epoch: 'run-1' }));
      const offer = { type: 'job.offer', jobId: 'job-orphan', model: 'm', messages: [{ role: 'user', content: 'hi' }], params: { maxTokens: 4, temperature: 0 } };
      nc.publish('silkworm.to.inst-owner', JSON.stringify({ kind: 'send', origin: 'inst-origin', workerId: 'w5', frame: offer }));
      await nc.flush();
    } finally {
      await nc.close();
    }
    await until(() => local.sent.some((f) => f.type === 'job.offer'), 'the offer to reach the worker');
    assert.equal(local.running, 1);
    // inst-origin falls silent: the owner cancels its job on the worker.
    await until(() => local.sent.some((f) => f.type === 'job.cancel' && f.jobId === 'job-orphan'), 'the orphaned job to be cancelled');
    local.emit('frame', { type: 'job.error', jobId: 'job-orphan', code: 'cancelled', message: 'stopped' });
    assert.equal(local.running, 0, 'the worker said it stopped: its slot is free');
  });

  test("a turn's frames go back in one message to an instance that reads them, in order; one at a time to one that does not", async () => {
    const h = instance('inst-h');
    const k = instance('inst-k');
    await join_(h);
    const busK = await join_(k);
    const local = new LocalWorker('w7');
    local.maxConcurrentJobs = 1;
    k.registry.add(local);
    await until(() => h.registry.get('w7') instanceof RemoteWorker && busK.peers.includes('inst-h'), 'h and k to know each other');
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few beats: k hears what h reads
    const watcher = await connect({ servers: nats.url });
    const seen: { kind: string; frames?: unknown[] }[] = [];
    const watching = watcher.subscribe('silkworm.from.>', { callback: (_error, msg) => void seen.push(JSON.parse(msg.string()) as { kind: string }) });
    await watcher.flush();
    try {
      const remote = h.registry.get('w7') as RemoteWorker;
      const frames: string[] = [];
      remote.on('frame', (frame) => frames.push(frame.type === 'job.chunk' ? `chunk ${frame.seq}` : frame.type));
      remote.send({ type: 'job.offer', jobId: 'job-b', model: 'm', messages: [{ role: 'user', content: 'hi' }], params: { maxTokens: 16, temperature: 0 } });
      await until(() => local.sent.length === 1, 'the offer to reach the worker');
      // Everything in one turn, as when a worker's socket delivers a burst.
      local.emit('frame', { type: 'job.accept', jobId: 'job-b' });
      for (let seq = 0; seq < 10; seq++) local.emit('frame', { type: 'job.chunk', jobId: 'job-b', seq, text: 'x', tokens: 1 });
      local.emit('frame', { type: 'job.done', jobId: 'job-b', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 10 } });
      const expected = ['job.accept', ...Array.from({ length: 10 }, (_, i) => `chunk ${i}`), 'job.done'];
      await until(() => frames.length === expected.length, 'the frames to come back');
      assert.deepEqual(frames, expected);
      await watcher.flush();
      assert.deepEqual(
        seen.map((m) => [m.kind, m.frames?.length]),
        [['frames', 12]],
        'one message for the twelve frames',
      );
      // A `frames` message with a bad frame, or too many, is dropped whole.
      const chunk = (seq: number) => ({ workerId: 'w7', frame: { type: 'job.chunk', jobId: 'job-b', seq, text: 'y', tokens: 1 } });
      watcher.publish('silkworm.from.inst-h', JSON.stringify({ kind: 'frames', frames: [chunk(10), { workerId: 'w7', frame: { type: 'job.chunk', jobId: 'job-b', seq: -1 } }] }));
      watcher.publish('silkworm.from.inst-h', JSON.stringify({ kind: 'frames', frames: Array.from({ length: 257 }, (_, i) => chunk(11 + i)) }));
      await watcher.flush();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(frames.length, expected.length, 'nothing from the malformed messages');
    } finally {
      watching.unsubscribe();
      await watcher.close();
    }

    // A peer of the first bus format (scripted: it beats, never says what it reads, or says it
    // for a run that is not the one it beats as) gets one message per frame.
    const old = await connect({ servers: nats.url });
    const got: { kind: string }[] = [];
    old.subscribe('silkworm.from.inst-old', { callback: (_error, msg) => void got.push(JSON.parse(msg.string()) as { kind: string }) });
    try {
      old.publish('silkworm.presence', JSON.stringify({ type: 'beat', instance: 'inst-old', epoch: 'run-1' }));
      old.publish('silkworm.features', JSON.stringify({ instance: 'inst-old', epoch: 'another-run', reads: ['frames'] }));
      const offer = { type: 'job.offer', jobId: 'job-o', model: 'm', messages: [{ role: 'user', content: 'hi' }], params: { maxTokens: 4, temperature: 0 } };
      old.publish('silkworm.to.inst-k', JSON.stringify({ kind: 'send', origin: 'inst-old', workerId: 'w7', frame: offer }));
      await old.flush();
      await until(() => local.sent.some((f) => f.type === 'job.offer' && f.jobId === 'job-o'), 'the old peer’s offer to reach the worker');
      local.emit('frame', { type: 'job.accept', jobId: 'job-o' });
      local.emit('frame', { type: 'job.chunk', jobId: 'job-o', seq: 0, text: 'x', tokens: 1 });
      local.emit('frame', { type: 'job.done', jobId: 'job-o', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 1 } });
      await until(() => got.length === 3, 'the frames to reach the old peer');
      assert.deepEqual(got.map((m) => m.kind), ['frame', 'frame', 'frame']);
    } finally {
      await old.close();
    }
  });

  test('the round trip to each peer is measured with the beats, only for peers that answer pings; routing sees it on their workers', async () => {
    const p = instance('inst-p');
    const q = instance('inst-q');
    const busP = await join_(p);
    await join_(q);
    q.registry.add(new LocalWorker('w-q'));
    await until(() => busP.roundTripMs('inst-q') > 0, 'a round trip to q to be measured');
    assert.ok(busP.roundTripMs('inst-q') < 100, `a local nats-server answers within a beat (${busP.roundTripMs('inst-q')} ms)`);
    await until(() => p.registry.get('w-q') instanceof RemoteWorker, 'w-q to appear on p');
    const remote = p.registry.get('w-q') as RemoteWorker;
    assert.equal(remote.relayMs, busP.roundTripMs('inst-q'), "a remote worker carries its instance's round trip");

    // Scripted peers beating as one run: one that does not say it reads pings (never pinged,
    // 0), one that says so but has nobody answering (a beat away: 100 ms, the first sample).
    const script = await connect({ servers: nats.url });
    let pinged = 0;
    script.subscribe('silkworm.ping.inst-mute', { callback: (_error, msg) => void (pinged++, msg.respond()) });
    const beat = () => {
      for (const [id, reads] of [['inst-mute', ['frames']], ['inst-deaf', ['frames', 'ping']]] as const) {
        script.publish('silkworm.presence', JSON.stringify({ type: 'beat', instance: id, epoch: 'run-1' }));
        script.publish('silkworm.features', JSON.stringify({ instance: id, epoch: 'run-1', reads }));
      }
    };
    beat();
    const beating = setInterval(beat, 50);
    try {
      await until(() => busP.roundTripMs('inst-deaf') > 0, 'the unanswered peer to be measured');
      assert.equal(busP.roundTripMs('inst-deaf'), 100);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(busP.peers.includes('inst-mute'));
      assert.equal(pinged, 0, 'a peer that does not say it answers is not asked');
      assert.equal(busP.roundTripMs('inst-mute'), 0);
    } finally {
      clearInterval(beating);
      await script.close();
    }
    await until(() => !busP.peers.includes('inst-deaf'), 'the scripted peers to be dropped once their beats stop');
    assert.equal(busP.roundTripMs('inst-deaf'), 0, 'forgotten with the peer');
  });

  test('bad --bus values and an unreachable server are clear errors, without the password', async () => {
    assert.throws(() => parseBusUrl('localhost:4222'), /not a nats:\/\/ URL|not a URL/);
    assert.throws(() => parseBusUrl('http://localhost:4222'), /not a nats:\/\/ URL/);
    assert.throws(() => parseBusUrl('nats://localhost'), /has no port/);
    assert.equal(parseBusUrl('nats://a:4222, nats://b:4222'), 'nats://a:4222,nats://b:4222');
    assert.equal(redactBusUrl('nats://user:secret@a:4222,nats://b:4222'), 'nats://***@a:4222,nats://b:4222');
    const port = await freePort();
    const side = instance('inst-unreachable');
    await assert.rejects(ClusterBus.start({ url: `nats://user:secret@127.0.0.1:${port}`, instance: side.id, registry: side.registry, logger }), (error: Error) => {
      assert.match(error.message, /Cannot join the bus at nats:\/\/\*\*\*@127\.0\.0\.1/);
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
  });
});
