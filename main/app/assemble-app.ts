/**
 * The one assembly of the app: the services every shell serves — the desktop app over Electron
 * IPC, `silkworm worker --dashboard` and `silkworm demo` over the dashboard's HTTP, the UI tests
 * — built from a worker core and the shell's capabilities (shell.ts). Sharing, settings, the
 * payout address (live), the wallet, earnings from the books with explorer links and Cash out,
 * models, diagnostics, notifications: assembled here once, so what the tests run is what ships.
 */
import { EventEmitter } from 'node:events';
import { probeSandbox, type SandboxProbe } from '../../native/sandbox/index.js';
import type { Logger } from '../../network/node-kit/log.js';
import { APP_VERSION } from '../worker/worker.js';
import type { WorkerCore } from '../worker/worker-core.js';
import { electricityFor } from '../earnings/electricity.js';
import { pushToWire, type ContractServices, type DispatchLog, type PushListener, type VerbHandlers } from '../ipc/dispatch.js';
import type { PushName, PushPayload } from '../ipc/contract.js';
import { fail, ok } from '../ipc/result.js';
import type { AppSettingsView, InstalledModel, TonNetwork } from '../ipc/views.js';
import { explainNoBooks } from './books-status.js';
import { formatReport, runDoctor } from './doctor.js';
import { createEarningsVerbs } from './earnings-verbs.js';
import { chainKindOf, explorerLinks } from './explorer-links.js';
import { isAllowedExternalUrl } from './external-links.js';
import { fieldProblems } from '../ipc/field-problems.js';
import { fiatRate } from './fiat-rate.js';
import type { LogRing } from './log-ring.js';
import { createModelsService } from './models-service.js';
import { followNotifications } from './notifications.js';
import { AppSettingsStore, loadAppSettings, type StoredAppSettings } from './settings-store.js';
import type { ShellCapabilities } from './shell.js';
import { StateTracker } from './state-tracker.js';
import { createWalletService, type TonConnectConfig } from './wallet-service.js';

/** What the app is assembled from. */
export interface AppOptions {
  core: WorkerCore;
  shell: ShellCapabilities;
  coordinatorUrl: string;
  /** The model the worker was started with. */
  modelPath: string;
  dataDir: string;
  network: TonNetwork;
  /** A toncenter v2 endpoint (public toncenter, or `silkworm chain`): payouts, balances, Cash out. */
  chainUrl?: string;
  chainApiKey?: string;
  /** Walk the owner through the first-run setup until they finish it. */
  firstRun?: boolean;
  /** What `loadAppSettings` read (read here when left out). */
  stored?: StoredAppSettings;
  /** The logger's ring buffer, for Diagnostics → Logs. */
  logs?: LogRing;
  logger?: Logger;
  tonConnect?: TonConnectConfig;
  /** Injected in tests; the native addon's probe by default. */
  sandboxProbe?: () => SandboxProbe;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The services every transport serves, and a way to stop following the core. */
export interface AppServices extends ContractServices {
  /** The dispatch log used by the transports (warnings and refusals, never arguments). */
  log: DispatchLog;
  close(): void;
}

/** Assembles the app's services for one worker core and shell. */
export async function assembleApp(options: AppOptions): Promise<AppServices> {
  const { core, network, shell } = options;
  const now = options.now ?? Date.now;
  let stored = options.stored;
  if (!stored) {
    const loaded = await loadAppSettings(options.dataDir);
    if (loaded.warning) options.logger?.warn(loaded.warning);
    stored = loaded.settings;
  }
  const store = new AppSettingsStore(options.dataDir, stored);
  const tracker = new StateTracker(core, options.coordinatorUrl, now);
  const pushes = new EventEmitter<{ push: [PushName, unknown] }>();
  let sandbox: SandboxProbe | undefined;

  const log: DispatchLog = (level, fields, msg) => options.logger?.[level](fields, msg);
  const send = <P extends PushName>(name: P, payload: PushPayload<P>) => {
    const wire = pushToWire(name, payload, log);
    if (wire !== null) pushes.emit('push', name, wire);
  };
  const logger = options.logger ? { logger: options.logger } : {};
  const chain = options.chainUrl ? { chainUrl: options.chainUrl, ...(options.chainApiKey ? { chainApiKey: options.chainApiKey } : {}) } : {};
  const models = createModelsService({ core, coordinatorUrl: options.coordinatorUrl, modelPath: options.modelPath, dataDir: options.dataDir, store, push: (view) => send('download', view), ...(options.fetch ? { fetch: options.fetch } : {}), ...logger });
  tracker.on('state', (state) => send('state', state));
  tracker.on('job', (event) => send('job', event));
  tracker.on('session', (session) => send('session', session));
  const onLog = (entry: Parameters<PushListener>[1]) => send('log', entry as PushPayload<'log'>);
  options.logs?.on('entry', onLog);
  const stopNotifications = shell.notify ? followNotifications(core, shell.notify.bind(shell), now) : () => undefined;

  const wallet = createWalletService({
    core,
    dataDir: options.dataDir,
    network,
    coordinatorUrl: options.coordinatorUrl,
    store,
    ...(shell.keychain ? { keychain: shell.keychain } : {}),
    ...chain,
    ...(options.tonConnect ? { tonConnect: options.tonConnect } : {}),
    onChange: (view) => send('wallet', view),
    ...logger,
  });
  await wallet.reconcile();
  const ownersElectricity = () => electricityFor(store.value.electricity ?? undefined, tracker.state().gpu?.powerW ?? null);
  const earnings = createEarningsVerbs(() => core.books(), {
    explorerUrl: explorerLinks(chainKindOf(options.chainUrl, network)),
    whyUnavailable: explainNoBooks({ payoutAddress: () => core.payoutAddress(), coordinatorUrl: options.coordinatorUrl, ...(options.fetch ? { fetch: options.fetch } : {}) }),
    electricity: ownersElectricity,
    cashOutWallet: (passphrase) => wallet.cashOutWallet(passphrase),
    now,
  });
  const rate = fiatRate({ coordinatorUrl: options.coordinatorUrl, ...(options.fetch ? { fetch: options.fetch } : {}), now });
  const installedModel = (): Promise<InstalledModel> => models.activeModel();
  const saveSharing = () => store.update({ sharing: core.sharing.settings });
  const settingsView = async (): Promise<AppSettingsView> => ({
    sharing: core.sharing.settings,
    autoStart: shell.autoStart ? shell.autoStart.get() : null,
    network,
    coordinator: options.coordinatorUrl,
    electricity: store.value.electricity ?? null,
    setupPending: options.firstRun === true && store.value.setupDone !== true,
    fiat: await rate(store.value.electricity),
  });

  const handlers: VerbHandlers = {
    getAppInfo: () =>
      ok({
        version: APP_VERSION,
        shell: shell.kind,
        platform: process.platform,
        network,
        features: { autoStart: shell.autoStart !== undefined, notifications: shell.notify !== undefined, openExternal: shell.openExternal !== undefined },
      }),
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
    getSettings: async () => ok(await settingsView()),
    setElectricity: async ({ electricity }) => {
      await store.update({ electricity });
      return ok(await settingsView());
    },
    completeSetup: async () => {
      await store.update({ setupDone: true });
      return ok(await settingsView());
    },
    updateSharingSettings: async ({ patch }) => {
      const result = core.sharing.updateSettings(patch);
      if (!result.ok) {
        const fields = fieldProblems(result.error.issues);
        return fail('invalid-settings', fields[0]?.message ?? 'These settings cannot be saved.', fields);
      }
      await saveSharing();
      return ok(result.value);
    },
    setAutoStart: async ({ enabled }) => {
      if (!shell.autoStart) return fail('unsupported', 'Start at login needs the desktop app; on a rig without a screen use your service manager (systemd, launchd).');
      shell.autoStart.set(enabled);
      await store.update({ autoStart: enabled });
      return ok(shell.autoStart.get());
    },
    ...wallet.handlers,
    ...models.handlers,
    getDoctor: async () => {
      sandbox ??= (options.sandboxProbe ?? probeSandbox)();
      const installed = await installedModel().catch(() => null);
      return ok(runDoctor({ state: tracker.state(), signals: core.sharing.snapshot().signals, model: installed, sandbox, payoutAddress: core.payoutAddress() ?? null, workerId: core.workerId, appVersion: APP_VERSION, now: now() }));
    },
    getLogs: (args) => ok(options.logs?.entries(args?.limit ?? 200) ?? []),
    getReport: async () => {
      const doctor = await handlers.getDoctor(undefined);
      if (!doctor.ok) return doctor;
      return ok({ text: formatReport(doctor.value, tracker.state(), options.logs?.entries(200) ?? []) });
    },
    getSessionEarnings: () => ok(tracker.session()),
    ...earnings,
    openLink: ({ url }) => {
      if (!shell.openExternal) return fail('unsupported', 'This shell opens links itself: use the link in your browser.');
      if (!isAllowedExternalUrl(url)) return fail('forbidden', 'Only block-explorer and wallet links open from the app.');
      shell.openExternal(url);
      return ok(true);
    },
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
      stopNotifications();
      options.logs?.off('entry', onLog);
      pushes.removeAllListeners();
    },
  };
}
