import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createLogindProbe, createXprintidleProbe, parseIoregIdle, parseSessionBlocks, parseSessionIds, parseXprintidle, presenceFromSessions,
} from './idle.js';
import type { CommandRunner } from './run-command.js';

const NOW = Date.UTC(2025, 0, 6, 12, 0);
const usAgo = (seconds: number) => String((NOW - seconds * 1000) * 1000);

// Captured shapes of `loginctl list-sessions --no-legend` (systemd 252) and `loginctl show-session … -p …`.
const LIST = '     2 1000 alice seat0 tty2\n    17 1000 alice -     pts/1\n';
const desktop = (idle: 'yes' | 'no', sinceSecondsAgo: number, locked: 'yes' | 'no') =>
  `Id=2\nRemote=no\nSeat=seat0\nType=wayland\nClass=user\nActive=yes\nIdleHint=${idle}\nIdleSinceHint=${usAgo(sinceSecondsAgo)}\nLockedHint=${locked}`;
const SSH = 'Id=17\nRemote=yes\nSeat=\nType=tty\nClass=user\nActive=yes\nIdleHint=no\nIdleSinceHint=0\nLockedHint=no';
const GREETER = 'Id=c1\nRemote=no\nSeat=seat0\nType=wayland\nClass=greeter\nActive=yes\nIdleHint=no\nIdleSinceHint=0\nLockedHint=no';

test('idle: xprintidle milliseconds and ioreg nanoseconds become seconds', () => {
  assert.equal(parseXprintidle('754000\n'), 754);
  assert.equal(parseXprintidle("Couldn't open display"), null);
  assert.equal(parseIoregIdle('    | |   "HIDIdleTime" = 12500000000\n'), 12.5);
  assert.equal(parseIoregIdle(''), null);
});

test('idle: loginctl session ids and property blocks parse', () => {
  assert.deepEqual(parseSessionIds(LIST), ['2', '17']);
  assert.deepEqual(parseSessionIds(''), []);
  const blocks = parseSessionBlocks(`${desktop('no', 10, 'no')}\n\n${SSH}\n`);
  assert.equal(blocks.length, 2);
  assert.equal(blocks[1]?.Remote, 'yes');
});

test('idle: presence from logind sessions', () => {
  const blocks = (...texts: string[]) => parseSessionBlocks(texts.join('\n\n'));
  assert.deepEqual(presenceFromSessions(blocks(desktop('no', 30, 'no'), SSH), NOW), { idleSeconds: 0, screenLocked: false, localSession: true });
  assert.deepEqual(presenceFromSessions(blocks(desktop('yes', 600, 'yes')), NOW), { idleSeconds: 600, screenLocked: true, localSession: true });
  assert.deepEqual(presenceFromSessions(blocks(SSH), NOW), { idleSeconds: null, screenLocked: null, localSession: false }, 'ssh only: nobody at the PC');
  assert.equal(presenceFromSessions(blocks(GREETER), NOW).localSession, false, 'the login screen is nobody');
  const tty = 'Id=3\nRemote=no\nSeat=seat0\nType=tty\nClass=user\nActive=yes\nIdleHint=no\nIdleSinceHint=' + usAgo(90) + '\nLockedHint=no';
  assert.equal(presenceFromSessions(blocks(tty), NOW).idleSeconds, 90, 'a console session counts from its last keystroke');
});

test('idle: the logind probe asks for the listed sessions and reads them', async () => {
  const calls: string[][] = [];
  const run: CommandRunner = async (_file, args) => {
    calls.push([...args]);
    return { ok: true, stdout: args[0] === 'list-sessions' ? LIST : `${desktop('yes', 420, 'no')}\n\n${SSH}` };
  };
  const signals = await createLogindProbe({ run, now: () => NOW }).read();
  assert.deepEqual(signals, { idleSeconds: 420, screenLocked: false, localSession: true });
  assert.deepEqual(calls[1]?.slice(0, 3), ['show-session', '2', '17']);
});

test('idle: no sessions at all means nobody is at the PC', async () => {
  const run: CommandRunner = async () => ({ ok: true, stdout: '' });
  assert.deepEqual(await createLogindProbe({ run }).read(), { localSession: false });
});

test('idle: without logind or a display the probes report unknown', async () => {
  const down: CommandRunner = async () => ({ ok: false, reason: 'failed', message: 'System has not been booted with systemd' });
  assert.deepEqual(await createLogindProbe({ run: down }).read(), {});
  let ran = false;
  const spy: CommandRunner = async () => ((ran = true), { ok: true, stdout: '5' });
  assert.deepEqual(await createXprintidleProbe({ run: spy, env: {} }).read(), {});
  assert.equal(ran, false, 'xprintidle is not started without DISPLAY');
  assert.deepEqual(await createXprintidleProbe({ run: spy, env: { DISPLAY: ':0' } }).read(), { idleSeconds: 0.005 });
});
