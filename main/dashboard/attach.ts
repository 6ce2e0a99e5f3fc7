/**
 * Serves an assembled app (main/app/assemble-app.ts) as the headless dashboard: starts the
 * dashboard server over the app's services and prints its URL with the token once (like
 * Jupyter). Used by `silkworm worker --dashboard`, `silkworm demo` and the UI tests.
 */
import type { Logger } from '../../network/node-kit/log.js';
import type { AppServices } from '../app/assemble-app.js';
import { startDashboard, type Dashboard } from './server.js';

/** Where the dashboard listens, and how its URL is told. */
export interface AttachDashboardOptions {
  host?: string;
  port?: number;
  token?: string;
  staticDir?: string;
  logger?: Logger;
  /** Where the URL with the token is printed, once (default stdout). */
  print?: (line: string) => void;
}

/** The dashboard and the services behind it. */
export interface AttachedDashboard {
  dashboard: Dashboard;
  services: AppServices;
  /** Stops the server and the services. */
  close(): Promise<void>;
}

/** Starts the dashboard for assembled services and prints its URL once. */
export async function attachDashboard(services: AppServices, options: AttachDashboardOptions = {}): Promise<AttachedDashboard> {
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
