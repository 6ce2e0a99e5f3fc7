/** The app's one window: hardened preferences, its own session partition, app:// content. */
import { session, nativeTheme, type BrowserWindow } from 'electron';
import { createHardenedWindow, hardenSession, serveApp } from './security.js';
import { APP_START_URL } from './url-policy.js';

/** The partition of the app window's session (kept apart from the default session). */
export const APP_PARTITION = 'persist:silkworm';

/** Creates (hidden until ready) the main window. */
export function createMainWindow(options: { preloadPath: string; rendererDir: string; iconPath?: string; show: boolean }): BrowserWindow {
  const appSession = session.fromPartition(APP_PARTITION);
  hardenSession(appSession);
  serveApp(appSession, options.rendererDir);
  const look = {
    width: 1180,
    height: 820,
    minWidth: 760,
    minHeight: 560,
    show: false,
    title: 'Silkworm',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#0e1116' : '#f5f6f8',
    autoHideMenuBar: true,
    ...(options.iconPath ? { icon: options.iconPath } : {}),
  };
  const window = createHardenedWindow(look, options.preloadPath, APP_PARTITION);
  window.once('ready-to-show', () => {
    if (options.show) window.show();
  });
  void window.loadURL(APP_START_URL);
  return window;
}
