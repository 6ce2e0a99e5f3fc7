/** The dashboard: sharing state and why, link, current job, engine and GPU, today's earnings; the share switch and a pause's one-click fix. */
import type { AppError, AppState, EarningsView, SharingFix, SharingMode } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, newer, type Loadable } from './loadable.js';


/** State and actions of the dashboard. */
export interface DashboardSlice {
  state: Loadable<AppState>;
  /** Today's earnings from the books (the Dashboard's one "Today" figure and chart). */
  today: Loadable<EarningsView>;
  /** A mode change in flight (the switch shows it as busy). */
  modeChanging: boolean;
  modeError: AppError | null;
  loadState(): Promise<void>;
  loadToday(): Promise<void>;
  setMode(mode: SharingMode): Promise<void>;
  toggleSharing(): Promise<void>;
  /** Applies a paused state's fix (a mode, sharing on battery) or opens Settings. */
  applyFix(fix: SharingFix): Promise<void>;
}

/** The dashboard slice. */
export const createDashboardSlice: SliceCreator<DashboardSlice> = (set, get, api) => ({
  state: idle(),
  today: idle(),
  modeChanging: false,
  modeError: null,
  loadState: async () => {
    set((s) => ({ state: loading(s.state) }));
    const result = await api.getState();
    set((s) => ({ state: result.ok ? newer(s.state, result.value) : fromResult(result, s.state) }));
  },
  loadToday: async () => {
    set((s) => ({ today: loading(s.today) }));
    const result = await api.getEarnings({ range: 'today' });
    set((s) => ({ today: fromResult(result, s.today) }));
  },
  setMode: async (mode) => {
    set({ modeChanging: true, modeError: null });
    const result = await api.setSharingMode({ mode });
    set((s) => ({
      modeChanging: false,
      modeError: result.ok ? null : result.error,
      state: result.ok ? newer(s.state, result.value) : s.state,
    }));
    // The Settings screen shows the mode too: keep its copy in step.
    const settings = get().settings.value;
    if (result.ok && settings) set({ settings: { ...get().settings, value: { ...settings, sharing: { ...settings.sharing, mode } } } });
  },
  toggleSharing: async () => {
    const sharing = get().state.value?.sharing;
    // Off turns the last mode back on (the switch is labelled for it); on turns sharing off.
    await get().setMode(!sharing || sharing.mode === 'off' ? (sharing?.resumeMode ?? 'idle') : 'off');
  },
  applyFix: async (fix) => {
    const { action } = fix;
    if (action.kind === 'set-mode') return get().setMode(action.mode);
    if (action.kind === 'open-settings') return get().go('settings');
    const result = await api.updateSharingSettings({ patch: { onBattery: 'share' } });
    set({ modeError: result.ok ? null : result.error });
    await get().loadState();
  },
});
