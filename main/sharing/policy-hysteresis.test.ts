import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, isSameDecision, requiredPauseMs, type Decision } from './policy.js';
import type { SharingSettings } from './settings.js';
import type { Signals } from './signals.js';
import { MONDAY_NOON, awaySignals, gpuDevice, knownSignals, makeSettings } from './testing/fixtures.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Feeds a timeline of (offset ms, signals) through decide(), threading the previous decision. */
function run(settings: SharingSettings, steps: Array<[number, Signals]>): Decision[] {
  const decisions: Decision[] = [];
  let previous: Decision | undefined;
  for (const [offset, signals] of steps) {
    previous = decide(signals, settings, MONDAY_NOON + offset, previous);
    decisions.push(previous);
  }
  return decisions;
}

const states = (decisions: Decision[]): string[] => decisions.map((d) => d.state);
const atTemp = (tempC: number, idleMinutes = 30): Signals => awaySignals(idleMinutes, { gpu: { devices: [gpuDevice({ tempC })], otherProcesses: [] } });
const atPower = (powerW: number): Signals => awaySignals(30, { gpu: { devices: [gpuDevice({ powerW })], otherProcesses: [] } });

test('hysteresis: the owner coming back pauses at once and sharing waits for the full threshold again', () => {
  const decisions = run(makeSettings({ idleThresholdMinutes: 5 }), [
    [0, awaySignals(12)],
    [2 * SECOND, knownSignals({ idleSeconds: 1 })],
    [4 * MINUTE, knownSignals({ idleSeconds: 4 * 60 - 2 })],
    [5 * MINUTE + 1 * SECOND, knownSignals({ idleSeconds: 5 * 60 - 1 })],
    [5 * MINUTE + 2 * SECOND, knownSignals({ idleSeconds: 5 * 60 })],
  ]);
  assert.deepEqual(states(decisions), ['sharing', 'paused', 'paused', 'paused', 'sharing']);
  assert.equal(decisions[1]?.since, MONDAY_NOON + 2 * SECOND, 'the pause starts when the owner came back');
  assert.equal(decisions[3]?.since, MONDAY_NOON + 2 * SECOND, 'since stays while the state stays');
});

test('hysteresis: after a heat pause, sharing resumes only below the cap minus the margin', () => {
  const settings = makeSettings({ maxGpuTempC: 83, hysteresis: { tempMarginC: 5, minDwellSeconds: 0 } });
  const decisions = run(settings, [
    [0, atTemp(80)],
    [10 * SECOND, atTemp(84)],
    [20 * SECOND, atTemp(82)],
    [30 * SECOND, atTemp(79)],
    [40 * SECOND, atTemp(78)],
    [50 * SECOND, atTemp(82)],
  ]);
  assert.deepEqual(states(decisions), ['sharing', 'paused', 'paused', 'paused', 'sharing', 'sharing']);
  assert.equal(decisions[2]?.summary, 'Paused: GPU cooling down (82 °C, resumes at 78 °C)');
});

test('hysteresis: after a power pause, sharing resumes only below the cap minus the margin', () => {
  const settings = makeSettings({ maxPowerW: 250, hysteresis: { powerMarginPercent: 10, minDwellSeconds: 0 } });
  const decisions = run(settings, [
    [0, atPower(240)],
    [10 * SECOND, atPower(260)],
    [20 * SECOND, atPower(240)],
    [30 * SECOND, atPower(225)],
  ]);
  assert.deepEqual(states(decisions), ['sharing', 'paused', 'paused', 'sharing']);
});

test('hysteresis: a cleared condition waits out the minimum pause, showing the countdown', () => {
  const settings = makeSettings({ hysteresis: { minDwellSeconds: 60 } });
  const game = awaySignals(30, { game: { detected: true, name: 'Dota 2' } });
  const decisions = run(settings, [
    [0, awaySignals(30)],
    [5 * SECOND, game],
    [15 * SECOND, awaySignals(30)],
    [64 * SECOND, awaySignals(30)],
    [65 * SECOND, awaySignals(30)],
  ]);
  assert.deepEqual(states(decisions), ['sharing', 'paused', 'paused', 'paused', 'sharing']);
  assert.equal(decisions[2]?.summary, 'Paused: resuming in 50 s');
  assert.equal(decisions[3]?.summary, 'Paused: resuming in 1 s');
});

test('hysteresis: pausing is never delayed, even right after sharing started', () => {
  const decisions = run(makeSettings({ hysteresis: { minDwellSeconds: 600 } }), [
    [0, awaySignals(30)],
    [1 * SECOND, awaySignals(30, { fullscreen: { detected: true, name: 'mpv' } })],
  ]);
  assert.deepEqual(states(decisions), ['sharing', 'paused']);
});

test('hysteresis: repeated heat or power pauses double the minimum pause, and a clean run resets it', () => {
  const settings = makeSettings({ maxPowerW: 250, hysteresis: { minDwellSeconds: 60, maxCooldownMinutes: 30 } });
  const decisions = run(settings, [
    [0, atPower(200)],
    [1 * MINUTE, atPower(300)], // strike 1: 60 s pause
    [2 * MINUTE, atPower(100)],
    [3 * MINUTE, atPower(300)], // strike 2: 120 s pause
    [4 * MINUTE + 30 * SECOND, atPower(100)],
    [5 * MINUTE, atPower(100)],
    [36 * MINUTE, atPower(100)], // 31 clean minutes
  ]);
  assert.deepEqual(states(decisions), ['sharing', 'paused', 'sharing', 'paused', 'paused', 'sharing', 'sharing']);
  assert.deepEqual(decisions.map((d) => d.strikes), [0, 1, 1, 2, 2, 2, 0]);
  assert.equal(decisions[4]?.summary, 'Paused: resuming in 30 s');
  assert.equal(requiredPauseMs(settings, 3), 4 * MINUTE);
  assert.equal(requiredPauseMs(settings, 20), 30 * MINUTE, 'the pause is capped');
});

test('hysteresis: pauses for the owner do not count as strikes', () => {
  const decisions = run(makeSettings(), [
    [0, awaySignals(30)],
    [1 * MINUTE, knownSignals({ idleSeconds: 0 })],
  ]);
  assert.equal(decisions[1]?.strikes, 0);
});

test('hysteresis: the owner changing the mode takes effect at once', () => {
  const idle = makeSettings({ hysteresis: { minDwellSeconds: 600 } });
  const paused = decide(awaySignals(30, { game: { detected: true, name: 'Dota 2' } }), idle, MONDAY_NOON);
  const stillWaiting = decide(awaySignals(30), idle, MONDAY_NOON + 5 * SECOND, paused);
  assert.equal(stillWaiting.state, 'paused');
  const always = decide(awaySignals(30), { ...idle, mode: 'always' }, MONDAY_NOON + 6 * SECOND, stillWaiting);
  assert.equal(always.state, 'sharing');
});

test('hysteresis: turning sharing on from Off does not wait', () => {
  const off = decide(awaySignals(30), makeSettings({ mode: 'off' }), MONDAY_NOON);
  const on = decide(awaySignals(30), makeSettings({ mode: 'idle', hysteresis: { minDwellSeconds: 600 } }), MONDAY_NOON + SECOND, off);
  assert.equal(off.state, 'off');
  assert.equal(on.state, 'sharing');
});

test('isSameDecision: live numbers are not a change; state, caps and blocking reasons are', () => {
  const settings = makeSettings({ mode: 'polite' });
  const away12 = decide(awaySignals(12), settings, MONDAY_NOON);
  const away13 = decide(awaySignals(13), settings, MONDAY_NOON + MINUTE, away12);
  const active = decide(knownSignals({ idleSeconds: 1 }), settings, MONDAY_NOON + 2 * MINUTE, away13);
  assert.notEqual(away12.summary, away13.summary);
  assert.equal(isSameDecision(away12, away13), true);
  assert.equal(active.state, 'sharing');
  assert.equal(isSameDecision(away13, active), false, 'polite caps switching on is a change');
});
