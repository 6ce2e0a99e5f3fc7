// The job process's OS sandbox (docs/design.md, Confidentiality tiers): a thin loader around the silkworm_sandbox
// Node-API addon. The job process loads the model first, then calls lockdown() once; from
// then on it can read only its allow-list and cannot write files, open sockets, start
// processes or reach other processes. Nothing here throws on a platform that cannot
// sandbox: the result says "unsandboxed" and why, and the worker advertises that tier.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** How strongly a job process is isolated; clients requiring 'sandboxed' are never routed to less. */
export type SandboxTier = 'sandboxed' | 'unsandboxed';

/** One protection layer (e.g. landlock, seccomp, jobObject) and whether it took effect. */
export interface LayerStatus {
  applied: boolean;
  detail: string;
}

/** What lockdown() did. `reason` is present whenever the tier is 'unsandboxed'. */
export interface LockdownResult {
  tier: SandboxTier;
  platform: NodeJS.Platform;
  layers: Record<string, LayerStatus>;
  reason?: string;
}

/** Options for lockdown(). */
export interface LockdownOptions {
  /** Files and directories that stay readable, read-only, after lockdown (the model file,
   *  node_modules, /proc/self...). On Linux and macOS everything else becomes unreadable. */
  readPaths: readonly string[];
  /** Pid the job process must still be a child of; defaults to its parent when the addon loaded. */
  parentPid?: number;
  /** Windows only: the Job Object's memory cap, in bytes. */
  memoryLimitBytes?: number;
}

/** What this machine could do, found without changing anything. */
export interface SandboxProbe {
  canSandbox: boolean;
  /** Landlock ABI version (Linux), or -1. */
  landlockAbi: number;
  /** Whether seccomp filter mode is available (Linux). */
  seccomp: boolean;
  reason: string;
}

/** Result of dieWithParent(). */
export interface DieWithParentResult {
  applied: boolean;
  detail: string;
}

/** The functions the native addon exports (see src/addon.c). */
export interface SandboxAddon {
  lockdown(options: LockdownOptions): Omit<LockdownResult, 'platform'>;
  dieWithParent(parentPid?: number): DieWithParentResult;
  probe(): SandboxProbe;
}

/** Outcome of loading the addon: the addon, or why it is not there. */
export type LoadResult = { ok: true; addon: SandboxAddon } | { ok: false; error: string };

/** Where node-gyp puts the built addon. */
export const addonPath = fileURLToPath(new URL('./build/Release/silkworm_sandbox.node', import.meta.url));

let loaded: LoadResult | undefined;
let firstLockdown: LockdownResult | undefined;

/** Loads the native addon once and caches the outcome; never throws. */
export function loadSandbox(): LoadResult {
  if (loaded) return loaded;
  try {
    const addon = createRequire(import.meta.url)(addonPath) as SandboxAddon;
    loaded = { ok: true, addon };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    loaded = { ok: false, error: `sandbox addon not loaded (${addonPath}): ${message}` };
  }
  return loaded;
}

/** Linux paths Node and llama.cpp read while running (process stats, CPU topology, time
 *  zones, randomness); add them to readPaths unless you want those reads to fail. */
export function runtimeReadPaths(): string[] {
  if (process.platform !== 'linux') return [];
  return ['/proc/self', '/proc/cpuinfo', '/sys/devices/system/cpu', '/dev/urandom', '/dev/null', '/etc/localtime', '/usr/share/zoneinfo'];
}

/** Reports what this machine could sandbox, without locking anything down. */
export function probeSandbox(): SandboxProbe {
  const result = loadSandbox();
  if (!result.ok) return { canSandbox: false, landlockAbi: -1, seccomp: false, reason: result.error };
  return result.addon.probe();
}

/** Makes the job process die with its parent (Linux PR_SET_PDEATHSIG, a watcher elsewhere).
 *  Cheap; call it first thing in the job process, lockdown() applies it again. */
export function dieWithParent(parentPid?: number): DieWithParentResult {
  const result = loadSandbox();
  if (!result.ok) return { applied: false, detail: result.error };
  return result.addon.dieWithParent(parentPid);
}

/** Locks the calling process down for good and reports the tier reached. Call it once,
 *  after the model is loaded and its context created; later calls return the first result.
 *  Throws only on malformed options. */
export function lockdown(options: LockdownOptions): LockdownResult {
  if (!Array.isArray(options.readPaths) || options.readPaths.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw new TypeError('lockdown: readPaths must be an array of non-empty strings');
  }
  if (firstLockdown) return firstLockdown;
  const platform = process.platform;
  const result = loadSandbox();
  if (!result.ok) return { tier: 'unsandboxed', platform, layers: {}, reason: result.error };
  try {
    firstLockdown = { ...result.addon.lockdown({ ...options, readPaths: [...options.readPaths] }), platform };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    firstLockdown = { tier: 'unsandboxed', platform, layers: {}, reason: `lockdown failed: ${message}` };
  }
  return firstLockdown;
}
