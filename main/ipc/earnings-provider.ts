/**
 * The seam where the earnings ledger plugs into the UI. The ledger service (main/ledger,
 * main/earnings) implements EarningsProvider; until it is wired in, every verb answers
 * `unavailable` and the UI shows what it has (this session's counters) and empty states.
 */
import { fail, type Result } from './result.js';
import type { ElectricitySettings } from '../earnings/forecast.js';
import type { CashOutView, EarningsRange, EarningsSummary, Page, PayoutView, ReceiptView } from './views.js';

/** Paging arguments of the list verbs. */
export interface PageRequest {
  cursor?: string | undefined;
  limit: number;
}

/** What the ledger offers the Earnings and Wallet screens. */
export interface EarningsProvider {
  /** `electricity`: the owner's, for the forecast (the provider's own default when left out). */
  summary(range: EarningsRange, electricity?: ElectricitySettings): Promise<Result<EarningsSummary>>;
  receipts(page: PageRequest): Promise<Result<Page<ReceiptView>>>;
  payouts(page: PageRequest): Promise<Result<Page<PayoutView>>>;
  exportCsv(range: EarningsRange): Promise<Result<{ filename: string; csv: string }>>;
  cashOut(): Promise<Result<CashOutView>>;
}

const NOT_YET = 'The earnings ledger is not connected in this build yet: only this session’s jobs and tokens are shown.';

/** The provider used until the ledger is wired in: every call is `unavailable`, nothing is invented. */
export const unavailableEarnings: EarningsProvider = {
  summary: async () => fail('unavailable', NOT_YET),
  receipts: async () => fail('unavailable', NOT_YET),
  payouts: async () => fail('unavailable', NOT_YET),
  exportCsv: async () => fail('unavailable', NOT_YET),
  cashOut: async () => fail('unavailable', NOT_YET),
};
