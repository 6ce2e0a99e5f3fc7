/**
 * The owner's sharing settings: what mode, when, and within which limits the GPU is shared.
 * One zod schema is the source of truth; every field has a default, so `{}` or a partial
 * file from an older version parses to complete settings.
 */
import { z } from 'zod';
import type { Result } from '../../network/protocol/errors.js';

/** The four sharing modes (docs/design.md, Sharing). */
export const SHARING_MODES = ['off', 'idle', 'polite', 'always'] as const;

/** Off, When idle (the toggle), Polite (capped while the owner works), Always (rigs). */
export type SharingMode = (typeof SHARING_MODES)[number];

/** Days of the week as schedule windows name them; index = JavaScript's `Date#getDay()`. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** A day of the week. */
export type Weekday = (typeof WEEKDAYS)[number];

const clockTime = z
  .string()
  .regex(/^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/, 'a local time as HH:MM, 00:00 to 24:00');

/**
 * A weekly window in local wall-clock time. `days` are the days the window *starts* on; a
 * window whose end is earlier than its start crosses midnight into the next day
 * (fri 22:00–02:00 covers Friday night into Saturday). Use 00:00–24:00 for a whole day.
 */
export const timeWindowSchema = z
  .object({
    days: z.array(z.enum(WEEKDAYS)).min(1),
    start: clockTime,
    end: clockTime,
  })
  .refine((window) => window.start !== '24:00', { message: 'a window cannot start at 24:00', path: ['start'] })
  .refine((window) => window.start !== window.end, { message: 'start and end are equal; use 00:00–24:00 for a whole day', path: ['end'] });

/** A weekly window in local time (see timeWindowSchema). */
export type TimeWindow = z.infer<typeof timeWindowSchema>;

/** Limits applied while sharing politely; null means no limit on that axis. */
export const politeCapsSchema = z.object({
  maxVramMb: z.number().int().min(256).nullable().default(4096),
  maxGpuLayers: z.number().int().min(0).nullable().default(20),
  maxTokensPerSecond: z.number().positive().nullable().default(20),
  maxPowerW: z.number().positive().nullable().default(120),
});

/** Limits the worker core must honour while the decision carries them. */
export type SharingCaps = z.infer<typeof politeCapsSchema>;

/** Anti-flapping knobs; the defaults suit everyone, so the UI may leave them hidden. */
export const hysteresisSchema = z.object({
  /** After a heat pause, resume only once the hottest GPU is this far below the cap. */
  tempMarginC: z.number().min(0).max(30).default(5),
  /** After a power pause, resume only once the draw is this share below the cap. */
  powerMarginPercent: z.number().min(0).max(50).default(10),
  /** The shortest pause: paused → sharing never happens sooner than this after pausing. */
  minDwellSeconds: z.number().min(0).max(3600).default(60),
  /** Repeated heat/power pauses double the pause up to this; a long clean run resets it. */
  maxCooldownMinutes: z.number().min(0).max(24 * 60).default(30),
});

/** Anti-flapping settings (see hysteresisSchema). */
export type HysteresisSettings = z.infer<typeof hysteresisSchema>;

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** The whole settings object as stored and as the Settings screen edits it. */
export const sharingSettingsSchema = z.object({
  mode: z.enum(SHARING_MODES).default('off'),
  /** How long without keyboard or mouse input counts as "away". */
  idleThresholdMinutes: z.number().min(1).max(24 * 60).default(5),
  /** When sharing is allowed at all; empty = any time. */
  schedule: z.array(timeWindowSchema).max(50).default([]),
  /** Windows when the PC should be quiet: no sharing, or polite caps only. */
  quietHours: z
    .object({
      windows: z.array(timeWindowSchema).max(50).default([]),
      behaviour: z.enum(['pause', 'polite']).default('pause'),
    })
    .prefault({}),
  /** The hottest any GPU may run while sharing. */
  maxGpuTempC: z.number().min(40).max(110).default(83),
  /** The most all GPUs together may draw while sharing; null = no cap. */
  maxPowerW: z.number().positive().nullable().default(null),
  onBattery: z.enum(['pause', 'share']).default('pause'),
  polite: politeCapsSchema.prefault({}),
  /** Process names (e.g. "nvidia-broadcast") that do not count as "GPU in use by another program". */
  gpuBusyIgnore: z.array(z.string().min(1)).max(100).default([]),
  /** IANA time zone for the schedule; null = the system's. */
  timeZone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin').nullable().default(null),
  hysteresis: hysteresisSchema.prefault({}),
});

/** Complete, validated sharing settings. */
export type SharingSettings = z.infer<typeof sharingSettingsSchema>;

/** A runtime change: any top-level field, nested groups merged one level deep. */
export type SharingSettingsPatch = Partial<Omit<SharingSettings, 'quietHours' | 'polite' | 'hysteresis'>> & {
  quietHours?: Partial<SharingSettings['quietHours']>;
  polite?: Partial<SharingCaps>;
  hysteresis?: Partial<HysteresisSettings>;
};

/** The settings a fresh install starts with: off until the owner turns sharing on. */
export const DEFAULT_SHARING_SETTINGS: SharingSettings = sharingSettingsSchema.parse({});

/** Settings that failed validation: a summary for logs, and the schema's issues (each names its field) for the form. */
export interface SettingsProblem {
  code: 'invalid-settings';
  message: string;
  issues: z.core.$ZodIssue[];
}

/** Expected failures are values: settings, or the problem the UI shows beside each field. */
export type SettingsResult = Result<SharingSettings, SettingsProblem>;

/** Validates settings from disk, the UI or the command line, filling in defaults. */
export function parseSharingSettings(input: unknown): SettingsResult {
  const parsed = sharingSettingsSchema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: { code: 'invalid-settings', message: z.prettifyError(parsed.error), issues: parsed.error.issues } };
}

/** Applies a patch to current settings and validates the result. */
export function applySettingsPatch(current: SharingSettings, patch: SharingSettingsPatch): SettingsResult {
  return parseSharingSettings({
    ...current,
    ...patch,
    quietHours: { ...current.quietHours, ...patch.quietHours },
    polite: { ...current.polite, ...patch.polite },
    hysteresis: { ...current.hysteresis, ...patch.hysteresis },
  });
}
