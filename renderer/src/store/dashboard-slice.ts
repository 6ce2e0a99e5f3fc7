/** The dashboard: sharing state and why, link, current job, engine and GPU; the share toggle. */
import type { AppError, AppState, SharingMode } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, type Loadable } from './loadable.js';

/** State and actions of the dashboard. */
export interface DashboardSlice {
  state: Loadable<AppState>;
  /** A mode change in flight (the switch shows it as busy). */
  modeChanging: boolean;
  modeError: AppError | null;
  /** The mode the toggle turns back on (the last one that was not Off). */
  resumeMode: Exclude<SharingMode, 'off'>;
  loadState(): Promise<void>;
  setMode(mode: SharingMode): Promise<void>;
  toggleSharing(): Promise<void>;
}

/** The dashboard slice. */
export const createDashboardSlice: SliceCreator<DashboardSlice> = (set, get, api) => ({
  state: idle(),
  modeChanging: false,
  modeError: null,
  resumeMode: 'idle',
  loadState: async () => {
    set((s) => ({ state: loading(s.state) }));
    const result = await api.getState();
    set((s) => ({ state: fromResult(result, s.state) }));
  },
  setMode: async (mode) => {
    const current = get().state.value?.sharing.mode;
    if (current && current !== 'off') set({ resumeMode: current });
    set({ modeChanging: true, modeError: null });
    const result = await api.setSharingMode({ mode });
    set((s) => ({
      modeChanging: false,
      modeError: result.ok ? null : result.error,
      state: result.ok ? { status: 'ready', value: result.value, error: null } : s.state,
      ...(mode !== 'off' ? { resumeMode: mode } : {}),
    }));
    // The Settings screen shows the mode too: keep its copy in step.
    const settings = get().settings.value;
    if (result.ok && settings) set({ settings: { ...get().settings, value: { ...settings, sharing: { ...settings.sharing, mode } } } });
  },
  toggleSharing: async () => {
    const mode = get().state.value?.sharing.mode ?? 'off';
    await get().setMode(mode === 'off' ? get().resumeMode : 'off');
  },
});
