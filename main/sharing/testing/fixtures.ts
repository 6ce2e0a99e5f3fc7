/**
 * Builders for policy tests: a known, quiet desktop and settings in UTC, each overridable.
 * Test support only: imported by the *.test.ts files of this folder, never by the app.
 */
import { parseSharingSettings, type SharingSettings } from '../settings.js';
import type { GpuDevice, Signals } from '../signals.js';

/** Monday 6 January 2025, 12:00 UTC. */
export const MONDAY_NOON = Date.UTC(2025, 0, 6, 12, 0);

/** An instant in UTC on the week of MONDAY_NOON (day 0 = Sunday 5 January). */
export function utc(day: number, hour: number, minute = 0): number {
  return Date.UTC(2025, 0, 5 + day, hour, minute);
}

/** One GPU reading with overrides. */
export function gpuDevice(overrides: Partial<GpuDevice> = {}): GpuDevice {
  return { index: 0, name: 'NVIDIA GeForce RTX 4090', vendor: 'nvidia', tempC: 54, powerW: 80, memoryUsedMb: 900, memoryTotalMb: 24564, utilizationPercent: 3, ...overrides };
}

/** Every signal known: owner at the keyboard, nothing fullscreen, a cool idle GPU, on mains. */
export function knownSignals(overrides: Partial<Signals> = {}): Signals {
  return {
    idleSeconds: 0,
    screenLocked: false,
    localSession: true,
    fullscreen: { detected: false },
    game: { detected: false },
    gpu: { devices: [gpuDevice()], otherProcesses: [] },
    battery: { onBattery: false, percent: null },
    ...overrides,
  };
}

/** The owner away for `minutes`, everything else as knownSignals. */
export function awaySignals(minutes = 12, overrides: Partial<Signals> = {}): Signals {
  return knownSignals({ idleSeconds: minutes * 60, ...overrides });
}

/** Valid settings in UTC with the given fields (mode 'idle' unless given); throws if invalid. */
export function makeSettings(input: Record<string, unknown> = {}): SharingSettings {
  const result = parseSharingSettings({ mode: 'idle', timeZone: 'UTC', ...input });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}
