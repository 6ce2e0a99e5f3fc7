/**
 * The renderer's one API object: Electron's `window.api` (from the preload) when present,
 * otherwise the same contract over the headless dashboard's HTTP with the URL token.
 */
import type { Api } from '../../../main/ipc/contract.js';
import { createHttpApi, type StreamStatus } from './http-transport.js';
import { takeToken } from './token.js';

declare global {
  interface Window {
    /** Exposed by the preload in the desktop app; absent in a browser. */
    api?: Api;
  }
}

/** How the renderer reaches the worker. */
export type Transport = { kind: 'electron'; api: Api } | { kind: 'dashboard'; api: Api } | { kind: 'locked' };

/** Picks the transport once at startup; `onStatus` follows the dashboard's push stream. */
export function connect(onStatus: (status: StreamStatus) => void): Transport {
  if (window.api) return { kind: 'electron', api: window.api };
  const token = takeToken();
  if (!token) return { kind: 'locked' };
  return { kind: 'dashboard', api: createHttpApi(token, onStatus) };
}
