import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SHARING_SETTINGS, applySettingsPatch, parseSharingSettings } from './settings.js';

test('settings: a fresh install is off, with defaults everywhere', () => {
  assert.equal(DEFAULT_SHARING_SETTINGS.mode, 'off');
  assert.equal(DEFAULT_SHARING_SETTINGS.idleThresholdMinutes, 5);
  assert.equal(DEFAULT_SHARING_SETTINGS.polite.maxVramMb, 4096);
  assert.equal(DEFAULT_SHARING_SETTINGS.hysteresis.tempMarginC, 5);
  assert.deepEqual(DEFAULT_SHARING_SETTINGS.quietHours, { windows: [], behaviour: 'pause' });
});

test('settings: a partial object fills nested defaults', () => {
  const result = parseSharingSettings({ mode: 'polite', polite: { maxTokensPerSecond: 5 } });
  assert.ok(result.ok);
  assert.equal(result.value.polite.maxTokensPerSecond, 5);
  assert.equal(result.value.polite.maxGpuLayers, 20);
  assert.equal(result.value.onBattery, 'pause');
});

test('settings: bad values are refused as values, with a readable message', () => {
  const cases: unknown[] = [
    { mode: 'sometimes' },
    { idleThresholdMinutes: 0 },
    { schedule: [{ days: ['mon'], start: '18:00', end: '18:00' }] },
    { schedule: [{ days: ['mon'], start: '24:00', end: '02:00' }] },
    { schedule: [{ days: ['mon'], start: '7:00', end: '09:00' }] },
    { schedule: [{ days: [], start: '07:00', end: '09:00' }] },
    { quietHours: { windows: [{ days: ['funday'], start: '23:00', end: '07:00' }] } },
    { timeZone: 'Mars/Olympus_Mons' },
    { maxPowerW: -5 },
  ];
  for (const input of cases) {
    const result = parseSharingSettings(input);
    assert.equal(result.ok, false, JSON.stringify(input));
    if (!result.ok) {
      assert.equal(result.error.code, 'invalid-settings');
      assert.ok(result.error.message.length > 0);
    }
  }
});

test('settings: windows may cross midnight and end at 24:00', () => {
  const result = parseSharingSettings({ schedule: [{ days: ['fri'], start: '22:00', end: '02:00' }, { days: ['sun'], start: '00:00', end: '24:00' }] });
  assert.ok(result.ok);
  assert.equal(result.value.schedule.length, 2);
});

test('settings: a patch merges nested groups one level deep and is validated', () => {
  const current = { ...DEFAULT_SHARING_SETTINGS, maxPowerW: 300 };
  const patched = applySettingsPatch(current, { mode: 'idle', hysteresis: { minDwellSeconds: 10 } });
  assert.ok(patched.ok);
  assert.equal(patched.value.mode, 'idle');
  assert.equal(patched.value.maxPowerW, 300);
  assert.equal(patched.value.hysteresis.minDwellSeconds, 10);
  assert.equal(patched.value.hysteresis.tempMarginC, 5);
  assert.equal(applySettingsPatch(current, { idleThresholdMinutes: -1 }).ok, false);
});
