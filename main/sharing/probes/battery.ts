/**
 * Power source without Electron: /sys/class/power_supply on Linux, `pmset -g batt` on macOS.
 * Windows is left to the Electron shell (powerMonitor.isOnBatteryPower), so it is unknown here.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatterySignals, SignalProbe } from '../signals.js';
import { parseNumber, runCommand, type CommandRunner } from './run-command.js';

/** One power supply's `uevent` properties, keys without the POWER_SUPPLY_ prefix. */
export type PowerSupply = Record<string, string>;

/** Parses a sysfs power-supply `uevent` file (KEY=value lines). */
export function parseUevent(text: string): PowerSupply {
  const props: PowerSupply = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) props[line.slice(0, at).replace(/^POWER_SUPPLY_/, '')] = line.slice(at + 1).trim();
  }
  return props;
}

/**
 * Decides the power source from Linux power supplies. A machine with no system battery (a
 * desktop) is known to be on mains; peripheral batteries (mouse, headset: SCOPE=Device) do not count.
 */
export function batteryFromSupplies(supplies: readonly PowerSupply[]): BatterySignals {
  const batteries = supplies.filter((s) => s.TYPE === 'Battery' && s.SCOPE !== 'Device');
  if (batteries.length === 0) return { onBattery: false, percent: null };
  const adapters = supplies.filter((s) => s.TYPE !== 'Battery' && s.SCOPE !== 'Device' && s.ONLINE !== undefined);
  const acOnline = adapters.some((s) => s.ONLINE === '1');
  const discharging = batteries.some((s) => s.STATUS === 'Discharging');
  const onBattery = adapters.length > 0 ? !acOnline : discharging;
  const levels = batteries.map((s) => parseNumber(s.CAPACITY)).filter((n): n is number => n !== null);
  const percent = levels.length === 0 ? null : Math.round(levels.reduce((a, b) => a + b, 0) / levels.length);
  return { onBattery, percent };
}

/** Parses `pmset -g batt`: "Now drawing from 'Battery Power'" and " -InternalBattery-0 … 85%; discharging". */
export function parsePmsetBattery(stdout: string): BatterySignals | null {
  const source = /drawing from '([^']+)'/.exec(stdout)?.[1];
  if (!source) return null;
  const percent = /(\d{1,3})%;/.exec(stdout)?.[1];
  // UPS power means the mains are out: treat like a battery.
  return { onBattery: source !== 'AC Power', percent: percent === undefined ? null : Number(percent) };
}

/** Reads Linux power supplies from sysfs; unknown when the folder is missing or unreadable. */
export function createLinuxBatteryProbe(options: { root?: string } = {}): SignalProbe {
  const root = options.root ?? '/sys/class/power_supply';
  return {
    name: 'linux-power-supply',
    async read() {
      let names: string[];
      try {
        names = await readdir(root);
      } catch {
        return {};
      }
      const supplies = await Promise.all(names.map((name) => readFile(join(root, name, 'uevent'), 'utf8').then(parseUevent, () => null)));
      return { battery: batteryFromSupplies(supplies.filter((s): s is PowerSupply => s !== null)) };
    },
  };
}

/** Reads the macOS power source through pmset; unknown when pmset fails. */
export function createMacBatteryProbe(options: { run?: CommandRunner } = {}): SignalProbe {
  const run = options.run ?? runCommand;
  return {
    name: 'pmset',
    async read() {
      const result = await run('pmset', ['-g', 'batt']);
      const battery = result.ok ? parsePmsetBattery(result.stdout) : null;
      return battery ? { battery } : {};
    },
  };
}
