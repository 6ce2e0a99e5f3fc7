/**
 * The desktop app's composition root (Electron main). It reads like a table of contents: one
 * line per concern, each concern in its own file. Everything the app does — sharing policy,
 * worker, job process, services — is the same Node core the headless worker runs; this file
 * only adds the window, tray, IPC, powerMonitor, notifications, auto-start and updates.
 */
import { app, dialog, ipcMain, type BrowserWindow } from 'electron';
import { join } from 'node:path';
import { createLogger } from '../log.js';
import { startHeadlessWorker, type HeadlessWorker } from '../worker/headless.js';
import { createCompositeSource } from '../sharing/signals.js';
import { createDefaultProbes } from '../sharing/probes/index.js';
import { createAppServices, type AppServices } from '../ipc/app-services.js';
import { LogRing } from '../ipc/log-ring.js';
import { loadAppSettings } from '../ipc/settings-store.js';
import { chooseStartModel } from '../models/catalog-choice.js';
import { registerElectronIpc } from '../ipc/register-electron.js';
import { hardenAllContents, registerAppScheme } from './security.js';
import { APP_ORIGIN } from './url-policy.js';
import { electronKeychain } from './secret-store.js';
import { createMainWindow } from './window.js';
import { createTray } from './tray.js';
import { setupNotifications } from './notifications.js';
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

async function startCore(): Promise<{ core: HeadlessWorker; services: AppServices } | null> {
  const userData = app.getPath('userData');
  const config = await loadAppConfig(userData);
  if (!config.coordinatorUrl || !config.modelPath) {
    dialog.showErrorBox('Silkworm is not set up yet', `Set "coordinatorUrl" and "modelPath" in ${join(userData, 'config.json')} (or SILKWORM_COORDINATOR and SILKWORM_MODEL), then start Silkworm again.`);
    return null;
  }
  const { settings: stored, warning } = await loadAppSettings(userData);
  if (warning) logger.warn(warning);
  // The model chosen later on the Models screen wins over the one first set up in config.json.
  const modelPath = chooseStartModel(undefined, stored.modelPath).path ?? config.modelPath;
  const power = createPowerMonitorProbe();
  // Our own processes never count as "another program on the GPU" (filled in once started).
  const own: { enginePid?: () => number | undefined } = {};
  const core = await startHeadlessWorker({
    coordinatorUrl: config.coordinatorUrl,
    dataDir: userData,
    modelPath,
    launcher: new UtilityProcessLauncher(),
    signalSource: createCompositeSource([power.probe, ...createDefaultProbes({ ownPids: () => [process.pid, own.enginePid?.() ?? -1] })]),
    // A fresh install shares nothing until the owner flips the switch.
    sharing: stored.sharing ?? { mode: 'off' },
    ...(stored.payoutAddress ? { payoutAddress: stored.payoutAddress } : {}),
    logger,
  });
  own.enginePid = () => core.engine.pid;
  app.once('will-quit', () => power.stop());
  const services = createAppServices({
    core,
    coordinatorUrl: config.coordinatorUrl,
    modelPath,
    dataDir: userData,
    network: config.network,
    shell: 'electron',
    // A new owner is walked through mode, payout address and electricity once.
    firstRun: true,
    stored,
    announcedPayoutAddress: stored.payoutAddress ?? null,
    logs,
    autoStart: createAutoStart(),
    // The local wallet's words are sealed by the OS keychain (a passphrase where it is basic_text).
    wallet: { keychain: electronKeychain },
    logger,
  });
  return { core, services };
}

async function onReady(): Promise<void> {
  const started = await startCore().catch((error: unknown) => {
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
  setupNotifications(core);
  setupAutoUpdate(logger);
  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('will-quit', (event) => {
    // Stop the worker (the coordinator requeues any job) before the process exits.
    event.preventDefault();
    services.close();
    void core.stop().finally(() => app.exit(0));
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
