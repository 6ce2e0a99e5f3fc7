/**
 * Builds `window.api` from the IPC contract: one function per verb and `on(push, listener)`,
 * nothing else — never `ipcRenderer` itself. Listeners never see Electron's event object, and
 * each subscription returns its unsubscribe function. Electron-free so it is unit-tested.
 */
import { CHANNELS, PUSH_NAMES, VERB_NAMES, type PushName } from '../main/ipc/contract-names.js';
import type { Api } from '../main/ipc/contract.js';

/** The part of Electron's `ipcRenderer` the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/** The API object handed to contextBridge. */
export function createBridge(ipc: IpcRendererLike): Api {
  const api: Record<string, unknown> = {};
  for (const verb of VERB_NAMES) {
    api[verb] = (args?: unknown) => ipc.invoke(CHANNELS.invoke, verb, args);
  }
  api.on = (push: PushName, listener: (payload: unknown) => void) => {
    if (!(PUSH_NAMES as readonly string[]).includes(push)) throw new TypeError(`'${String(push)}' is not a push of this app.`);
    if (typeof listener !== 'function') throw new TypeError('on(push, listener): listener must be a function.');
    const handler = (_event: unknown, name: unknown, payload: unknown) => {
      if (name === push) listener(payload);
    };
    ipc.on(CHANNELS.push, handler);
    return () => {
      ipc.removeListener(CHANNELS.push, handler);
    };
  };
  return Object.freeze(api) as unknown as Api;
}
