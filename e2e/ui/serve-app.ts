/**
 * How the UI stacks serve a worker core: assembled by the one assembly (main/app/assemble-app.ts)
 * and served by the headless dashboard with a known token — the path `silkworm worker
 * --dashboard` takes. The desktop shell's path is ledger-stack.ts (startDesktopApp).
 */
import { assembleApp, type AppOptions } from '../../main/app/assemble-app.js';
import { attachDashboard, type AttachedDashboard } from '../../main/dashboard/attach.js';
import type { ShellCapabilities } from '../../main/app/shell.js';

/** Assembles the app on `options.core` (shell: the dashboard unless given) and serves it on port 0. */
export async function serveApp(options: Omit<AppOptions, 'shell' | 'network'> & { shell?: ShellCapabilities; network?: AppOptions['network']; token: string }): Promise<AttachedDashboard> {
  const { token, ...app } = options;
  const services = await assembleApp({ network: 'testnet', ...app, shell: options.shell ?? { kind: 'dashboard' } });
  return attachDashboard(services, { token, port: 0, print: () => undefined });
}
