import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SharingController } from './sharing-controller.js';
import type { Decision } from './policy.js';
import { unknownSignals, type Signals, type SignalSource } from './signals.js';
import { FakeClock, settle } from './testing/fake-clock.js';
import { MONDAY_NOON, awaySignals, knownSignals, makeSettings } from './testing/fixtures.js';

/** A source the test scripts: whatever `current` holds is what the next read returns. */
function scriptedSource(initial: Signals): SignalSource & { current: Signals; reads: number; hint(): void } {
  let listener: (() => void) | undefined;
  const source = {
    current: initial,
    reads: 0,
    async read() {
      source.reads += 1;
      return source.current;
    },
    watch(onHint: () => void) {
      listener = onHint;
      return () => (listener = undefined);
    },
    hint() {
      listener?.();
    },
  };
  return source;
}

function setup(initial: Signals, settings = makeSettings({ hysteresis: { minDwellSeconds: 30 } })) {
  const clock = new FakeClock(MONDAY_NOON);
  const source = scriptedSource(initial);
  const controller = new SharingController({ source, settings, clock, pollMs: 1000 });
  const decisions: Decision[] = [];
  controller.on('decision', (decision) => decisions.push(decision));
  return { clock, source, controller, decisions };
}

test('controller: follows the owner leaving, a game, and the owner coming back, counting shared time', async () => {
  const { clock, source, controller, decisions } = setup(knownSignals({ idleSeconds: 10 }));
  assert.equal(controller.currentDecision.summary, 'Paused: checking this PC');
  controller.start();
  await settle();
  assert.equal(controller.currentDecision.state, 'paused');
  assert.equal(decisions.length, 1, 'the first reading replaces the starting decision');

  source.current = awaySignals(5);
  await clock.advance(1000);
  assert.equal(controller.currentDecision.summary, 'Paused: resuming in 29 s', 'even a pause for the owner lasts the minimum');
  await clock.advance(29_000);
  assert.equal(controller.currentDecision.state, 'sharing');
  const sharedFrom = clock.now();

  source.current = awaySignals(6);
  await clock.advance(10_000);
  assert.equal(decisions.length, 3, 'live numbers changing is not a new decision');
  assert.equal(controller.currentDecision.summary, 'Sharing: away 6 min · no game · GPU 54 °C');

  source.current = awaySignals(6, { fullscreen: { detected: true, name: 'Cyberpunk 2077' } });
  await clock.advance(1000);
  assert.equal(controller.currentDecision.summary, 'Paused: Cyberpunk 2077 is fullscreen');
  const snapshot = controller.snapshot();
  assert.equal(snapshot.counters.sharedMs, clock.now() - sharedFrom);
  assert.equal(snapshot.counters.timesPaused, 1);
  assert.equal(snapshot.counters.timesStarted, 1);
  assert.equal(snapshot.lastChange, clock.now());

  source.current = awaySignals(7);
  await clock.advance(1000);
  assert.equal(controller.currentDecision.summary, 'Paused: resuming in 29 s');
  await clock.advance(29_000);
  assert.equal(controller.currentDecision.state, 'sharing', 'resumes once the minimum pause is over');
  assert.deepEqual(decisions.map((d) => d.state), ['paused', 'paused', 'sharing', 'paused', 'paused', 'sharing']);
  controller.stop();
});

test('controller: mode and settings change at runtime, invalid changes are refused', async () => {
  const { clock, controller, decisions } = setup(knownSignals({ idleSeconds: 10 }));
  controller.start();
  await settle();
  assert.equal(controller.currentDecision.state, 'paused');
  assert.equal(controller.setMode('polite').state, 'sharing');
  assert.notEqual(controller.currentDecision.caps, null);
  assert.equal(controller.setMode('off').summary, 'Off');
  assert.equal(controller.snapshot().mode, 'off');
  const refused = controller.updateSettings({ idleThresholdMinutes: 0 });
  assert.equal(refused.ok, false);
  assert.equal(controller.settings.idleThresholdMinutes, 5);
  assert.deepEqual(decisions.map((d) => d.state), ['paused', 'sharing', 'off']);
  await clock.advance(5000);
  assert.equal(controller.currentDecision.state, 'off', 'polling keeps the owner\'s Off');
  controller.stop();
});

test('controller: a push hint reads at once, stop ends polling', async () => {
  const { clock, source, controller } = setup(awaySignals(10));
  controller.start();
  await settle();
  assert.equal(controller.currentDecision.state, 'sharing');
  const readsBefore = source.reads;
  source.current = knownSignals({ idleSeconds: 0 });
  source.hint();
  await settle();
  assert.equal(source.reads, readsBefore + 1);
  assert.equal(controller.currentDecision.state, 'paused', 'the owner returning is seen without waiting for the poll');
  controller.stop();
  assert.equal(clock.pending, 0);
  await clock.advance(10_000);
  assert.equal(source.reads, readsBefore + 1);
});

test('controller: a source that throws counts an error and decides on unknown signals', async () => {
  const clock = new FakeClock(MONDAY_NOON);
  const source: SignalSource = { read: () => Promise.reject(new Error('broken')) };
  const controller = new SharingController({ source, settings: makeSettings({ mode: 'idle' }), clock });
  const decision = await controller.poll();
  assert.equal(decision.state, 'paused');
  assert.equal(decision.reasons[0]?.code, 'presence-unknown');
  assert.equal(controller.snapshot().counters.readErrors, 1);
  assert.deepEqual(controller.snapshot().signals, unknownSignals());
});

test('controller: an update event follows every poll; concurrent polls share one read', async () => {
  const { source, controller } = setup(awaySignals(10));
  let updates = 0;
  controller.on('update', () => (updates += 1));
  const [a, b] = await Promise.all([controller.poll(), controller.poll()]);
  assert.equal(a, b);
  assert.equal(source.reads, 1);
  assert.equal(updates, 1);
});

test('controller: Off reads nothing until a viewer asks for stale readings or the mode changes', async () => {
  const { clock, source, controller } = setup(awaySignals(10), makeSettings({ mode: 'off', hysteresis: { minDwellSeconds: 30 } }));
  controller.start();
  await settle();
  assert.equal(source.reads, 1, 'one reading at start');
  await clock.advance(10 * 60_000);
  assert.equal(source.reads, 1, 'no polling while Off');
  assert.equal(clock.pending, 0, 'no timer left running');
  await controller.refreshIfStale(30_000);
  assert.equal(source.reads, 2, 'a viewer refreshes readings older than 30 s');
  await controller.refreshIfStale(30_000);
  assert.equal(source.reads, 2, 'fresh readings are kept');
  controller.setMode('always');
  await settle();
  assert.equal(source.reads, 3, 'leaving Off reads at once');
  await clock.advance(1000);
  assert.equal(source.reads, 4, 'and polls again at the normal rate');
  controller.stop();
});
