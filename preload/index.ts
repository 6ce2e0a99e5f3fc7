/**
 * The preload of the app's window (sandboxed, context-isolated): exposes the IPC contract's
 * verbs as `window.api` and nothing else. Bundled to one CommonJS file by
 * `npx vite build --mode preload`, as sandboxed preloads require.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createBridge, type IpcRendererLike } from './create-bridge.js';

contextBridge.exposeInMainWorld('api', createBridge(ipcRenderer as unknown as IpcRendererLike));
