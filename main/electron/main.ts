/**
 * The desktop app's composition root (Electron main). It reads like a table of contents: one
 * line per concern, each concern in its own file. Everything the app does — sharing policy,
 * worker core, job process, services — is started and assembled by main/app/desktop-app.ts,
 * the same code the tests run under Node; this file only adds what needs Electron: the window,
 * tray, IPC, powerMonitor, and the shell's capabilities (keychain, notifications, the browser,
 * login items) and updates.
 */
import { app, dialog, ipcMain, type BrowserWindow } from 'electron';
import { join } from 'node:path';
import { createLogger } from '../../network/node-kit/log.js';
import { createCompositeSource } from '../sharing/signals.js';
import { createDefaultProbes } from '../sharing/probes/index.js';
import { startDesktopApp, type DesktopApp } from '../app/desktop-app.js';
import { LogRing } from '../app/log-ring.js';
import { registerElectronIpc } from '../ipc/register-electron.js';
import { hardenAllContents, openExternalSafely, registerAppScheme } from './security.js';
import { APP_ORIGIN } from './url-policy.js';
import { electronKeychain } from './secret-store.js';
import { createMainWindow } from './window.js';
import { createTray } from './tray.js';
import { notify } from './notifications.js';
import { createPowerMonitorProbe } from './power-probe.js';
import { UtilityProcessLauncher } from './utility-launcher.js';
import { createAutoStart } from './auto-start.js';
import { loadAppConfig } from './app-config.js';
import { setupAutoUpdate } from './updater.js';

const logs = new LogRing();
const logger = createLogger('app', { destination: logs.tee(process.stdout) });
let window: BrowserWindow | null = null;
let quitting = false;

/** The packaged (or development) folders the app loads from. */
function paths() {
  const root = app.getAppPath();
  const resources = app.isPackaged ? process.resourcesPath : join(root, 'build');
  return {
    preload: join(root, 'dist', 'preload', 'index.cjs'),
    renderer: join(root, 'dist', 'renderer'),
    trayIcon: join(resources, 'icons', process.platform === 'darwin' ? 'trayTemplate.png' : 'tray.png'),
    windowIcon: join(resources, 'icons', 'icon.png'),
  };
}

function showWindow(): void {
  if (!window || window.isDestroyed()) return;
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}

async function startApp(): Promise<DesktopApp | null> {
  const userData = app.getPath('userData');
  const config = await loadAppConfig(userData);
  if (!config.coordinatorUrl || !config.modelPath) {
    dialog.showErrorBox('Silkworm is not set up yet', `Set "coordinatorUrl" and "modelPath" in ${join(userData, 'config.json')} (or SILKWORM_COORDINATOR and SILKWORM_MODEL), then start Silkworm again.`);
    return null;
  }
  const power = createPowerMonitorProbe();
  app.once('will-quit', () => power.stop());
  // Our own processes never count as "another program on the GPU" (filled in once started).
  const own: { enginePid?: () => number | undefined } = {};
  // The same start as the tests run (main/app/desktop-app.ts), with Electron's launcher, signals and capabilities.
  const started = await startDesktopApp({
    dataDir: userData,
    config: { coordinatorUrl: config.coordinatorUrl, modelPath: config.modelPath, network: config.network, chainUrl: config.chainUrl, chainApiKey: config.chainApiKey },
    shell: {
      kind: 'electron',
      // The local wallet's words are sealed by the OS keychain (a passphrase where it is basic_text).
      keychain: electronKeychain,
      notify,
      openExternal: openExternalSafely,
      autoStart: createAutoStart(),
    },
    launcher: new UtilityProcessLauncher(),
    signalSource: createCompositeSource([power.probe, ...createDefaultProbes({ ownPids: () => [process.pid, own.enginePid?.() ?? -1] })]),
    logs,
    logger,
  });
  own.enginePid = () => started.core.engine.pid;
  return started;
}

async function onReady(): Promise<void> {
  const started = await startApp().catch((error: unknown) => {
    dialog.showErrorBox('Silkworm could not start', error instanceof Error ? error.message : String(error));
    return null;
  });
  if (!started) return app.quit();
  const { core, services } = started;
  const where = paths();
  window = createMainWindow({ preloadPath: where.preload, rendererDir: where.renderer, iconPath: where.windowIcon, show: !process.argv.includes('--hidden') });
  window.on('close', (event) => {
    // Closing the window keeps sharing in the tray; Quit (tray or menu) really quits.
    if (!quitting) {
      event.preventDefault();
      window?.hide();
    }
  });
  registerElectronIpc(ipcMain, services, { windows: () => (window && !window.isDestroyed() ? [window.webContents] : []), origin: { protocol: `${APP_ORIGIN.scheme}:`, host: APP_ORIGIN.host } }, services.log);
  createTray({
    iconPath: where.trayIcon,
    sharing: core.sharing,
    setMode: async (mode) => void (await services.handlers.setSharingMode({ mode })),
    open: showWindow,
    quit: () => app.quit(),
  });
  setupAutoUpdate(logger);
  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('will-quit', (event) => {
    // Stop the worker (the coordinator requeues any job) before the process exits.
    event.preventDefault();
    void started.stop().finally(() => app.exit(0));
  });
}

registerAppScheme();
hardenAllContents();
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', showWindow);
  app.on('activate', showWindow);
  app.on('window-all-closed', () => undefined); // the tray keeps the app (and sharing) running
  app.whenReady().then(onReady, (error: unknown) => logger.error({ err: String(error) }, 'Electron failed to start'));
}
