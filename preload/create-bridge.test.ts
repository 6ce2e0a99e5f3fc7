import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHANNELS, VERB_NAMES } from '../main/ipc/contract-names.js';
import { createBridge, type IpcRendererLike } from './create-bridge.js';

function fakeIpc() {
  const calls: unknown[][] = [];
  const listeners = new Set<(event: unknown, ...args: unknown[]) => void>();
  const ipc: IpcRendererLike = {
    invoke: async (...args) => (calls.push(args), { ok: true, value: null }),
    on: (_channel, listener) => listeners.add(listener),
    removeListener: (_channel, listener) => listeners.delete(listener),
  };
  return { ipc, calls, listeners };
}

test('window.api has exactly the contract verbs plus on(), and no ipcRenderer', () => {
  const api = createBridge(fakeIpc().ipc) as unknown as Record<string, unknown>;
  assert.deepEqual(Object.keys(api).sort(), [...VERB_NAMES, 'on'].sort());
  assert.ok(Object.values(api).every((value) => typeof value === 'function'));
  assert.ok(Object.isFrozen(api));
  assert.equal(api.ipcRenderer, undefined);
  assert.equal(api.send, undefined);
});

test('a verb is one invoke on the contract channel', async () => {
  const { ipc, calls } = fakeIpc();
  await createBridge(ipc).setSharingMode({ mode: 'idle' });
  assert.deepEqual(calls, [[CHANNELS.invoke, 'setSharingMode', { mode: 'idle' }]]);
});

test('listeners get the payload of their push only, never the event, and can unsubscribe', () => {
  const { ipc, listeners } = fakeIpc();
  const api = createBridge(ipc);
  const got: unknown[] = [];
  const stop = api.on('state', (payload) => got.push(payload));
  const sender = { sender: { send: () => undefined } };
  for (const listener of listeners) {
    listener(sender, 'job', { phase: 'started' });
    listener(sender, 'state', { updatedAt: 1 });
  }
  assert.deepEqual(got, [{ updatedAt: 1 }]);
  stop();
  assert.equal(listeners.size, 0);
  assert.throws(() => api.on('secrets' as 'state', () => undefined), /not a push/);
});
