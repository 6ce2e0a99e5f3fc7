/** Which screen is open, the theme, what the app is, and the link to the worker. */
import type { AppInfo } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, type Loadable } from './loadable.js';

/** The screens of the app, in navigation order. */
export const SCREENS = ['dashboard', 'earnings', 'wallet', 'models', 'settings', 'diagnostics'] as const;
/** One screen. */
export type Screen = (typeof SCREENS)[number];
/** The owner's theme choice; 'system' follows prefers-color-scheme. */
export type ThemeChoice = 'system' | 'light' | 'dark';
/** The push stream's state ('live' in Electron, where IPC cannot drop); `lost`: Silkworm isn't running. */
export type LinkStatus = 'connecting' | 'live' | 'lost' | 'unauthorized';

/** State and actions of the app shell. */
export interface ShellSlice {
  screen: Screen;
  theme: ThemeChoice;
  link: LinkStatus;
  info: Loadable<AppInfo>;
  go(screen: Screen): void;
  setTheme(theme: ThemeChoice): void;
  loadInfo(): Promise<void>;
  /** Opens an explorer or wallet link in the owner's browser (the desktop app's shell). */
  openLink(url: string): Promise<void>;
}

function storedTheme(): ThemeChoice {
  try {
    const value = window.localStorage.getItem('silkworm.theme');
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

/** The shell slice. */
export const createShellSlice: SliceCreator<ShellSlice> = (set, _get, api) => ({
  screen: 'dashboard',
  theme: storedTheme(),
  link: 'connecting',
  info: idle(),
  go: (screen) => set({ screen }),
  setTheme: (theme) => {
    try {
      window.localStorage.setItem('silkworm.theme', theme);
    } catch {
      // storage may be unavailable; the choice still applies to this window
    }
    set({ theme });
  },
  loadInfo: async () => set({ info: fromResult(await api.getAppInfo()) }),
  openLink: async (url) => {
    await api.openLink({ url });
  },
});
