// The switch, the tray and the Dashboard say what sharing does, in one plain sentence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reason } from '../sharing/reasons.js';
import { explainSharing, switchLabel } from './sharing-words.js';
import { trayMenu } from './tray-menu.js';

test('the switch is labelled for the mode it turns on', () => {
  assert.equal(switchLabel('idle'), 'Share GPU when idle');
  assert.equal(switchLabel('polite'), 'Share GPU politely');
  assert.equal(switchLabel('always'), 'Share GPU always');
});

test('every paused state is one plain sentence, with its one-click fix where there is one', () => {
  const paused = (item: ReturnType<typeof reason>) => explainSharing({ state: 'paused', reasons: [item] });
  assert.deepEqual(paused(reason('owner-active', 'block', { idleSeconds: 20, thresholdMinutes: 5 })), {
    sentence: 'Paused while you use this PC. Sharing starts after 5 min without keyboard or mouse.',
    fix: { label: 'Share politely while I work', action: { kind: 'set-mode', mode: 'polite' } },
  });
  assert.deepEqual(paused(reason('presence-unknown', 'block', {})).fix, { label: 'Share always on this PC', action: { kind: 'set-mode', mode: 'always' } });
  assert.deepEqual(paused(reason('on-battery', 'block', { percent: 40 })).fix?.action, { kind: 'share-on-battery' });
  assert.equal(paused(reason('gpu-hot', 'block', { tempC: 88.4, maxC: 83, resumeC: 78 })).sentence, 'Paused: the GPU is at 88 °C, over your 83 °C limit.');
  assert.deepEqual(paused(reason('game', 'block', { name: 'Cyberpunk 2077' })), { sentence: 'Paused while Cyberpunk 2077 is running.', fix: null }, 'no fix: the owner is playing');
  for (const item of [reason('fullscreen', 'block', { app: 'VLC' }), reason('gpu-busy', 'block', { processes: ['blender'] }), reason('quiet-hours', 'block', { until: '07:00' }), reason('cooldown', 'block', { remainingSeconds: 42 })]) {
    const { sentence } = paused(item);
    assert.match(sentence, /^[A-Z].*\.$/, `a sentence: ${sentence}`);
    assert.doesNotMatch(sentence, /·|signal|nvidia|rocm/i, 'no fragments, no developer words');
  }
});

test('sharing and off are sentences too', () => {
  assert.equal(explainSharing({ state: 'sharing', reasons: [reason('away', 'allow', { idleMinutes: 12 }), reason('no-game', 'allow', {})] }).sentence, 'Sharing: you have been away 12 min.');
  assert.equal(explainSharing({ state: 'sharing', reasons: [reason('owner-active', 'cap', { idleSeconds: 3, thresholdMinutes: 5 })] }).sentence, 'Sharing within your polite limits while you use this PC.');
  assert.deepEqual(explainSharing({ state: 'off', reasons: [reason('mode-off', 'block', {})] }), { sentence: 'Sharing is off. Turn it on to earn while you are away.', fix: null });
});

test('the tray says the same: the sentence, and a switch for the mode it turns on', () => {
  const decision = { state: 'paused' as const, reasons: [reason('game', 'block', { name: 'Doom' })] };
  const on = trayMenu({ mode: 'always', decision: decision as never }, 'idle');
  assert.equal(on.tooltip, 'Silkworm — Paused while Doom is running.');
  assert.deepEqual(on.items.find((item) => item.kind === 'switch'), { kind: 'switch', label: 'Share GPU always', checked: true, mode: 'off' });
  const off = trayMenu({ mode: 'off', decision: { state: 'off', reasons: [] } as never }, 'polite');
  assert.deepEqual(off.items.find((item) => item.kind === 'switch'), { kind: 'switch', label: 'Share GPU politely', checked: false, mode: 'polite' });
});
