/** Earnings: the books' figures (range, balances, rate), receipts and payouts, CSV and Cash out; and this session's counters. */
import type { AppError, EarningsRange, Result, EarningsView, Page, PayoutView, ReceiptView, SessionEarnings } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, ready, type Loadable } from './loadable.js';

/**
 * Where a Cash out stands: asked to confirm, sending the claim, claim sent and waiting for the
 * payout to show on chain (`late` once that takes unusually long), paid, nothing to claim, or
 * refused with the worker's message.
 */
export type CashOutState =
  | { phase: 'idle' }
  | { phase: 'confirming'; nanotons: string; error: AppError | null }
  | { phase: 'sending'; nanotons: string }
  | { phase: 'waiting'; nanotons: string; seq: number | null; late: boolean }
  | { phase: 'paid'; nanotons: string; payout: PayoutView | null }
  | { phase: 'nothing' }
  | { phase: 'error'; error: AppError };

/** A CSV file the worker produced, for the screen to save. */
export interface CsvFile {
  filename: string;
  csv: string;
}

/** State and actions of the Earnings screen. */
export interface EarningsSlice {
  session: Loadable<SessionEarnings>;
  range: EarningsRange;
  earnings: Loadable<EarningsView>;
  receipts: Loadable<Page<ReceiptView>>;
  payouts: Loadable<Page<PayoutView>>;
  /** A further page of receipts or payouts is being fetched. */
  moreLoading: { receipts: boolean; payouts: boolean };
  csvExport: { busy: boolean; error: AppError | null };
  cashOut: CashOutState;
  loadSession(): Promise<void>;
  setRange(range: EarningsRange): Promise<void>;
  /** The range's figures, receipts and payouts. */
  loadEarnings(): Promise<void>;
  loadMore(list: 'receipts' | 'payouts'): Promise<void>;
  /** Asks the worker for the range's CSV; null when it refused (the error is in `csvExport`). */
  exportCsv(): Promise<CsvFile | null>;
  askCashOut(): void;
  cancelCashOut(): void;
  /** Sends the claim; the wallet on this PC may need its passphrase. */
  confirmCashOut(passphrase?: string): Promise<void>;
}

/** How often the screen looks for the payout after a claim, and when it says it is taking long. */
export const PAYOUT_POLL_MS = 1500;
export const PAYOUT_LATE_MS = 120_000;

/** A further page appended to the list shown (a failure keeps what is shown). */
function appendPage<T>(shown: Loadable<Page<T>>, result: Result<Page<T>>): Loadable<Page<T>> {
  if (!result.ok || !shown.value) return fromResult(result, shown);
  return ready({ items: [...shown.value.items, ...result.value.items], next: result.value.next });
}

/** The earnings slice. */
export const createEarningsSlice: SliceCreator<EarningsSlice> = (set, get, api) => {
  // Polls the ledger until the claimed amount shows as paid (the chain watcher matches it).
  const waitForPayout = async (paidBefore: bigint, nanotons: string) => {
    const startedAt = Date.now();
    const expected = paidBefore + BigInt(nanotons);
    while (get().cashOut.phase === 'waiting') {
      await new Promise((resolve) => setTimeout(resolve, PAYOUT_POLL_MS));
      await get().loadEarnings();
      const state = get().cashOut;
      if (state.phase !== 'waiting') return;
      const paid = get().earnings.value?.paidNanotons;
      if (paid !== undefined && BigInt(paid) >= expected) {
        const payout = get().payouts.value?.items.find((item) => item.status === 'matched') ?? null;
        set({ cashOut: { phase: 'paid', nanotons, payout } });
        return;
      }
      if (!state.late && Date.now() - startedAt > PAYOUT_LATE_MS) set({ cashOut: { ...state, late: true } });
    }
  };

  return {
    session: idle(),
    range: 'today',
    earnings: idle(),
    receipts: idle(),
    payouts: idle(),
    moreLoading: { receipts: false, payouts: false },
    csvExport: { busy: false, error: null },
    cashOut: { phase: 'idle' },
    loadSession: async () => {
      set((s) => ({ session: loading(s.session) }));
      const result = await api.getSessionEarnings();
      set((s) => ({ session: fromResult(result, s.session) }));
    },
    setRange: async (range) => {
      set({ range });
      set((s) => ({ earnings: loading(s.earnings) }));
      const result = await api.getEarnings({ range });
      // A quicker answer for a later click must not be overwritten by this one.
      if (get().range === range) set((s) => ({ earnings: fromResult(result, s.earnings) }));
    },
    loadEarnings: async () => {
      set((s) => ({ earnings: loading(s.earnings), receipts: loading(s.receipts), payouts: loading(s.payouts) }));
      const range = get().range;
      const [earnings, receipts, payouts] = await Promise.all([
        api.getEarnings({ range }),
        api.listReceipts({ limit: 20 }),
        api.listPayouts({ limit: 20 }),
      ]);
      set((s) => ({
        ...(s.range === range ? { earnings: fromResult(earnings, s.earnings) } : {}),
        receipts: fromResult(receipts, s.receipts),
        payouts: fromResult(payouts, s.payouts),
      }));
    },
    loadMore: async (list) => {
      const next = get()[list].value?.next;
      if (!next || get().moreLoading[list]) return;
      set((s) => ({ moreLoading: { ...s.moreLoading, [list]: true } }));
      if (list === 'receipts') {
        const result = await api.listReceipts({ cursor: next, limit: 20 });
        set((s) => ({ receipts: appendPage(s.receipts, result), moreLoading: { ...s.moreLoading, receipts: false } }));
      } else {
        const result = await api.listPayouts({ cursor: next, limit: 20 });
        set((s) => ({ payouts: appendPage(s.payouts, result), moreLoading: { ...s.moreLoading, payouts: false } }));
      }
    },
    exportCsv: async () => {
      set({ csvExport: { busy: true, error: null } });
      const result = await api.exportEarningsCsv({ range: get().range });
      set({ csvExport: { busy: false, error: result.ok ? null : result.error } });
      return result.ok ? result.value : null;
    },
    askCashOut: () => {
      const claimable = get().earnings.value?.claimableNanotons;
      if (claimable !== undefined && claimable !== '0') set({ cashOut: { phase: 'confirming', nanotons: claimable, error: null } });
    },
    cancelCashOut: () => {
      // Leaving `waiting` also stops the polling; the payout still shows once it lands.
      set({ cashOut: { phase: 'idle' } });
    },
    confirmCashOut: async (passphrase) => {
      const state = get().cashOut;
      if (state.phase !== 'confirming') return;
      const paidBefore = BigInt(get().earnings.value?.paidNanotons ?? '0');
      set({ cashOut: { phase: 'sending', nanotons: state.nanotons } });
      const result = await api.cashOut(passphrase ? { passphrase } : {});
      if (!result.ok) {
        // A wrong or missing passphrase is asked again in place; anything else ends the attempt.
        const again = result.error.code === 'wrong-passphrase' || result.error.code === 'passphrase-required';
        set({ cashOut: again ? { phase: 'confirming', nanotons: state.nanotons, error: result.error } : { phase: 'error', error: result.error } });
        return;
      }
      if (result.value.status === 'nothing-to-claim') {
        set({ cashOut: { phase: 'nothing' } });
        void get().loadEarnings();
        return;
      }
      set({ cashOut: { phase: 'waiting', nanotons: result.value.nanotons, seq: result.value.seq ?? null, late: false } });
      await waitForPayout(paidBefore, result.value.nanotons);
    },
  };
};
