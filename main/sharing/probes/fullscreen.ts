/**
 * "Is the foreground window fullscreen?" On Linux/X11 (and XWayland) we ask xprop. Windows
 * and macOS need native calls, so this file defines the contract native code or the Electron
 * shell fills: a ForegroundQuery, wrapped into a probe by createForegroundProbe.
 *   - Windows: SHQueryUserNotificationState → QUNS_RUNNING_D3D_FULL_SCREEN or
 *     QUNS_PRESENTATION_MODE means fullscreen; the app is the foreground window's process name.
 *   - macOS: CGWindowListCopyWindowInfo, the frontmost layer-0 window covering its screen.
 * App names, not window titles, are reported where possible: titles can hold page or document
 * names, and the summary line is logged.
 */
import type { SignalProbe } from '../signals.js';
import { runCommand, type CommandRunner } from './run-command.js';

/** The foreground as native code sees it; null = cannot tell. */
export type ForegroundQuery = () => Promise<{ fullscreen: boolean; app: string | null } | null>;

/** Turns a native foreground query into a probe; a throwing query reads as unknown. */
export function createForegroundProbe(name: string, query: ForegroundQuery): SignalProbe {
  return {
    name,
    async read() {
      const result = await query().catch(() => null);
      if (result === null) return {};
      return { fullscreen: result.fullscreen ? { detected: true, name: result.app ?? 'A fullscreen app' } : { detected: false } };
    },
  };
}

/** The active window id from `xprop -root _NET_ACTIVE_WINDOW`; "none" for 0x0, null when unknown. */
export function parseActiveWindow(stdout: string): string | 'none' | null {
  const id = /window id # (0x[0-9a-f]+)/i.exec(stdout)?.[1];
  if (id === undefined) return null;
  return /^0x0+$/i.test(id) ? 'none' : id;
}

/** Fullscreen state and app name from `xprop -id ID _NET_WM_STATE WM_CLASS _NET_WM_NAME`. */
export function parseWindowProps(stdout: string): { fullscreen: boolean; app: string | null } {
  const fullscreen = /_NET_WM_STATE\(ATOM\)\s*=.*_NET_WM_STATE_FULLSCREEN/.test(stdout);
  const classLine = /^WM_CLASS\(\w+\)\s*=\s*(.*)$/m.exec(stdout)?.[1] ?? '';
  const classes = [...classLine.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? '');
  const title = /^_NET_WM_NAME\(\w+\)\s*=\s*"(.*)"\s*$/m.exec(stdout)?.[1] ?? null;
  const appClass = classes[1] || classes[0] || null;
  // Steam games under Proton have a class like steam_app_1091500; their title is the game's name.
  const app = appClass && /^steam_app_\d+$/i.test(appClass) ? (title ?? appClass) : (appClass ?? title);
  return { fullscreen, app };
}

/** Asks X11 (through xprop) whether the active window is fullscreen; only where DISPLAY is set. */
export function createX11FullscreenProbe(options: { run?: CommandRunner; env?: NodeJS.ProcessEnv } = {}): SignalProbe {
  const run = options.run ?? runCommand;
  const env = options.env ?? process.env;
  return createForegroundProbe('xprop', async () => {
    if (!env.DISPLAY) return null;
    const root = await run('xprop', ['-root', '_NET_ACTIVE_WINDOW'], { env, timeoutMs: 1000 });
    const id = root.ok ? parseActiveWindow(root.stdout) : null;
    if (id === null) return null;
    if (id === 'none') return { fullscreen: false, app: null };
    const props = await run('xprop', ['-id', id, '_NET_WM_STATE', 'WM_CLASS', '_NET_WM_NAME'], { env, timeoutMs: 1000 });
    return props.ok ? parseWindowProps(props.stdout) : null;
  });
}
