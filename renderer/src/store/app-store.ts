/**
 * The renderer's one zustand store, built from slices (one per screen, actions beside their
 * state). Components read it through narrow selectors (`useApp`); pushes from the worker are
 * written with `setState` outside React (see bindPushes).
 */
import { createContext, useContext } from 'react';
import { createStore, useStore, type StoreApi } from 'zustand';
import type { Api } from '../../../main/ipc/contract.js';
import { createShellSlice, type ShellSlice } from './shell-slice.js';
import { createDashboardSlice, type DashboardSlice } from './dashboard-slice.js';
import { createEarningsSlice, type EarningsSlice } from './earnings-slice.js';
import { createWalletSlice, type WalletSlice } from './wallet-slice.js';
import { newer } from './loadable.js';
import { createSettingsSlice, type SettingsSlice } from './settings-slice.js';
import { createDiagnosticsSlice, type DiagnosticsSlice } from './diagnostics-slice.js';
import { createModelsSlice, type ModelsSlice } from './models-slice.js';

/** The whole renderer state. */
export type AppStore = ShellSlice & DashboardSlice & EarningsSlice & WalletSlice & SettingsSlice & DiagnosticsSlice & ModelsSlice;

/** How a slice is written: set/get of the whole store, and the API. */
export type SliceCreator<T> = (set: StoreApi<AppStore>['setState'], get: StoreApi<AppStore>['getState'], api: Api) => T;

/** Creates a store around an API (tests pass a fake one). */
export function createAppStore(api: Api): StoreApi<AppStore> {
  return createStore<AppStore>()((set, get) => ({
    ...createShellSlice(set, get, api),
    ...createDashboardSlice(set, get, api),
    ...createEarningsSlice(set, get, api),
    ...createWalletSlice(set, get, api),
    ...createSettingsSlice(set, get, api),
    ...createDiagnosticsSlice(set, get, api),
    ...createModelsSlice(set, get, api),
  }));
}

/** Writes every push into the store; returns the function that stops. */
export function bindPushes(store: StoreApi<AppStore>, api: Api): () => void {
  const stops = [
    api.on('state', (state) => store.setState((s) => ({ state: newer(s.state, state) }))),
    api.on('session', (session) => {
      const before = store.getState().session.value?.receipts;
      store.setState({ session: { status: 'ready', value: session, error: null } });
      // A new receipt changes today's figure: the books credit it right after it arrives.
      if (before !== undefined && session.receipts !== before) setTimeout(() => void store.getState().loadToday(), 300);
    }),
    api.on('log', (entry) => store.setState((s) => ({ logs: [...s.logs, entry].slice(-500) }))),
    api.on('wallet', (wallet) => store.setState((s) => ({ wallet: newer(s.wallet, wallet) }))),
    api.on('download', (view) => store.getState().onDownload(view)),
  ];
  return () => stops.forEach((stop) => stop());
}

/** The store of this window, provided at the root. */
export const StoreContext = createContext<StoreApi<AppStore> | null>(null);

/** The store itself, for an action that must read what another action just wrote. */
export function useAppStore(): StoreApi<AppStore> {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useAppStore outside <StoreContext.Provider>');
  return store;
}

/** Reads one narrow piece of the store (re-renders only when it changes). */
export function useApp<T>(selector: (store: AppStore) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useApp outside <StoreContext.Provider>');
  return useStore(store, selector);
}
