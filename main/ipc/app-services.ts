/**
 * The verbs of the IPC contract, implemented against the real worker core: sharing mode and
 * settings through the SharingController, link/job/engine state from the Worker's events,
 * the installed model, the payout address (validated, stored in the data dir), diagnostics,
 * and earnings — this session's counters now, the ledger through EarningsProvider later.
 * Both transports (Electron IPC and the headless dashboard) serve these same handlers.
 */
import { EventEmitter } from 'node:events';
import { probeSandbox, type SandboxProbe } from '../../native/sandbox/index.js';
import { APP_VERSION } from '../worker/worker.js';
import type { HeadlessWorker } from '../worker/headless.js';
import type { Logger } from '../log.js';
import { pushToWire, type ContractServices, type DispatchLog, type PushListener, type VerbHandlers } from './dispatch.js';
import type { PushName, PushPayload } from './contract.js';
import { unavailableEarnings, type EarningsProvider } from './earnings-provider.js';
import { formatReport, runDoctor } from './doctor.js';
import type { LogRing } from './log-ring.js';
import { createWalletService, type WalletServiceConfig } from './wallet-service.js';
import { fail, ok } from './result.js';
import { AppSettingsStore, type StoredAppSettings } from './settings-store.js';
import { StateTracker } from './state-tracker.js';
import { electricityFor } from '../earnings/electricity.js';
import { createModelsService } from './models-service.js';
import type { InstalledModel, ShellKind, TonNetwork, AppSettingsView } from './views.js';

/** Start at login, provided by the Electron shell only. */
export interface AutoStartControl {
  get(): boolean;
  set(enabled: boolean): void;
}

/** What the services are built from. */
export interface AppServicesOptions {
  core: HeadlessWorker;
  coordinatorUrl: string;
  modelPath: string;
  dataDir: string;
  network: TonNetwork;
  shell: ShellKind;
  /** Walk the owner through the first-run setup until they finish it (the desktop app; tests). */
  firstRun?: boolean;
  /** What `loadAppSettings` read from the data dir. */
  stored?: StoredAppSettings;
  /** The payout address the worker announced when it started. */
  announcedPayoutAddress?: string | null;
  logs?: LogRing;
  earnings?: EarningsProvider;
  autoStart?: AutoStartControl;
  /** The wallet's keychain, chain endpoint and TON Connect endpoints (all optional). */
  wallet?: WalletServiceConfig;
  logger?: Logger;
  /** Injected in tests; the native addon's probe by default. */
  sandboxProbe?: () => SandboxProbe;
  now?: () => number;
}

/** The services both transports serve, and a way to stop following the core. */
export interface AppServices extends ContractServices {
  /** The dispatch log used by the transports (warnings and refusals, never arguments). */
  log: DispatchLog;
  close(): void;
}

/** Builds the handlers and pushes for one worker core. */
export function createAppServices(options: AppServicesOptions): AppServices {
  const { core, network } = options;
  const now = options.now ?? Date.now;
  const earnings = options.earnings ?? unavailableEarnings;
  const store = new AppSettingsStore(options.dataDir, options.stored ?? {});
  const tracker = new StateTracker(core, options.coordinatorUrl, now);
  const pushes = new EventEmitter<{ push: [PushName, unknown] }>();
  let sandbox: SandboxProbe | undefined;

  const log: DispatchLog = (level, fields, msg) => options.logger?.[level](fields, msg);
  const send = <P extends PushName>(name: P, payload: PushPayload<P>) => {
    const wire = pushToWire(name, payload, log);
    if (wire !== null) pushes.emit('push', name, wire);
  };
  const models = createModelsService({ core, coordinatorUrl: options.coordinatorUrl, modelPath: options.modelPath, dataDir: options.dataDir, store, push: (view) => send('download', view), ...(options.logger ? { logger: options.logger } : {}) });
  tracker.on('state', (state) => send('state', state));
  tracker.on('job', (event) => send('job', event));
  tracker.on('earnings', (session) => send('earnings', session));
  const onLog = (entry: Parameters<PushListener>[1]) => send('log', entry as PushPayload<'log'>);
  options.logs?.on('entry', onLog);

  const wallet = createWalletService({ ...options.wallet, dataDir: options.dataDir, network, coordinatorUrl: options.coordinatorUrl, store, announcedAddress: options.announcedPayoutAddress ?? null, onChange: (view) => send('wallet', view), ...(options.logger ? { logger: options.logger } : {}) });
  const installedModel = (): Promise<InstalledModel> => models.activeModel();
  const saveSharing = () => store.update({ sharing: core.sharing.settings });
  const settingsView = (): AppSettingsView => ({
    sharing: core.sharing.settings,
    autoStart: options.autoStart ? options.autoStart.get() : null,
    network,
    coordinator: options.coordinatorUrl,
    electricity: store.value.electricity ?? null,
    setupPending: options.firstRun === true && store.value.setupDone !== true,
  });

  const handlers: VerbHandlers = {
    getAppInfo: () =>
      ok({ version: APP_VERSION, shell: options.shell, platform: process.platform, network, features: { autoStart: options.autoStart !== undefined, notifications: options.shell === 'electron' } }),
    getState: async () => {
      // With sharing Off nothing polls the GPU: a viewer opening the dashboard refreshes its readings.
      await core.sharing.refreshIfStale();
      return ok(tracker.state());
    },
    setSharingMode: async ({ mode }) => {
      core.sharing.setMode(mode);
      await saveSharing();
      return ok(tracker.state());
    },
    getSettings: () => ok(settingsView()),
    setElectricity: async ({ electricity }) => {
      await store.update({ electricity });
      return ok(settingsView());
    },
    completeSetup: async () => {
      await store.update({ setupDone: true });
      return ok(settingsView());
    },
    updateSharingSettings: async ({ patch }) => {
      const result = core.sharing.updateSettings(patch);
      if (!result.ok) return fail('invalid-settings', result.error.message);
      await saveSharing();
      return ok(result.value);
    },
    setAutoStart: async ({ enabled }) => {
      if (!options.autoStart) return fail('unsupported', 'Start at login needs the desktop app; on a headless rig use your service manager (systemd, launchd).');
      options.autoStart.set(enabled);
      await store.update({ autoStart: enabled });
      return ok(options.autoStart.get());
    },
    ...wallet.handlers,
    ...models.handlers,
    getDoctor: async () => {
      sandbox ??= (options.sandboxProbe ?? probeSandbox)();
      const installed = await installedModel().catch(() => null);
      return ok(runDoctor({ state: tracker.state(), signals: core.sharing.snapshot().signals, model: installed, sandbox, payoutAddress: store.value.payoutAddress ?? null, workerId: core.workerId, appVersion: APP_VERSION, now: now() }));
    },
    getLogs: (args) => ok(options.logs?.entries(args?.limit ?? 200) ?? []),
    getReport: async () => {
      const doctor = await handlers.getDoctor(undefined);
      if (!doctor.ok) return doctor;
      return ok({ text: formatReport(doctor.value, tracker.state(), options.logs?.entries(200) ?? []) });
    },
    getSessionEarnings: () => ok(tracker.earnings()),
    getEarningsSummary: ({ range }) => earnings.summary(range, electricityFor(store.value.electricity ?? undefined, tracker.state().gpu?.powerW ?? null)),
    listReceipts: ({ cursor, limit }) => earnings.receipts({ cursor, limit }),
    listPayouts: ({ cursor, limit }) => earnings.payouts({ cursor, limit }),
    exportEarningsCsv: ({ range }) => earnings.exportCsv(range),
    cashOut: () => earnings.cashOut(),
  };

  return {
    handlers,
    log,
    subscribe(listener) {
      const forward = (name: PushName, payload: unknown) => listener(name, payload as never);
      pushes.on('push', forward);
      return () => pushes.off('push', forward);
    },
    close() {
      void models.close();
      wallet.close();
      tracker.close();
      options.logs?.off('entry', onLog);
      pushes.removeAllListeners();
    },
  };
}
