import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHANNELS } from './contract.js';
import { registerElectronIpc, senderProblem, type InvokeEvent, type IpcMainLike, type PushTarget, type SenderPolicy } from './register-electron.js';
import { createTestServices } from '../app/testing/fake-core.js';
import type { Result } from './result.js';

/** An ipcMain stand-in that records the one handler and lets tests invoke it. */
function fakeIpcMain() {
  const handlers = new Map<string, (event: InvokeEvent, ...args: unknown[]) => unknown>();
  const ipc: IpcMainLike = {
    handle: (channel, listener) => void handlers.set(channel, listener),
    removeHandler: (channel) => void handlers.delete(channel),
  };
  const invoke = (event: InvokeEvent, ...args: unknown[]) => {
    const handler = handlers.get(CHANNELS.invoke);
    assert.ok(handler, 'no handler registered');
    return handler(event, ...args) as Promise<Result<unknown>>;
  };
  return { ipc, handlers, invoke };
}

function target(id: number, sent: unknown[][] = [], destroyed = false): PushTarget {
  return { id, isDestroyed: () => destroyed, send: (...args) => void sent.push(args) };
}

const APP_WINDOW = 7;
const policy = (windows: PushTarget[] = [target(APP_WINDOW)]): SenderPolicy => ({ windows: () => windows, origin: { protocol: 'app:', host: 'silkworm' } });
const fromApp: InvokeEvent = { sender: { id: APP_WINDOW }, senderFrame: { url: 'app://silkworm/index.html', parent: null } };

test('calls from the app window, main frame, app origin are served', async () => {
  const { services } = await createTestServices();
  const { ipc, invoke } = fakeIpcMain();
  registerElectronIpc(ipc, services, policy());
  const result = await invoke(fromApp, 'getWallet', undefined);
  assert.equal(result.ok, true);
});

test('foreign senders are refused: other origins, sub-frames, other windows, vanished frames', async () => {
  const { services } = await createTestServices();
  const { ipc, invoke } = fakeIpcMain();
  const refusals: string[] = [];
  registerElectronIpc(ipc, services, policy(), (_level, fields) => void refusals.push(String(fields.problem)));
  const foreign: InvokeEvent[] = [
    { sender: { id: APP_WINDOW }, senderFrame: { url: 'https://evil.example/', parent: null } },
    { sender: { id: APP_WINDOW }, senderFrame: { url: 'file:///home/owner/index.html', parent: null } },
    { sender: { id: APP_WINDOW }, senderFrame: { url: 'app://silkworm.evil/index.html', parent: null } },
    { sender: { id: APP_WINDOW }, senderFrame: { url: 'app://silkworm/index.html', parent: { url: 'app://silkworm/' } } },
    { sender: { id: 99 }, senderFrame: { url: 'app://silkworm/index.html', parent: null } },
    { sender: { id: APP_WINDOW }, senderFrame: null },
    { sender: { id: APP_WINDOW }, senderFrame: { url: 'not a url', parent: null } },
  ];
  for (const event of foreign) {
    const result = await invoke(event, 'setSharingMode', { mode: 'always' });
    assert.deepEqual(result, { ok: false, error: { code: 'forbidden', message: 'This caller may not use the app’s API.' } }, JSON.stringify(event));
  }
  assert.equal(refusals.length, foreign.length);
  assert.equal(senderProblem(fromApp, policy()), null);
});

test('a refused caller changes nothing', async () => {
  const { services, fake } = await createTestServices();
  const { ipc, invoke } = fakeIpcMain();
  registerElectronIpc(ipc, services, policy());
  await invoke({ sender: { id: 3 }, senderFrame: { url: 'https://evil.example/', parent: null } }, 'setSharingMode', { mode: 'always' });
  assert.equal(fake.sharing.settings.mode, 'off');
  await invoke(fromApp, 'setSharingMode', { mode: 'always' });
  assert.equal(fake.sharing.settings.mode, 'always');
});

test('unknown verbs and bad arguments are refused over IPC too', async () => {
  const { services } = await createTestServices();
  const { ipc, invoke } = fakeIpcMain();
  registerElectronIpc(ipc, services, policy());
  const unknown = await invoke(fromApp, 'openFile', { path: '/etc/passwd' });
  assert.equal(!unknown.ok && unknown.error.code, 'unknown-verb');
  const bad = await invoke(fromApp, 'setAutoStart', { enabled: 'yes' });
  assert.equal(!bad.ok && bad.error.code, 'bad-arguments');
});

test('pushes reach only live app windows, on the push channel, as plain data', async () => {
  const { services, fake } = await createTestServices();
  const { ipc, handlers } = fakeIpcMain();
  const live: unknown[][] = [];
  const gone: unknown[][] = [];
  const dispose = registerElectronIpc(ipc, services, policy([target(APP_WINDOW, live), target(8, gone, true)]));
  fake.worker.emit('job-started', { jobId: 'job-1', model: 'm' });
  assert.ok(live.length >= 2);
  assert.equal(gone.length, 0);
  assert.ok(live.every(([channel]) => channel === CHANNELS.push));
  assert.deepEqual(live.map(([, name]) => name).slice(0, 2), ['job', 'state']);
  dispose();
  assert.equal(handlers.size, 0);
  const before = live.length;
  fake.worker.emit('job-started', { jobId: 'job-2', model: 'm' });
  assert.equal(live.length, before);
});
