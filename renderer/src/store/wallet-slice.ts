/**
 * The Wallet screen's state: the payout address and its three sources — typed (validated by
 * the worker), a wallet app paired over TON Connect (the worker runs the pairing; pushes
 * `wallet` as it goes), or a wallet created on this PC. The recovery words are held here only
 * while the owner is looking at them, and dropped as soon as they are confirmed or hidden.
 */
import type { AppError, WalletView } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, newer, type Loadable } from './loadable.js';

/** A wallet just created: its words wait on screen for the "I wrote them down" step. */
export interface NewLocalWallet {
  address: string;
  words: string[];
}

/** State and actions of the Wallet screen. */
export interface WalletSlice {
  wallet: Loadable<WalletView>;
  addressSaving: boolean;
  addressError: AppError | null;
  /** A TON Connect call is in flight (start, cancel, disconnect). */
  pairingBusy: boolean;
  pairingError: AppError | null;
  /** A local wallet call is in flight. */
  localBusy: boolean;
  localError: AppError | null;
  newWallet: NewLocalWallet | null;
  revealedWords: string[] | null;
  loadWallet(): Promise<void>;
  savePayoutAddress(address: string): Promise<boolean>;
  clearPayoutAddress(): Promise<void>;
  startTonConnect(): Promise<void>;
  cancelTonConnect(): Promise<void>;
  disconnectWallet(): Promise<void>;
  createLocalWallet(passphrase?: string): Promise<boolean>;
  confirmWalletBackup(): Promise<void>;
  importLocalWallet(words: string, passphrase?: string): Promise<boolean>;
  revealRecoveryPhrase(passphrase?: string): Promise<boolean>;
  hideRecoveryPhrase(): void;
  removeLocalWallet(): Promise<void>;
  clearLocalError(): void;
}


/** The wallet slice. */
export const createWalletSlice: SliceCreator<WalletSlice> = (set, get, api) => {
  /** Runs a local-wallet verb that answers the Wallet view. */
  const localCall = async (call: () => ReturnType<typeof api.getWallet>): Promise<boolean> => {
    set({ localBusy: true, localError: null });
    const result = await call();
    set((s) => ({ localBusy: false, localError: result.ok ? null : result.error, wallet: result.ok ? newer(s.wallet, result.value) : s.wallet }));
    return result.ok;
  };
  const pairingCall = async (call: () => ReturnType<typeof api.getWallet>): Promise<void> => {
    set({ pairingBusy: true, pairingError: null });
    const result = await call();
    set((s) => ({ pairingBusy: false, pairingError: result.ok ? null : result.error, wallet: result.ok ? newer(s.wallet, result.value) : s.wallet }));
  };
  return {
    wallet: idle(),
    addressSaving: false,
    addressError: null,
    pairingBusy: false,
    pairingError: null,
    localBusy: false,
    localError: null,
    newWallet: null,
    revealedWords: null,
    loadWallet: async () => {
      set((s) => ({ wallet: loading(s.wallet) }));
      const result = await api.getWallet();
      set((s) => ({ wallet: result.ok ? newer(s.wallet, result.value) : fromResult(result, s.wallet) }));
    },
    savePayoutAddress: async (address) => {
      set({ addressSaving: true, addressError: null });
      const result = await api.setPayoutAddress({ address });
      set((s) => ({ addressSaving: false, addressError: result.ok ? null : result.error, wallet: result.ok ? newer(s.wallet, result.value) : s.wallet }));
      return result.ok;
    },
    clearPayoutAddress: async () => {
      set({ addressSaving: true, addressError: null });
      const result = await api.clearPayoutAddress();
      set((s) => ({ addressSaving: false, addressError: result.ok ? null : result.error, wallet: result.ok ? newer(s.wallet, result.value) : s.wallet }));
    },
    startTonConnect: async () => {
      set({ pairingBusy: true, pairingError: null });
      const result = await api.startTonConnect();
      set({ pairingBusy: false, pairingError: result.ok ? null : result.error });
      await get().loadWallet();
    },
    cancelTonConnect: () => pairingCall(() => api.cancelTonConnect()),
    disconnectWallet: () => pairingCall(() => api.disconnectWallet()),
    createLocalWallet: async (passphrase) => {
      set({ localBusy: true, localError: null });
      const result = await api.createLocalWallet(passphrase ? { passphrase } : {});
      set({ localBusy: false, localError: result.ok ? null : result.error, newWallet: result.ok ? { address: result.value.address, words: result.value.words } : null });
      await get().loadWallet();
      return result.ok;
    },
    confirmWalletBackup: async () => {
      if (await localCall(() => api.confirmWalletBackup())) set({ newWallet: null });
    },
    importLocalWallet: (words, passphrase) => localCall(() => api.importLocalWallet(passphrase ? { words, passphrase } : { words })),
    revealRecoveryPhrase: async (passphrase) => {
      set({ localBusy: true, localError: null });
      const result = await api.revealRecoveryPhrase(passphrase ? { passphrase } : {});
      set({ localBusy: false, localError: result.ok ? null : result.error, revealedWords: result.ok ? result.value.words : null });
      return result.ok;
    },
    hideRecoveryPhrase: () => set({ revealedWords: null }),
    removeLocalWallet: async () => {
      if (await localCall(() => api.removeLocalWallet())) set({ newWallet: null, revealedWords: null });
    },
    clearLocalError: () => set({ localError: null }),
  };
};
