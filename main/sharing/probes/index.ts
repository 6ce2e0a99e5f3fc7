/**
 * The probes that work without Electron on each platform, in priority order, and a signal
 * source built from them for the headless worker. The Electron shell puts its powerMonitor
 * probe (and native fullscreen probe) first in the list and keeps the rest.
 */
import { createCompositeSource, withMinInterval, type CompositeSource, type SignalProbe } from '../signals.js';
import { createLinuxBatteryProbe, createMacBatteryProbe } from './battery.js';
import { createX11FullscreenProbe } from './fullscreen.js';
import { createGameProbe } from './games.js';
import { createLogindProbe, createMacIdleProbe, createXprintidleProbe } from './idle.js';
import { createNvidiaProbe } from './nvidia-smi.js';
import { createRocmProbe } from './rocm-smi.js';
import type { CommandRunner } from './run-command.js';

/** Options of the default probe set (all optional; tests override the platform and runner). */
export interface DefaultProbeOptions {
  platform?: NodeJS.Platform;
  /** Our own process ids (this process and the job process), never counted as "another program". */
  ownPids?: () => Iterable<number>;
  run?: CommandRunner;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

/** The headless probes for a platform, first = most trusted for each signal. */
export function createDefaultProbes(options: DefaultProbeOptions = {}): SignalProbe[] {
  const platform = options.platform ?? process.platform;
  const { run, env, ownPids } = options;
  const now = options.now ?? Date.now;
  // The process list and the power source change slowly; no need to re-read them every poll.
  const games = withMinInterval(createGameProbe({ platform, run, ownPids }), 5000, now);
  const nvidia = createNvidiaProbe({ run, ownPids });
  switch (platform) {
    case 'linux':
      return [
        createXprintidleProbe({ run, env }),
        createLogindProbe({ run, now }),
        createX11FullscreenProbe({ run, env }),
        games,
        nvidia,
        createRocmProbe({ run, ownPids }),
        withMinInterval(createLinuxBatteryProbe(), 15_000, now),
      ];
    case 'darwin':
      return [createMacIdleProbe({ run }), games, withMinInterval(createMacBatteryProbe({ run }), 15_000, now)];
    case 'win32':
      return [games, nvidia];
    default:
      return [nvidia];
  }
}

/** The signal source of the headless worker: the default probes, merged, never throwing. */
export function createHeadlessSignalSource(options: DefaultProbeOptions = {}): CompositeSource {
  return createCompositeSource(createDefaultProbes(options));
}
