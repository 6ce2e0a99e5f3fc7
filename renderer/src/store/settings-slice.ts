/**
 * Settings and the first-run setup share one save model (docs/design.md, UI build): every edit
 * goes into a draft kept in the store — leaving the screen keeps it — "Save" sends the whole
 * form, "Reset" drops the draft and its messages, and each refusal comes back beside its field,
 * in plain words. Numbers are kept as typed ("0,30") until saved, then read in the owner's locale.
 */
import type { AppError, AppSettingsView, ElectricityInput, FieldProblem, InstalledModel, SharingSettings } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, type Loadable } from './loadable.js';
import { parseDecimal, parseNumber } from '../decimal-input.js';

/** The electricity form as typed. */
export interface ElectricityDraft {
  pricePerKwh: string;
  currency: string;
  tonPrice: string;
  watts: string;
}

/** The drafts of one form: what the owner changed and has not saved yet. */
export interface SettingsDrafts {
  sharing: SharingSettings | null;
  /** Number fields of the sharing form as typed, by path (`maxGpuTempC`, `polite.maxVramMb`). */
  numbers: Record<string, string>;
  electricity: ElectricityDraft | null;
  autoStart: boolean | null;
  /** The payout address typed in the first-run setup. */
  payoutAddress: string | null;
}

/** State and actions of the Settings screen, the setup, and the installed models. */
export interface SettingsSlice {
  settings: Loadable<AppSettingsView>;
  drafts: SettingsDrafts;
  /** Messages beside fields, by path (`maxGpuTempC`, `electricity.pricePerKwh`, `payoutAddress`). */
  fieldErrors: Record<string, string>;
  /** A refusal that names no field. */
  formError: AppError | null;
  settingsSaving: boolean;
  /** When the last save succeeded (for the "Saved" note). */
  settingsSavedAt: number | null;
  models: Loadable<InstalledModel[]>;
  loadSettings(): Promise<void>;
  editSharing(change: Partial<SharingSettings>): void;
  editNumber(path: string, text: string): void;
  editElectricity(change: Partial<ElectricityDraft>): void;
  editAutoStart(enabled: boolean): void;
  editPayoutAddress(text: string): void;
  /** Drops every draft and message. */
  resetDrafts(): void;
  /** Saves every draft; false (with messages beside the fields) when anything was refused. */
  saveSettings(): Promise<boolean>;
  /** Ends the first-run setup: saves what it collected, then marks it done. */
  finishSetup(): Promise<boolean>;
  loadModels(): Promise<void>;
}

const NO_DRAFTS: SettingsDrafts = { sharing: null, numbers: {}, electricity: null, autoStart: null, payoutAddress: null };

/** Whether any draft holds an unsaved edit. */
export function hasUnsavedChanges(drafts: SettingsDrafts): boolean {
  return drafts.sharing !== null || Object.keys(drafts.numbers).length > 0 || drafts.electricity !== null || drafts.autoStart !== null || (drafts.payoutAddress ?? '').trim() !== '';
}

/** The electricity form for a stored price (empty when none). */
export function electricityDraftOf(input: ElectricityInput | null): ElectricityDraft {
  return input ? { pricePerKwh: input.pricePerKwh, currency: input.currency, tonPrice: input.tonPrice, watts: input.watts === null ? '' : String(input.watts) } : { pricePerKwh: '', currency: 'EUR', tonPrice: '', watts: '' };
}

/** The value at a dotted path of the sharing settings. */
function numberAt(settings: SharingSettings, path: string): number | null {
  let value: unknown = settings;
  for (const key of path.split('.')) value = (value as Record<string, unknown> | null)?.[key];
  return typeof value === 'number' ? value : null;
}

/** A copy of the settings with a number set at a dotted path. */
function withNumber(settings: SharingSettings, path: string, value: number | null): SharingSettings {
  const [head = '', tail] = path.split('.');
  if (!tail) return { ...settings, [head]: value };
  return { ...settings, [head]: { ...(settings as unknown as Record<string, Record<string, unknown>>)[head], [tail]: value } };
}

/** Field problems as messages by path, under a prefix (`electricity.`). */
function messagesOf(fields: FieldProblem[] | undefined, prefix = ''): Record<string, string> {
  return Object.fromEntries((fields ?? []).map((field) => [`${prefix}${field.path}`, field.message]));
}

/** The settings slice. */
export const createSettingsSlice: SliceCreator<SettingsSlice> = (set, get, api) => {
  /** Reads the typed numbers into the sharing draft; messages for those that are not numbers. */
  const readNumbers = (base: SharingSettings): { settings: SharingSettings; errors: Record<string, string> } => {
    let settings = base;
    const errors: Record<string, string> = {};
    for (const [path, text] of Object.entries(get().drafts.numbers)) {
      if (text.trim() === '') {
        settings = withNumber(settings, path, null);
        continue;
      }
      const value = parseNumber(text);
      if (value === null) errors[path] = 'Enter a number, such as 80.';
      else settings = withNumber(settings, path, value);
    }
    return { settings, errors };
  };
  /** Reads the electricity form; messages for fields that are not numbers. */
  const readElectricity = (draft: ElectricityDraft): { input: ElectricityInput | null; errors: Record<string, string> } => {
    const empty = draft.pricePerKwh.trim() === '' && draft.tonPrice.trim() === '' && draft.watts.trim() === '';
    if (empty) return { input: null, errors: {} };
    const errors: Record<string, string> = {};
    const price = parseDecimal(draft.pricePerKwh);
    const ton = parseDecimal(draft.tonPrice);
    const watts = draft.watts.trim() === '' ? null : parseNumber(draft.watts);
    if (price === null) errors['electricity.pricePerKwh'] = 'Enter the price per kWh, such as 0.30 or 0,30.';
    if (ton === null) errors['electricity.tonPrice'] = 'Enter what 1 TON costs, such as 3.10 or 3,10.';
    if (draft.watts.trim() !== '' && (watts === null || !Number.isInteger(watts))) errors['electricity.watts'] = 'Enter whole watts, such as 250, or leave it empty.';
    if (Object.keys(errors).length > 0 || price === null || ton === null) return { input: null, errors };
    return { input: { pricePerKwh: price, currency: draft.currency.trim(), tonPrice: ton, watts }, errors };
  };

  const save = async (withAddress: boolean): Promise<boolean> => {
    const { drafts } = get();
    const current = get().settings.value;
    if (!current) return false;
    set({ settingsSaving: true, formError: null, fieldErrors: {} });
    const errors: Record<string, string> = {};
    let formError: AppError | null = null;
    const numbers = readNumbers(drafts.sharing ?? current.sharing);
    Object.assign(errors, numbers.errors);
    const electricity = drafts.electricity ? readElectricity(drafts.electricity) : null;
    Object.assign(errors, electricity?.errors ?? {});
    let view = current;
    const saved: Partial<SettingsDrafts> = {};
    if (Object.keys(errors).length === 0) {
      if (drafts.sharing !== null || Object.keys(drafts.numbers).length > 0) {
        const result = await api.updateSharingSettings({ patch: numbers.settings });
        if (result.ok) {
          view = { ...view, sharing: result.value };
          Object.assign(saved, { sharing: null, numbers: {} });
        } else if (result.error.fields) Object.assign(errors, messagesOf(result.error.fields));
        else formError = result.error;
      }
      if (electricity) {
        const result = await api.setElectricity({ electricity: electricity.input });
        if (result.ok) {
          view = result.value;
          saved.electricity = null;
        } else if (result.error.fields) Object.assign(errors, messagesOf(result.error.fields, 'electricity.'));
        else formError = result.error;
      }
      if (drafts.autoStart !== null) {
        const result = await api.setAutoStart({ enabled: drafts.autoStart });
        if (result.ok) {
          view = { ...view, autoStart: result.value };
          saved.autoStart = null;
        } else formError = result.error;
      }
      if (withAddress && (drafts.payoutAddress ?? '').trim() !== '') {
        const ok = await get().savePayoutAddress(drafts.payoutAddress ?? '');
        if (ok) saved.payoutAddress = null;
        else errors.payoutAddress = get().addressError?.message ?? 'This address cannot be used.';
      }
    }
    const clean = Object.keys(errors).length === 0 && formError === null;
    set((s) => ({
      settingsSaving: false,
      settings: { status: 'ready', value: view, error: null },
      drafts: { ...s.drafts, ...saved },
      fieldErrors: errors,
      formError,
      settingsSavedAt: clean ? Date.now() : null,
    }));
    if (clean) await get().loadState();
    return clean;
  };

  return {
    settings: idle(),
    drafts: NO_DRAFTS,
    fieldErrors: {},
    formError: null,
    settingsSaving: false,
    settingsSavedAt: null,
    models: idle(),
    loadSettings: async () => {
      set((s) => ({ settings: loading(s.settings) }));
      const result = await api.getSettings();
      set((s) => ({ settings: fromResult(result, s.settings) }));
    },
    editSharing: (change) => {
      const base = get().drafts.sharing ?? get().settings.value?.sharing;
      if (!base) return;
      set((s) => ({ drafts: { ...s.drafts, sharing: { ...base, ...change } }, settingsSavedAt: null }));
    },
    editNumber: (path, text) => {
      const { [path]: _cleared, ...others } = get().fieldErrors;
      set((s) => ({ drafts: { ...s.drafts, numbers: { ...s.drafts.numbers, [path]: text } }, fieldErrors: others, settingsSavedAt: null }));
    },
    editElectricity: (change) => {
      const base = get().drafts.electricity ?? electricityDraftOf(get().settings.value?.electricity ?? null);
      const fieldErrors = Object.fromEntries(Object.entries(get().fieldErrors).filter(([path]) => !Object.keys(change).some((key) => path === `electricity.${key}`)));
      set((s) => ({ drafts: { ...s.drafts, electricity: { ...base, ...change } }, fieldErrors, settingsSavedAt: null }));
    },
    editAutoStart: (enabled) => set((s) => ({ drafts: { ...s.drafts, autoStart: enabled === s.settings.value?.autoStart ? null : enabled }, settingsSavedAt: null })),
    editPayoutAddress: (text) => {
      const { payoutAddress: _cleared, ...others } = get().fieldErrors;
      set((s) => ({ drafts: { ...s.drafts, payoutAddress: text }, fieldErrors: others }));
    },
    resetDrafts: () => set({ drafts: NO_DRAFTS, fieldErrors: {}, formError: null, settingsSavedAt: null }),
    saveSettings: () => save(false),
    finishSetup: async () => {
      if (!(await save(true))) return false;
      const result = await api.completeSetup();
      set((s) => ({ formError: result.ok ? null : result.error, settings: result.ok ? { status: 'ready' as const, value: result.value, error: null } : s.settings }));
      return result.ok;
    },
    loadModels: async () => {
      set((s) => ({ models: loading(s.models) }));
      const models = await api.listModels();
      set((s) => ({ models: fromResult(models, s.models) }));
    },
  };
};

/** The value a number field shows: as typed, else the draft's or stored value. */
export function numberText(drafts: SettingsDrafts, stored: SharingSettings, path: string): string {
  if (path in drafts.numbers) return drafts.numbers[path] ?? '';
  const value = numberAt(drafts.sharing ?? stored, path);
  return value === null ? '' : new Intl.NumberFormat(undefined, { maximumFractionDigits: 3, useGrouping: false }).format(value);
}
