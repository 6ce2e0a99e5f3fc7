/** The payout address: shown, typed in, validated by the worker, cleared. */
import type { AppError, WalletView } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, ready, type Loadable } from './loadable.js';

/** State and actions of the Wallet screen. */
export interface WalletSlice {
  wallet: Loadable<WalletView>;
  addressSaving: boolean;
  addressError: AppError | null;
  loadWallet(): Promise<void>;
  savePayoutAddress(address: string): Promise<boolean>;
  clearPayoutAddress(): Promise<void>;
}

/** The wallet slice. */
export const createWalletSlice: SliceCreator<WalletSlice> = (set, _get, api) => ({
  wallet: idle(),
  addressSaving: false,
  addressError: null,
  loadWallet: async () => {
    set((s) => ({ wallet: loading(s.wallet) }));
    const result = await api.getWallet();
    set((s) => ({ wallet: fromResult(result, s.wallet) }));
  },
  savePayoutAddress: async (address) => {
    set({ addressSaving: true, addressError: null });
    const result = await api.setPayoutAddress({ address });
    set((s) => ({ addressSaving: false, addressError: result.ok ? null : result.error, wallet: result.ok ? ready(result.value) : s.wallet }));
    return result.ok;
  },
  clearPayoutAddress: async () => {
    set({ addressSaving: true, addressError: null });
    const result = await api.clearPayoutAddress();
    set((s) => ({ addressSaving: false, addressError: result.ok ? null : result.error, wallet: result.ok ? ready(result.value) : s.wallet }));
  },
});
