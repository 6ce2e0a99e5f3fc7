/**
 * The desktop app's start, without Electron: the owner's stored choices read, the worker core
 * started the way the desktop app runs it (nothing shared until the owner turns it on, the
 * model last chosen on the Models screen, the payout address last chosen), and the app
 * assembled with the shell's capabilities. `main/electron/main.ts` calls this with Electron's
 * launcher, signals and capabilities; the tests call it with fakes, under plain Node.
 */
import type { Logger } from '../../network/node-kit/log.js';
import type { JobProcessLauncher } from '../engine/node-launcher.js';
import { chooseStartModel } from '../models/catalog-choice.js';
import type { SignalSource } from '../sharing/signals.js';
import { startWorkerCore, type WorkerCore, type WorkerCoreOptions } from '../worker/worker-core.js';
import type { TonNetwork } from '../ipc/views.js';
import { assembleApp, type AppOptions, type AppServices } from './assemble-app.js';
import type { LogRing } from './log-ring.js';
import { loadAppSettings } from './settings-store.js';
import type { ShellCapabilities } from './shell.js';

/** Where the desktop app connects and what it serves (`<userData>/config.json`). */
export interface DesktopConfig {
  coordinatorUrl: string;
  /** The model set up first; the one chosen later on the Models screen wins. */
  modelPath: string;
  network: TonNetwork;
  chainUrl?: string | undefined;
  chainApiKey?: string | undefined;
}

/** What the desktop app is started with. */
export interface DesktopAppOptions {
  dataDir: string;
  config: DesktopConfig;
  shell: ShellCapabilities;
  /** How the job process is started (Electron's utilityProcess in the app). */
  launcher?: JobProcessLauncher;
  /** Where sharing signals come from (powerMonitor plus the platform's probes in the app). */
  signalSource?: SignalSource;
  logs?: LogRing;
  logger?: Logger;
  /** Test knobs passed to the worker core (threads, reconnect backoff, poll interval). */
  tuning?: Pick<WorkerCoreOptions, 'threads' | 'reconnect' | 'sharingPollMs' | 'sandbox'>;
  /** Test knobs passed to the assembly (sandbox probe, TON Connect endpoints). */
  app?: Pick<AppOptions, 'sandboxProbe' | 'tonConnect' | 'fetch'>;
}

/** A started desktop app. */
export interface DesktopApp {
  core: WorkerCore;
  services: AppServices;
  /** Stops the services and the worker (the coordinator requeues any job). */
  stop(): Promise<void>;
}

/** Starts the worker core and assembles the app as the desktop shell runs it. */
export async function startDesktopApp(options: DesktopAppOptions): Promise<DesktopApp> {
  const { config, logger } = options;
  const { settings: stored, warning } = await loadAppSettings(options.dataDir);
  if (warning) logger?.warn(warning);
  const modelPath = chooseStartModel(undefined, stored.modelPath).path ?? config.modelPath;
  const core = await startWorkerCore({
    coordinatorUrl: config.coordinatorUrl,
    dataDir: options.dataDir,
    modelPath,
    // A fresh install shares nothing until the owner flips the switch.
    sharing: stored.sharing ?? { mode: 'off' },
    ...(stored.payoutAddress ? { payoutAddress: stored.payoutAddress } : {}),
    ...(config.chainUrl ? { chainUrl: config.chainUrl } : {}),
    ...(config.chainApiKey ? { chainApiKey: config.chainApiKey } : {}),
    ...(options.launcher ? { launcher: options.launcher } : {}),
    ...(options.signalSource ? { signalSource: options.signalSource } : {}),
    ...(logger ? { logger } : {}),
    ...options.tuning,
  });
  const services = await assembleApp({
    core,
    shell: options.shell,
    coordinatorUrl: config.coordinatorUrl,
    modelPath,
    dataDir: options.dataDir,
    network: config.network,
    ...(config.chainUrl ? { chainUrl: config.chainUrl } : {}),
    ...(config.chainApiKey ? { chainApiKey: config.chainApiKey } : {}),
    // A new owner is walked through mode, payout address and electricity once.
    firstRun: true,
    stored,
    ...(options.logs ? { logs: options.logs } : {}),
    ...(logger ? { logger } : {}),
    ...options.app,
  });
  return {
    core,
    services,
    stop: async () => {
      services.close();
      await core.stop();
    },
  };
}
