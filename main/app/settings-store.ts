/**
 * The app's own settings file in the data dir (`app-settings.json`): the owner's sharing
 * settings, payout address, electricity, setup and auto-start choices, and chosen model.
 * Written atomically (node-kit/json-file.ts), one write at a time;
 * a missing or damaged file reads as "nothing stored" so the app still starts.
 */
import { readFile } from 'node:fs/promises';
import { writeJsonFile } from '../../network/node-kit/json-file.js';
import { join } from 'node:path';
import { z } from 'zod';
import { sharingSettingsSchema, type SharingSettings } from '../sharing/settings.js';
import { electricityInputSchema, type ElectricityInput } from '../earnings/electricity.js';

/** What the file holds; every field optional so older files still load. */
export interface StoredAppSettings {
  sharing?: SharingSettings;
  payoutAddress?: string | null;
  autoStart?: boolean;
  /** The owner's electricity price (Settings → Electricity). */
  electricity?: ElectricityInput | null;
  /** Set once the owner finished (or skipped) the first-run setup. */
  setupDone?: boolean;
  /** The model file the owner chose on the Models screen (served at the next start too). */
  modelPath?: string;
}

const fileSchema = z.object({
  sharing: sharingSettingsSchema.optional(),
  payoutAddress: z.string().max(100).nullable().optional(),
  autoStart: z.boolean().optional(),
  electricity: electricityInputSchema.nullable().optional(),
  setupDone: z.boolean().optional(),
  modelPath: z.string().min(1).max(4096).optional(),
});

/** The path of the settings file in a data dir. */
export function settingsFile(dataDir: string): string {
  return join(dataDir, 'app-settings.json');
}

/** Reads the stored settings; a missing file is `{}`, a damaged one is `{}` plus a warning. */
export async function loadAppSettings(dataDir: string): Promise<{ settings: StoredAppSettings; warning: string | null }> {
  let text: string;
  try {
    text = await readFile(settingsFile(dataDir), 'utf8');
  } catch {
    return { settings: {}, warning: null };
  }
  try {
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (parsed.success) return { settings: parsed.data as StoredAppSettings, warning: null };
    return { settings: {}, warning: `ignored ${settingsFile(dataDir)}: ${z.prettifyError(parsed.error)}` };
  } catch (error) {
    return { settings: {}, warning: `ignored ${settingsFile(dataDir)}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Keeps the stored settings and writes every change atomically, in order. */
export class AppSettingsStore {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataDir: string,
    private current: StoredAppSettings,
  ) {}

  /** The settings as last stored. */
  get value(): StoredAppSettings {
    return this.current;
  }

  /** Merges a change and writes the file; resolves once it is on disk. */
  update(change: StoredAppSettings): Promise<void> {
    this.current = { ...this.current, ...change };
    const snapshot = structuredClone(this.current);
    this.queue = this.queue.catch(() => undefined).then(() => writeJsonFile(settingsFile(this.dataDir), snapshot, { mode: 0o600 }));
    return this.queue;
  }
}
