import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCompositeSource, createReportedProbe, mergeSignals, unknownSignals, withMinInterval, type SignalProbe } from './signals.js';
import { gpuDevice } from './testing/fixtures.js';

const probe = (name: string, read: SignalProbe['read']): SignalProbe => ({ name, read });

test('mergeSignals: the first probe that knows a signal wins; unknown (null) falls through', () => {
  const merged = mergeSignals([
    { idleSeconds: null, screenLocked: true },
    { idleSeconds: 42, screenLocked: false, localSession: true },
  ]);
  assert.equal(merged.idleSeconds, 42);
  assert.equal(merged.screenLocked, true);
  assert.equal(merged.localSession, true);
  assert.equal(merged.battery, null);
});

test('mergeSignals: GPUs from several probes are combined; process lists stay unknown only if all are', () => {
  const merged = mergeSignals([
    { gpu: { devices: [gpuDevice()], otherProcesses: null } },
    { gpu: { devices: [gpuDevice({ index: 0, vendor: 'amd' })], otherProcesses: [{ pid: 7, name: 'blender', usedMemoryMb: 10 }] } },
  ]);
  assert.equal(merged.gpu?.devices.length, 2);
  assert.deepEqual(merged.gpu?.otherProcesses?.map((p) => p.pid), [7]);
  assert.equal(mergeSignals([{ gpu: { devices: [gpuDevice()], otherProcesses: null } }]).gpu?.otherProcesses, null);
});

test('composite source: a throwing, rejecting, hanging or empty probe yields unknown and never throws', async () => {
  const source = createCompositeSource(
    [
      probe('throws', () => {
        throw new Error('boom');
      }),
      probe('rejects', () => Promise.reject(new Error('nope'))),
      probe('hangs', () => new Promise(() => {})),
      probe('null', () => Promise.resolve(null as never)),
      probe('good', async () => ({ idleSeconds: 7 })),
    ],
    { timeoutMs: 50 },
  );
  const signals = await source.read();
  assert.deepEqual(signals, { ...unknownSignals(), idleSeconds: 7 });
  assert.deepEqual(source.lastFailures.map((f) => f.probe), ['throws', 'rejects', 'hangs', 'null']);
  assert.match(source.lastFailures[2]?.message ?? '', /timed out/);
});

test('composite source: watch hints from probes reach the listener until unsubscribed', () => {
  const reported = createReportedProbe('shell', { maxAgeMs: 1000 });
  const source = createCompositeSource([reported.probe, probe('plain', async () => ({}))]);
  let hints = 0;
  const stop = source.watch?.(() => (hints += 1));
  reported.report({ screenLocked: true });
  stop?.();
  reported.report({ screenLocked: false });
  assert.equal(hints, 1);
});

test('reported probe: values expire, so a dead reporter cannot pin a stale "away"', async () => {
  let now = 1000;
  const reported = createReportedProbe('shell', { maxAgeMs: 500, now: () => now });
  assert.deepEqual(await reported.probe.read(), {});
  reported.report({ idleSeconds: 900 });
  now = 1500;
  assert.deepEqual(await reported.probe.read(), { idleSeconds: 900 });
  now = 1501;
  assert.deepEqual(await reported.probe.read(), {});
});

test('withMinInterval: re-reads only after the interval', async () => {
  let now = 0;
  let reads = 0;
  const slow = withMinInterval(probe('slow', async () => ({ idleSeconds: ++reads })), 100, () => now);
  assert.deepEqual(await slow.read(), { idleSeconds: 1 });
  now = 99;
  assert.deepEqual(await slow.read(), { idleSeconds: 1 });
  now = 100;
  assert.deepEqual(await slow.read(), { idleSeconds: 2 });
});
