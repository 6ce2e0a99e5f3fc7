/**
 * Serves the IPC contract over Electron IPC: one `handle` for every call, refusing any sender
 * that is not the app's own window showing the app's own page in its main frame, then the
 * same dispatch as the headless dashboard (unknown verbs and bad arguments refused, results
 * plain and secret-free). Pushes go only to the app's windows.
 *
 * Written against the few members of Electron's types it uses (structurally), so it is tested
 * under plain Node with fakes; `main/electron/main.ts` passes the real `ipcMain`.
 */
import { CHANNELS } from './contract.js';
import { dispatch, pushToWire, type ContractServices, type DispatchLog } from './dispatch.js';
import { fail, type Result } from './result.js';

/** The frame that sent a message (Electron's WebFrameMain). */
export interface SenderFrame {
  readonly url: string;
  readonly parent: unknown;
}

/** What an invoke handler receives (Electron's IpcMainInvokeEvent). */
export interface InvokeEvent {
  readonly sender: { readonly id: number };
  readonly senderFrame: SenderFrame | null;
}

/** The part of Electron's `ipcMain` used here. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEvent, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** A window's contents that pushes are sent to (Electron's WebContents). */
export interface PushTarget {
  readonly id: number;
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
}

/** Who may call: the app's windows, showing pages of the app's own origin. */
export interface SenderPolicy {
  /** The contents of the app's own windows, now. */
  windows(): readonly PushTarget[];
  /** The app's pages: scheme and host, e.g. { protocol: 'app:', host: 'silkworm' }. */
  origin: { protocol: string; host: string };
}

/** Why a sender is refused, or null when it is trusted. */
export function senderProblem(event: InvokeEvent, policy: SenderPolicy): string | null {
  const frame = event.senderFrame;
  if (!frame) return 'the sending frame is gone';
  if (frame.parent !== null && frame.parent !== undefined) return 'sub-frames may not call the app';
  let url: URL;
  try {
    url = new URL(frame.url);
  } catch {
    return 'the sender has no valid URL';
  }
  if (url.protocol !== policy.origin.protocol || url.host !== policy.origin.host) return `foreign origin ${url.protocol}//${url.host}`;
  if (!policy.windows().some((contents) => contents.id === event.sender.id)) return 'not one of the app’s windows';
  return null;
}

/** Registers the contract on `ipcMain` and forwards pushes; returns the function that undoes it. */
export function registerElectronIpc(ipcMain: IpcMainLike, services: ContractServices, policy: SenderPolicy, log?: DispatchLog): () => void {
  ipcMain.handle(CHANNELS.invoke, async (event, verb, args): Promise<Result<unknown>> => {
    const problem = senderProblem(event, policy);
    if (problem) {
      log?.('warn', { verb: typeof verb === 'string' ? verb.slice(0, 64) : typeof verb, problem }, 'IPC call refused');
      return fail('forbidden', 'This caller may not use the app’s API.');
    }
    return dispatch(services.handlers, verb, args, log);
  });
  const unsubscribe = services.subscribe((name, payload) => {
    // Services already send wire-safe payloads; checking again keeps this transport safe on its own.
    const wire = pushToWire(name, payload, log);
    if (wire === null) return;
    for (const contents of policy.windows()) if (!contents.isDestroyed()) contents.send(CHANNELS.push, name, wire);
  });
  return () => {
    unsubscribe();
    ipcMain.removeHandler(CHANNELS.invoke);
  };
}
