/** Settings: the sharing settings form, start at login, models. */
import type { AppError, AppSettingsView, InstalledModel, SharingSettings } from '../../../main/ipc/contract.js';
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
  catalog: Loadable<{ id: string; sizeBytes: number; vramMb: number }[]>;
  loadSettings(): Promise<void>;
  saveSharingSettings(patch: Partial<SharingSettings>): Promise<boolean>;
  setAutoStart(enabled: boolean): Promise<void>;
  loadModels(): Promise<void>;
}

/** The settings slice. */
export const createSettingsSlice: SliceCreator<SettingsSlice> = (set, get, api) => ({
  settings: idle(),
  settingsSaving: false,
  settingsError: null,
  settingsSavedAt: null,
  models: idle(),
  catalog: idle(),
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
  loadModels: async () => {
    set((s) => ({ models: loading(s.models), catalog: loading(s.catalog) }));
    const [models, catalog] = await Promise.all([api.listModels(), api.getModelCatalog()]);
    set((s) => ({ models: fromResult(models, s.models), catalog: fromResult(catalog, s.catalog) }));
  },
});
