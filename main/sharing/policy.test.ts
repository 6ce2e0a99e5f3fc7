import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from './policy.js';
import type { Signals } from './signals.js';
import { MONDAY_NOON, awaySignals, gpuDevice, knownSignals, makeSettings, utc } from './testing/fixtures.js';

interface Case {
  name: string;
  settings?: Record<string, unknown>;
  signals: Signals;
  now?: number;
  state: 'sharing' | 'paused' | 'off';
  blocks?: string[];
  summary?: string;
  capped?: boolean;
}

const unknownPresence = { idleSeconds: null, screenLocked: null, localSession: null };
const cyberpunkFullscreen = { detected: true as const, name: 'Cyberpunk 2077' };
const weekdayEvenings = [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '18:00', end: '23:00' }];
const fridayNight = [{ days: ['fri'], start: '22:00', end: '02:00' }];
const nightlyQuiet = { windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '23:00', end: '07:00' }] };
const blender = { devices: [gpuDevice()], otherProcesses: [{ pid: 4242, name: '/usr/bin/blender', usedMemoryMb: 3000 }] };

const cases: Case[] = [
  // Modes and presence
  { name: 'off never shares', settings: { mode: 'off' }, signals: awaySignals(), state: 'off', summary: 'Off' },
  { name: 'idle: away long enough shares', signals: awaySignals(12, { gpu: { devices: [gpuDevice({ tempC: 54 })], otherProcesses: [] } }), state: 'sharing', summary: 'Sharing: away 12 min · no game · GPU 54 °C' },
  { name: 'idle: owner active pauses', signals: knownSignals({ idleSeconds: 30 }), state: 'paused', blocks: ['owner-active'] },
  { name: 'idle: just under the threshold pauses', signals: knownSignals({ idleSeconds: 299 }), state: 'paused', blocks: ['owner-active'] },
  { name: 'idle: exactly the threshold shares', signals: knownSignals({ idleSeconds: 300 }), state: 'sharing' },
  { name: 'idle: a locked screen counts as away', signals: knownSignals({ idleSeconds: 10, screenLocked: true }), state: 'sharing', summary: 'Sharing: screen locked · no game · GPU 54 °C' },
  { name: 'idle: no local session (headless box) counts as away', signals: knownSignals({ ...unknownPresence, localSession: false }), state: 'sharing' },
  { name: 'idle: unknown presence pauses', signals: knownSignals(unknownPresence), state: 'paused', blocks: ['presence-unknown'] },
  { name: 'polite: owner active shares with caps', settings: { mode: 'polite' }, signals: knownSignals({ idleSeconds: 5 }), state: 'sharing', capped: true },
  { name: 'polite: unknown presence shares with caps', settings: { mode: 'polite' }, signals: knownSignals(unknownPresence), state: 'sharing', capped: true },
  { name: 'polite: owner away shares without caps', settings: { mode: 'polite' }, signals: awaySignals(), state: 'sharing', capped: false },
  { name: 'always: owner active still shares', settings: { mode: 'always' }, signals: knownSignals({ idleSeconds: 1 }), state: 'sharing', summary: 'Sharing: always on · GPU 54 °C' },
  // Foreground
  { name: 'idle: fullscreen app pauses even when away', signals: awaySignals(30, { fullscreen: cyberpunkFullscreen }), state: 'paused', summary: 'Paused: Cyberpunk 2077 is fullscreen' },
  { name: 'idle: a running game pauses', signals: awaySignals(30, { game: { detected: true, name: 'Elden Ring' } }), state: 'paused', summary: 'Paused: Elden Ring is running' },
  { name: 'polite: a game pauses', settings: { mode: 'polite' }, signals: knownSignals({ game: { detected: true, name: 'Dota 2' } }), state: 'paused', blocks: ['game'] },
  { name: 'always: a game does not pause', settings: { mode: 'always' }, signals: knownSignals({ fullscreen: cyberpunkFullscreen }), state: 'sharing' },
  { name: 'idle: unknown game detection does not pause', signals: awaySignals(12, { fullscreen: null, game: null }), state: 'sharing', summary: 'Sharing: away 12 min · GPU 54 °C' },
  // GPU
  { name: 'idle: GPU used by another program pauses', signals: awaySignals(12, { gpu: blender }), state: 'paused', summary: 'Paused: GPU in use by blender' },
  { name: 'idle: an ignored GPU program does not pause', settings: { gpuBusyIgnore: ['Blender'] }, signals: awaySignals(12, { gpu: blender }), state: 'sharing' },
  { name: 'always: another GPU program does not pause', settings: { mode: 'always' }, signals: knownSignals({ gpu: blender }), state: 'sharing' },
  { name: 'hot GPU pauses', signals: awaySignals(12, { gpu: { devices: [gpuDevice({ tempC: 90 })], otherProcesses: [] } }), state: 'paused', summary: 'Paused: GPU 90 °C, over your 83 °C limit' },
  { name: 'hot GPU pauses Always too', settings: { mode: 'always' }, signals: knownSignals({ gpu: { devices: [gpuDevice({ tempC: 90 })], otherProcesses: [] } }), state: 'paused', blocks: ['gpu-hot'] },
  { name: 'the hottest of several GPUs counts', signals: awaySignals(12, { gpu: { devices: [gpuDevice(), gpuDevice({ index: 1, tempC: 84 })], otherProcesses: [] } }), state: 'paused', blocks: ['gpu-hot'] },
  { name: 'exactly at the temperature cap still shares', signals: awaySignals(12, { gpu: { devices: [gpuDevice({ tempC: 83 })], otherProcesses: [] } }), state: 'sharing' },
  { name: 'unknown GPU shares', signals: awaySignals(12, { gpu: null }), state: 'sharing', summary: 'Sharing: away 12 min · no game' },
  { name: 'power over the cap pauses', settings: { maxPowerW: 250 }, signals: awaySignals(12, { gpu: { devices: [gpuDevice({ powerW: 200 }), gpuDevice({ index: 1, powerW: 100 })], otherProcesses: [] } }), state: 'paused', summary: 'Paused: GPU drawing 300 W, over your 250 W limit' },
  // Battery
  { name: 'on battery pauses by default', signals: awaySignals(12, { battery: { onBattery: true, percent: 57 } }), state: 'paused', summary: 'Paused: on battery (57%)' },
  { name: 'on battery shares when the owner allows it', settings: { onBattery: 'share' }, signals: awaySignals(12, { battery: { onBattery: true, percent: 57 } }), state: 'sharing' },
  { name: 'on battery pauses Always too', settings: { mode: 'always' }, signals: knownSignals({ battery: { onBattery: true, percent: null } }), state: 'paused', blocks: ['on-battery'] },
  { name: 'unknown battery shares', signals: awaySignals(12, { battery: null }), state: 'sharing' },
  // Schedule and quiet hours
  { name: 'outside the schedule pauses and names the next start', settings: { schedule: weekdayEvenings }, signals: awaySignals(), now: MONDAY_NOON, state: 'paused', summary: 'Paused: outside your schedule (next: Mon 18:00)' },
  { name: 'schedule start is inclusive', settings: { schedule: weekdayEvenings }, signals: awaySignals(), now: utc(1, 18, 0), state: 'sharing' },
  { name: 'schedule end is exclusive', settings: { schedule: weekdayEvenings }, signals: awaySignals(), now: utc(1, 23, 0), state: 'paused', blocks: ['outside-schedule'] },
  { name: 'Friday evening after the week is done points to Monday', settings: { schedule: weekdayEvenings }, signals: awaySignals(), now: utc(5, 23, 30), state: 'paused', summary: 'Paused: outside your schedule (next: Mon 18:00)' },
  { name: 'schedule crossing midnight covers the small hours', settings: { schedule: fridayNight }, signals: awaySignals(), now: utc(6, 1, 59), state: 'sharing' },
  { name: 'schedule crossing midnight ends at its end', settings: { schedule: fridayNight }, signals: awaySignals(), now: utc(6, 2, 0), state: 'paused', blocks: ['outside-schedule'] },
  { name: 'schedule crossing midnight does not cover the start day morning', settings: { schedule: fridayNight }, signals: awaySignals(), now: utc(5, 1, 0), state: 'paused', blocks: ['outside-schedule'] },
  { name: 'schedule uses the configured time zone', settings: { schedule: weekdayEvenings, timeZone: 'Asia/Tokyo' }, signals: awaySignals(), now: utc(1, 9, 30), state: 'sharing' },
  { name: 'quiet hours pause before their end', settings: { quietHours: nightlyQuiet }, signals: awaySignals(), now: utc(2, 6, 59), state: 'paused', summary: 'Paused: quiet hours until 07:00' },
  { name: 'quiet hours end at their end', settings: { quietHours: nightlyQuiet }, signals: awaySignals(), now: utc(2, 7, 0), state: 'sharing' },
  { name: 'quiet hours start at their start', settings: { quietHours: nightlyQuiet }, signals: awaySignals(), now: utc(6, 23, 0), state: 'paused', blocks: ['quiet-hours'] },
  { name: 'quiet hours wrap from Saturday night into Sunday', settings: { quietHours: nightlyQuiet }, signals: awaySignals(), now: utc(0, 3, 0), state: 'paused', blocks: ['quiet-hours'] },
  { name: 'polite quiet hours share with caps', settings: { quietHours: { ...nightlyQuiet, behaviour: 'polite' } }, signals: awaySignals(), now: utc(2, 1, 0), state: 'sharing', capped: true },
  { name: 'quiet hours pause Always too', settings: { mode: 'always', quietHours: nightlyQuiet }, signals: knownSignals(), now: utc(2, 1, 0), state: 'paused', blocks: ['quiet-hours'] },
  // Several reasons at once
  { name: 'every blocking reason is listed', signals: knownSignals({ idleSeconds: 3, fullscreen: cyberpunkFullscreen, battery: { onBattery: true, percent: 20 } }), state: 'paused', blocks: ['owner-active', 'fullscreen', 'on-battery'] },
];

for (const item of cases) {
  test(`policy: ${item.name}`, () => {
    const decision = decide(item.signals, makeSettings(item.settings), item.now ?? MONDAY_NOON);
    assert.equal(decision.state, item.state);
    assert.equal(decision.share, item.state === 'sharing');
    if (item.blocks) assert.deepEqual(decision.reasons.filter((r) => r.effect === 'block').map((r) => r.code), item.blocks);
    if (item.summary) assert.equal(decision.summary, item.summary);
    if (item.capped !== undefined) assert.equal(decision.caps !== null, item.capped);
    if (item.state === 'sharing') assert.ok(!decision.reasons.some((r) => r.effect === 'block'), 'a sharing decision has no blocking reason');
  });
}

test('policy: polite caps carry the owner limits, the lower power limit winning', () => {
  const settings = makeSettings({ mode: 'polite', maxPowerW: 100, polite: { maxVramMb: 2048, maxGpuLayers: 12, maxTokensPerSecond: 8, maxPowerW: 150 } });
  const decision = decide(knownSignals({ idleSeconds: 2 }), settings, MONDAY_NOON);
  assert.deepEqual(decision.caps, { maxVramMb: 2048, maxGpuLayers: 12, maxTokensPerSecond: 8, maxPowerW: 100 });
  assert.equal(decision.summary, "Sharing politely: you're using the PC, polite limits on · no game · GPU 54 °C");
});

test('policy: unknown signals are listed as information, not reasons to pause', () => {
  const decision = decide(awaySignals(12, { gpu: null, battery: null, fullscreen: null, game: null }), makeSettings(), MONDAY_NOON);
  const unknown = decision.reasons.find((r) => r.code === 'signal-unknown');
  assert.equal(unknown?.effect, 'info');
  assert.deepEqual(unknown?.code === 'signal-unknown' && unknown.params.signals, ['game detection', 'GPU', 'battery']);
});

test('policy: the same inputs give the same decision', () => {
  const settings = makeSettings({ schedule: weekdayEvenings });
  assert.deepEqual(decide(awaySignals(), settings, MONDAY_NOON), decide(awaySignals(), settings, MONDAY_NOON));
});
