/**
 * Owner presence without Electron: idle time, screen lock and "is anyone at this PC".
 * Linux: xprintidle (exact, needs an X display) and systemd-logind (works headless: sees the
 * local sessions, their idle and lock hints). macOS: IOHIDSystem's HIDIdleTime via ioreg.
 * Windows has no headless source (a service cannot see the desktop's input): unknown, and the
 * Electron shell's powerMonitor probe fills it in.
 */
import type { SignalProbe, Signals } from '../signals.js';
import { parseNumber, runCommand, type CommandRunner } from './run-command.js';

/** Parses xprintidle's output: milliseconds since the last input → seconds. */
export function parseXprintidle(stdout: string): number | null {
  const ms = parseNumber(stdout);
  return ms === null || ms < 0 ? null : ms / 1000;
}

/** Parses ioreg's `"HIDIdleTime" = <nanoseconds>` → seconds. */
export function parseIoregIdle(stdout: string): number | null {
  const ns = /"HIDIdleTime"\s*=\s*(\d+)/.exec(stdout)?.[1];
  return ns === undefined ? null : Number(ns) / 1e9;
}

/** Session ids from `loginctl list-sessions --no-legend` (first column). */
export function parseSessionIds(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((id) => /^[\w-]+$/.test(id));
}

/** The properties loginctl show-session prints, one block per session. */
export const LOGIND_PROPERTIES = ['Id', 'Remote', 'Seat', 'Type', 'Class', 'Active', 'IdleHint', 'IdleSinceHint', 'LockedHint'];

/** Parses `loginctl show-session A B -p …` blocks (KEY=value, blank line between sessions). */
export function parseSessionBlocks(stdout: string): Array<Record<string, string>> {
  return stdout
    .split(/\n\s*\n/)
    .map((block) => Object.fromEntries(block.split('\n').flatMap((line) => {
      const at = line.indexOf('=');
      return at > 0 ? [[line.slice(0, at).trim(), line.slice(at + 1).trim()]] : [];
    })))
    .filter((props) => Object.keys(props).length > 0);
}

function sessionIdleSeconds(session: Record<string, string>, nowMs: number): number | null {
  const sinceUs = parseNumber(session.IdleSinceHint);
  const since = sinceUs !== null && sinceUs > 0 ? Math.max(0, (nowMs - sinceUs / 1000) / 1000) : null;
  // A tty session's hint time is its terminal's last input, idle or not.
  if (session.Type === 'tty') return since;
  // A desktop sets the hint itself after its own delay, and the time is when the hint flipped:
  // "no" means active, "yes" gives a lower bound on the real idle time.
  if (session.IdleHint === 'no') return 0;
  if (session.IdleHint === 'yes') return since;
  return null;
}

/**
 * Presence from logind sessions: only local user sessions count (ssh and the login screen do
 * not); with several, the active ones decide, and the most recently used one sets the idle time.
 */
export function presenceFromSessions(sessions: ReadonlyArray<Record<string, string>>, nowMs: number): Pick<Signals, 'idleSeconds' | 'screenLocked' | 'localSession'> {
  const local = sessions.filter((s) => s.Remote !== 'yes' && (s.Seat ?? '') !== '' && (s.Class ?? 'user').startsWith('user'));
  if (local.length === 0) return { idleSeconds: null, screenLocked: null, localSession: false };
  const active = local.filter((s) => s.Active === 'yes');
  const chosen = active.length > 0 ? active : local;
  const idles = chosen.map((s) => sessionIdleSeconds(s, nowMs));
  const idleSeconds = idles.some((i) => i === null) ? null : Math.min(...(idles as number[]));
  const locks = chosen.map((s) => s.LockedHint);
  const screenLocked = locks.every((l) => l === 'yes') ? true : locks.some((l) => l === 'no') ? false : null;
  return { idleSeconds, screenLocked, localSession: true };
}

/** Options shared by the idle probes. */
export interface IdleProbeOptions {
  run?: CommandRunner;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
}

/** Exact idle time from xprintidle; only tried where an X display is set. */
export function createXprintidleProbe(options: IdleProbeOptions = {}): SignalProbe {
  const run = options.run ?? runCommand;
  const env = options.env ?? process.env;
  return {
    name: 'xprintidle',
    async read() {
      if (!env.DISPLAY) return {};
      const result = await run('xprintidle', [], { env });
      const idleSeconds = result.ok ? parseXprintidle(result.stdout) : null;
      return idleSeconds === null ? {} : { idleSeconds };
    },
  };
}

/** Idle and lock hints and local-session presence from systemd-logind. */
export function createLogindProbe(options: IdleProbeOptions = {}): SignalProbe {
  const run = options.run ?? runCommand;
  const now = options.now ?? Date.now;
  return {
    name: 'logind',
    async read() {
      const list = await run('loginctl', ['list-sessions', '--no-legend']);
      if (!list.ok) return {};
      const ids = parseSessionIds(list.stdout);
      if (ids.length === 0) return { localSession: false };
      const shown = await run('loginctl', ['show-session', ...ids, ...LOGIND_PROPERTIES.flatMap((p) => ['-p', p])]);
      if (!shown.ok) return {};
      return presenceFromSessions(parseSessionBlocks(shown.stdout), now());
    },
  };
}

/** Idle time on macOS from IOHIDSystem. */
export function createMacIdleProbe(options: IdleProbeOptions = {}): SignalProbe {
  const run = options.run ?? runCommand;
  return {
    name: 'ioreg',
    async read() {
      const result = await run('ioreg', ['-c', 'IOHIDSystem', '-d', '4']);
      const idleSeconds = result.ok ? parseIoregIdle(result.stdout) : null;
      return idleSeconds === null ? {} : { idleSeconds };
    },
  };
}
