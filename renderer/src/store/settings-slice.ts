/** Settings: the sharing settings form, start at login, models. */
import type { AppError, AppSettingsView, ElectricityInput, InstalledModel, SharingSettings } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, type Loadable } from './loadable.js';

/** State and actions of the Settings and Models screens. */
export interface SettingsSlice {
  settings: Loadable<AppSettingsView>;
  settingsSaving: boolean;
  settingsError: AppError | null;
  /** When the last save succeeded (for the "Saved" note). */
  settingsSavedAt: number | null;
  models: Loadable<InstalledModel[]>;
  loadSettings(): Promise<void>;
  saveSharingSettings(patch: Partial<SharingSettings>): Promise<boolean>;
  setAutoStart(enabled: boolean): Promise<void>;
  /** Stores (or with null clears) the electricity price; the error stays in `electricityError`. */
  saveElectricity(electricity: ElectricityInput | null): Promise<boolean>;
  electricityError: AppError | null;
  /** Ends the first-run setup. */
  completeSetup(): Promise<void>;
  loadModels(): Promise<void>;
}

/** The settings slice. */
export const createSettingsSlice: SliceCreator<SettingsSlice> = (set, get, api) => ({
  settings: idle(),
  settingsSaving: false,
  settingsError: null,
  settingsSavedAt: null,
  electricityError: null,
  models: idle(),
  loadSettings: async () => {
    set((s) => ({ settings: loading(s.settings) }));
    const result = await api.getSettings();
    set((s) => ({ settings: fromResult(result, s.settings) }));
  },
  saveSharingSettings: async (patch) => {
    set({ settingsSaving: true, settingsError: null });
    const result = await api.updateSharingSettings({ patch });
    const current = get().settings.value;
    set({
      settingsSaving: false,
      settingsError: result.ok ? null : result.error,
      settingsSavedAt: result.ok ? Date.now() : null,
      ...(result.ok && current ? { settings: { status: 'ready' as const, value: { ...current, sharing: result.value }, error: null } } : {}),
    });
    if (result.ok) await get().loadState();
    return result.ok;
  },
  setAutoStart: async (enabled) => {
    const result = await api.setAutoStart({ enabled });
    const current = get().settings.value;
    set({ settingsError: result.ok ? null : result.error, ...(result.ok && current ? { settings: { status: 'ready' as const, value: { ...current, autoStart: result.value }, error: null } } : {}) });
  },
  saveElectricity: async (electricity) => {
    const result = await api.setElectricity({ electricity });
    set((s) => ({ electricityError: result.ok ? null : result.error, settings: result.ok ? { status: 'ready' as const, value: result.value, error: null } : s.settings }));
    return result.ok;
  },
  completeSetup: async () => {
    const result = await api.completeSetup();
    set((s) => ({ settingsError: result.ok ? null : result.error, settings: result.ok ? { status: 'ready' as const, value: result.value, error: null } : s.settings }));
  },
  loadModels: async () => {
    set((s) => ({ models: loading(s.models) }));
    const models = await api.listModels();
    set((s) => ({ models: fromResult(models, s.models) }));
  },
});
