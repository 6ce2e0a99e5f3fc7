/**
 * The renderer's store against a scripted worker API: a state asked for (getState) and a state
 * pushed can cross on the way, and the screen must keep the newer one. Seen in Chromium: the
 * Dashboard asked for the state just before the worker was welcomed back after a refusal, the
 * push saying "connected" came first, and the older answer put "Refused" back for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Api, AppState, PushName } from '../../../main/ipc/contract.js';
import { bindPushes, createAppStore } from './app-store.js';

/** A state that differs only in what the test reads: the link's status and the revision. */
const stateOf = (status: AppState['worker']['status'], revision: number) => ({ worker: { status }, revision }) as unknown as AppState;

/** An API whose getState answers when the test says, and whose pushes the test sends. */
function scriptedApi() {
  const listeners = new Map<PushName, (payload: unknown) => void>();
  const answers: ((state: AppState) => void)[] = [];
  const api = new Proxy({} as Api, {
    get: (_target, name) => {
      if (name === 'on') return (push: PushName, listener: (payload: unknown) => void) => (listeners.set(push, listener), () => listeners.delete(push));
      if (name === 'getState') return () => new Promise((resolve) => answers.push((state) => resolve({ ok: true, value: state })));
      if (name === 'setSharingMode') return async () => ({ ok: true, value: stateOf('refused', 3) });
      return async () => ({ ok: false, error: { code: 'unsupported', message: 'not scripted' } });
    },
  });
  return { api, push: (name: PushName, payload: unknown) => listeners.get(name)?.(payload), answer: (state: AppState) => answers.shift()?.(state) };
}

test('an answer older than a push does not undo it; a newer one replaces it, and the state reads as loaded', async () => {
  const { api, push, answer } = scriptedApi();
  const store = createAppStore(api);
  bindPushes(store, api);
  push('state', stateOf('refused', 1));
  const asked = store.getState().loadState();
  push('state', stateOf('connected', 3)); // welcomed again while the answer (taken at 2) was on its way
  answer(stateOf('refused', 2));
  await asked;
  assert.equal(store.getState().state.value?.worker.status, 'connected', 'the older answer did not put "Refused" back');
  assert.equal(store.getState().state.status, 'ready');

  const again = store.getState().loadState();
  answer(stateOf('refused', 4));
  await again;
  assert.equal(store.getState().state.value?.worker.status, 'refused', 'a newer answer is taken');
  push('state', stateOf('connected', 4 - 1));
  assert.equal(store.getState().state.value?.revision, 4, 'and an older push does not undo it either');

  await store.getState().setMode('always'); // answered with revision 3: older than what is shown
  assert.equal(store.getState().state.value?.revision, 4);
});
