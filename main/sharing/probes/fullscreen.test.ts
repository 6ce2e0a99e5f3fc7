import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createForegroundProbe, createX11FullscreenProbe, parseActiveWindow, parseWindowProps } from './fullscreen.js';
import type { CommandRunner } from './run-command.js';

// Captured shapes of xprop output.
const ACTIVE = '_NET_ACTIVE_WINDOW(WINDOW): window id # 0x3a00007\n';
const PROTON_GAME = '_NET_WM_STATE(ATOM) = _NET_WM_STATE_FULLSCREEN, _NET_WM_STATE_FOCUSED\nWM_CLASS(STRING) = "steam_app_1091500", "steam_app_1091500"\n_NET_WM_NAME(UTF8_STRING) = "Cyberpunk 2077"\n';
const FIREFOX = '_NET_WM_STATE(ATOM) = _NET_WM_STATE_MAXIMIZED_VERT, _NET_WM_STATE_MAXIMIZED_HORZ\nWM_CLASS(STRING) = "Navigator", "firefox"\n_NET_WM_NAME(UTF8_STRING) = "My bank — Mozilla Firefox"\n';
const MPV = '_NET_WM_STATE(ATOM) = _NET_WM_STATE_FULLSCREEN\nWM_CLASS(STRING) = "gl", "mpv"\n_NET_WM_NAME(UTF8_STRING) = "holiday.mkv - mpv"\n';

test('fullscreen: xprop output parses; app names come from the window class, not the title', () => {
  assert.equal(parseActiveWindow(ACTIVE), '0x3a00007');
  assert.equal(parseActiveWindow('_NET_ACTIVE_WINDOW(WINDOW): window id # 0x0\n'), 'none');
  assert.equal(parseActiveWindow('_NET_ACTIVE_WINDOW:  not found.\n'), null);
  assert.deepEqual(parseWindowProps(PROTON_GAME), { fullscreen: true, app: 'Cyberpunk 2077' });
  assert.deepEqual(parseWindowProps(FIREFOX), { fullscreen: false, app: 'firefox' });
  assert.deepEqual(parseWindowProps(MPV), { fullscreen: true, app: 'mpv' });
  assert.deepEqual(parseWindowProps('_NET_WM_STATE:  not found.\n'), { fullscreen: false, app: null });
});

test('fullscreen: the X11 probe follows the active window', async () => {
  const run: CommandRunner = async (_file, args) => ({ ok: true, stdout: args[0] === '-root' ? ACTIVE : MPV });
  assert.deepEqual(await createX11FullscreenProbe({ run, env: { DISPLAY: ':0' } }).read(), { fullscreen: { detected: true, name: 'mpv' } });
  const none: CommandRunner = async () => ({ ok: true, stdout: '_NET_ACTIVE_WINDOW(WINDOW): window id # 0x0\n' });
  assert.deepEqual(await createX11FullscreenProbe({ run: none, env: { DISPLAY: ':0' } }).read(), { fullscreen: { detected: false } });
});

test('fullscreen: no display, no xprop or a broken native query all read as unknown', async () => {
  assert.deepEqual(await createX11FullscreenProbe({ env: {} }).read(), {});
  const missing: CommandRunner = async () => ({ ok: false, reason: 'missing', message: 'xprop is not installed' });
  assert.deepEqual(await createX11FullscreenProbe({ run: missing, env: { DISPLAY: ':0' } }).read(), {});
  assert.deepEqual(await createForegroundProbe('native', () => Promise.reject(new Error('addon not loaded'))).read(), {});
  assert.deepEqual(await createForegroundProbe('native', async () => ({ fullscreen: true, app: null })).read(), { fullscreen: { detected: true, name: 'A fullscreen app' } });
});
