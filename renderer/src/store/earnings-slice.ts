/** Earnings: this session's counters (always there) and the ledger's history (when connected). */
import type { EarningsRange, EarningsSummary, Page, PayoutView, ReceiptView, SessionEarnings } from '../../../main/ipc/contract.js';
import type { SliceCreator } from './app-store.js';
import { fromResult, idle, loading, type Loadable } from './loadable.js';

/** State and actions of the Earnings screen. */
export interface EarningsSlice {
  session: Loadable<SessionEarnings>;
  range: EarningsRange;
  summary: Loadable<EarningsSummary>;
  receipts: Loadable<Page<ReceiptView>>;
  payouts: Loadable<Page<PayoutView>>;
  loadSession(): Promise<void>;
  setRange(range: EarningsRange): Promise<void>;
  loadHistory(): Promise<void>;
}

/** The earnings slice. */
export const createEarningsSlice: SliceCreator<EarningsSlice> = (set, get, api) => ({
  session: idle(),
  range: 'today',
  summary: idle(),
  receipts: idle(),
  payouts: idle(),
  loadSession: async () => {
    set((s) => ({ session: loading(s.session) }));
    const result = await api.getSessionEarnings();
    set((s) => ({ session: fromResult(result, s.session) }));
  },
  setRange: async (range) => {
    set({ range });
    set((s) => ({ summary: loading(s.summary) }));
    const result = await api.getEarningsSummary({ range });
    set((s) => ({ summary: fromResult(result, s.summary) }));
  },
  loadHistory: async () => {
    set((s) => ({ summary: loading(s.summary), receipts: loading(s.receipts), payouts: loading(s.payouts) }));
    const [summary, receipts, payouts] = await Promise.all([
      api.getEarningsSummary({ range: get().range }),
      api.listReceipts({ limit: 20 }),
      api.listPayouts({ limit: 20 }),
    ]);
    set((s) => ({ summary: fromResult(summary, s.summary), receipts: fromResult(receipts, s.receipts), payouts: fromResult(payouts, s.payouts) }));
  },
});
