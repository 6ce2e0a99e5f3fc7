/**
 * The verbs of the IPC contract, implemented against the real worker core: sharing mode and
 * settings through the SharingController, link/job/engine state from the Worker's events,
 * the installed model, the payout address (validated, stored in the data dir), diagnostics,
 * and earnings — this session's counters now, the ledger through EarningsProvider later.
 * Both transports (Electron IPC and the headless dashboard) serve these same handlers.
 */
import { EventEmitter } from 'node:events';
import { describeModelFile } from '../models/model-file.js';
import { probeSandbox, type SandboxProbe } from '../../native/sandbox/index.js';
import { APP_VERSION } from '../worker/worker.js';
import type { HeadlessWorker } from '../worker/headless.js';
import type { Logger } from '../log.js';
import { pushToWire, type ContractServices, type DispatchLog, type PushListener, type VerbHandlers } from './dispatch.js';
import type { PushName, PushPayload } from './contract.js';
import { unavailableEarnings, type EarningsProvider } from './earnings-provider.js';
import { formatReport, runDoctor } from './doctor.js';
import type { LogRing } from './log-ring.js';
import { validatePayoutAddress } from './payout-address.js';
import { fail, ok } from './result.js';
import { AppSettingsStore, type StoredAppSettings } from './settings-store.js';
import { StateTracker } from './state-tracker.js';
import type { InstalledModel, ShellKind, TonNetwork, WalletView } from './views.js';

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
  /** What `loadAppSettings` read from the data dir. */
  stored?: StoredAppSettings;
  /** The payout address the worker announced when it started. */
  announcedPayoutAddress?: string | null;
  logs?: LogRing;
  earnings?: EarningsProvider;
  autoStart?: AutoStartControl;
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
  let model: InstalledModel | null = null;

  const log: DispatchLog = (level, fields, msg) => options.logger?.[level](fields, msg);
  const send = <P extends PushName>(name: P, payload: PushPayload<P>) => {
    const wire = pushToWire(name, payload, log);
    if (wire !== null) pushes.emit('push', name, wire);
  };
  tracker.on('state', (state) => send('state', state));
  tracker.on('job', (event) => send('job', event));
  tracker.on('earnings', (session) => send('earnings', session));
  const onLog = (entry: Parameters<PushListener>[1]) => send('log', entry as PushPayload<'log'>);
  options.logs?.on('entry', onLog);

  const wallet = (): WalletView => ({
    payoutAddress: store.value.payoutAddress ?? null,
    network,
    announcedAddress: options.announcedPayoutAddress ?? null,
  });
  const installedModel = async (): Promise<InstalledModel> => {
    if (!model) {
      const file = await describeModelFile(options.modelPath, options.dataDir);
      model = { id: file.id, path: file.path, sizeBytes: file.sizeBytes, sha256: file.sha256, loaded: false };
    }
    return { ...model, loaded: core.engine.info !== undefined };
  };
  const saveSharing = () => store.update({ sharing: core.sharing.settings });

  const handlers: VerbHandlers = {
    getAppInfo: () =>
      ok({ version: APP_VERSION, shell: options.shell, platform: process.platform, network, features: { autoStart: options.autoStart !== undefined, notifications: options.shell === 'electron' } }),
    getState: () => ok(tracker.state()),
    setSharingMode: async ({ mode }) => {
      core.sharing.setMode(mode);
      await saveSharing();
      return ok(tracker.state());
    },
    getSettings: () => ok({ sharing: core.sharing.settings, autoStart: options.autoStart ? options.autoStart.get() : null, network, coordinator: options.coordinatorUrl }),
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
    getWallet: () => ok(wallet()),
    setPayoutAddress: async ({ address }) => {
      const result = validatePayoutAddress(address, network);
      if (!result.ok) return result;
      await store.update({ payoutAddress: result.value });
      options.logger?.info('payout address changed');
      return ok(wallet());
    },
    clearPayoutAddress: async () => {
      await store.update({ payoutAddress: null });
      return ok(wallet());
    },
    listModels: async () => ok([await installedModel()]),
    getModelCatalog: () => fail('unavailable', 'The model catalog and downloads are not available yet: this worker serves the model it was started with.'),
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
    getEarningsSummary: ({ range }) => earnings.summary(range),
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
      tracker.close();
      options.logs?.off('entry', onLog);
      pushes.removeAllListeners();
    },
  };
}
