/**
 * One call that puts the dashboard on a running headless worker: reads the stored app
 * settings, builds the app services over the worker core, starts the dashboard server and
 * prints its URL with the token once (like Jupyter). Used by `silkworm worker --dashboard`
 * and `silkworm demo`.
 */
import type { HeadlessWorker } from '../worker/headless.js';
import type { Logger } from '../log.js';
import { createAppServices, type AppServices } from '../ipc/app-services.js';
import type { WalletServiceConfig } from '../ipc/wallet-service.js';
import type { EarningsProvider } from '../ipc/earnings-provider.js';
import type { LogRing } from '../ipc/log-ring.js';
import { loadAppSettings } from '../ipc/settings-store.js';
import type { TonNetwork } from '../ipc/views.js';
import { startDashboard, type Dashboard } from './server.js';

/** What the dashboard needs besides the worker core. */
export interface AttachDashboardOptions {
  host?: string;
  port?: number;
  coordinatorUrl: string;
  modelPath: string;
  dataDir: string;
  /** Where payouts go (default testnet: local and demo networks pay test TON). */
  network?: TonNetwork;
  /** Show the first-run setup until the owner finishes it (off for rigs started from the command line). */
  firstRun?: boolean;
  /** The payout address the worker was started with, if any. */
  payoutAddress?: string | null;
  /** The logger's ring buffer (see LogRing.tee), for Diagnostics → Logs. */
  logs?: LogRing;
  earnings?: EarningsProvider;
  /** The wallet's chain endpoint (balance) and TON Connect endpoints. */
  wallet?: WalletServiceConfig;
  logger?: Logger;
  token?: string;
  staticDir?: string;
  /** Where the URL with the token is printed, once (default stdout). */
  print?: (line: string) => void;
}

/** The dashboard and the services behind it. */
export interface AttachedDashboard {
  dashboard: Dashboard;
  services: AppServices;
  close(): Promise<void>;
}

/** Starts the dashboard for a running headless worker and prints its URL once. */
export async function attachDashboard(core: HeadlessWorker, options: AttachDashboardOptions): Promise<AttachedDashboard> {
  const { settings, warning } = await loadAppSettings(options.dataDir);
  if (warning) options.logger?.warn(warning);
  const services = createAppServices({
    core,
    coordinatorUrl: options.coordinatorUrl,
    modelPath: options.modelPath,
    dataDir: options.dataDir,
    network: options.network ?? 'testnet',
    shell: 'dashboard',
    ...(options.firstRun ? { firstRun: true } : {}),
    stored: settings,
    announcedPayoutAddress: options.payoutAddress ?? null,
    ...(options.logs ? { logs: options.logs } : {}),
    ...(options.earnings ? { earnings: options.earnings } : {}),
    ...(options.wallet ? { wallet: options.wallet } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const dashboard = await startDashboard({
    services,
    log: services.log,
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...(options.staticDir !== undefined ? { staticDir: options.staticDir } : {}),
  });
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  print(`Dashboard: ${dashboard.tokenUrl}\n  (open it in a browser on this machine; the token is printed only this once — keep the link private)`);
  options.logger?.info({ url: dashboard.url }, 'dashboard listening');
  return {
    dashboard,
    services,
    close: async () => {
      await dashboard.close();
      services.close();
    },
  };
}
