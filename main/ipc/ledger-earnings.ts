/**
 * The EarningsProvider over the worker's real books (main/ledger + main/earnings): summary by
 * day and model with the live rate, balances and the month forecast; per-job receipts and
 * on-chain payouts, newest first, paged; the jobs CSV of a range; and Cash out. Every amount
 * leaves as a decimal string of nanotons. Without books every verb answers `unavailable`,
 * saying why — never a made-up number.
 */
import type { Books } from '../worker/earnings-binding.js';
import type { CashOutErrorCode, ElectricitySettings, MonthForecast, PeriodSummary } from '../earnings/earnings-service.js';
import type { JobRecord, PayoutRecord } from '../ledger/ledger.js';
import { linesInRange } from './csv-range.js';
import type { EarningsProvider, PageRequest } from './earnings-provider.js';
import { NO_BOOKS } from './books-status.js';
import { newestFirstPage, UnknownCursorError } from './newest-first.js';
import { fail, ok, type ErrorCode, type Result } from './result.js';
import type { EarningsRange, EarningsSummary, ForecastView, Page, PayoutView, ReceiptView } from './views.js';

export type { ElectricitySettings };

/** Options of ledgerEarnings. */
export interface LedgerEarningsOptions {
  /** The explorer link of a payout transaction (see explorerLinks); none by default (a local chain has no explorer). */
  explorerUrl?: (txHash: string) => string | undefined;
  /**
   * The electricity price (nanotons per kWh) and GPU watts used when the caller passes none
   * (the app passes the owner's from Settings); without either the forecast is gross and says so.
   */
  electricity?: ElectricitySettings | (() => ElectricitySettings | undefined);
  /** Why there are no books (see explainNoBooks); a message naming both possible reasons by default. */
  whyUnavailable?: () => string | Promise<string>;
}

const NO_ELECTRICITY: ElectricitySettings = { nanotonsPerKwh: 0n, watts: 0, wattsSource: 'estimated' };

/** Cash out refusals, in the owner's words, with the contract's error code. */
const CASH_OUT_REFUSALS: Record<Exclude<CashOutErrorCode, 'nothing_to_claim'>, { code: ErrorCode; message: (detail: string, seq: number | undefined) => string }> = {
  not_configured: {
    code: 'unsupported',
    message: () => 'Cash out needs the payout wallet’s key on this machine and a chain endpoint, and this worker was started without them. The coordinator still pays out by itself once your balance passes its threshold.',
  },
  in_progress: { code: 'unavailable', message: () => 'A claim is being sent right now; wait for it to finish.' },
  already_claimed: {
    code: 'unavailable',
    message: (_detail, seq) => `The claim with voucher ${seq ?? 'the latest voucher'} was already sent; the payout appears under Payouts once the chain confirms it. A new claim becomes possible after your next job.`,
  },
  wrong_wallet: {
    code: 'invalid-address',
    message: () => 'The wallet set up for Cash out is not the payout address your vouchers name, so the vault would refuse the claim. Start the worker with the wallet of your payout address.',
  },
  send_failed: { code: 'unavailable', message: (detail) => `The claim could not be sent to the chain (${detail}). Nothing was claimed; try again in a moment.` },
};

/** The earnings provider over the worker's books; `getBooks` is asked on every call (the books open lazily). */
export function ledgerEarnings(getBooks: () => Books | undefined, options: LedgerEarningsOptions = {}): EarningsProvider {
  const unavailable = async <T>(): Promise<Result<T>> => fail('unavailable', (await options.whyUnavailable?.()) ?? NO_BOOKS);
  const withBooks = async <T>(run: (books: Books) => Result<T> | Promise<Result<T>>): Promise<Result<T>> => {
    const books = getBooks();
    return books ? run(books) : unavailable();
  };
  const electricity = () => (typeof options.electricity === 'function' ? options.electricity() : options.electricity);
  const explorerUrl = (txHash: string) => {
    const url = options.explorerUrl?.(txHash);
    return url !== undefined && url.startsWith('https://') ? url : null;
  };
  const page = <T, V>(items: Iterable<T>, request: PageRequest, key: (item: T) => string, view: (item: T) => V): Result<Page<V>> => {
    try {
      return ok(newestFirstPage(items, { key, view, cursor: request.cursor, limit: request.limit }));
    } catch (error) {
      if (error instanceof UnknownCursorError) return fail('bad-arguments', 'That page no longer exists: reload the list.');
      throw error;
    }
  };

  return {
    summary: (range, owners) =>
      withBooks((books) => {
        const all = books.earnings.summary();
        const power = owners ?? electricity();
        return ok({ ...summaryView(range, pick(all, range), all, forecastView(books.earnings.forecast(power ?? NO_ELECTRICITY), power)), ...underpaidView(books.ledger.underpayments()) });
      }),
    receipts: (request) => withBooks((books) => page(books.ledger.iterateJobs(), request, (job) => job.jobId, receiptView)),
    payouts: (request) => withBooks((books) => page(books.ledger.listPayouts(), request, (payout) => payout.txHash, (payout) => payoutView(payout, explorerUrl))),
    exportCsv: (range) =>
      withBooks((books) => {
        const { from, to } = pick(books.earnings.summary(), range);
        const csv = [...linesInRange(books.earnings.csv('jobs'), 'day', from, to)].join('');
        return ok({ filename: from === to ? `silkworm-jobs-${to}.csv` : `silkworm-jobs-${from}-to-${to}.csv`, csv });
      }),
    cashOut: () =>
      withBooks(async (books) => {
        const sent = await books.earnings.cashOut();
        if (sent.ok) return ok({ nanotons: sent.value.expectedNanotons.toString(), txHash: null, status: 'sent' as const, seq: sent.value.seq });
        if (sent.error.code === 'nothing_to_claim') return ok({ nanotons: '0', txHash: null, status: 'nothing-to-claim' as const, seq: null });
        const refusal = CASH_OUT_REFUSALS[sent.error.code];
        return fail(refusal.code, refusal.message(sent.error.message, books.ledger.latestVoucher()?.seq));
      }),
  };
}

function pick(all: ReturnType<Books['earnings']['summary']>, range: EarningsRange): PeriodSummary {
  return range === 'today' ? all.today : range === '7d' ? all.last7Days : all.last30Days;
}

function summaryView(range: EarningsRange, period: PeriodSummary, all: ReturnType<Books['earnings']['summary']>, forecast: ForecastView): EarningsSummary {
  const { balances } = all;
  return {
    range,
    from: period.from,
    to: period.to,
    totalNanotons: period.totals.earnedNanotons.toString(),
    jobs: period.totals.jobs,
    promptTokens: period.totals.promptTokens,
    completionTokens: period.totals.completionTokens,
    pendingNanotons: balances.pendingNanotons.toString(),
    claimableNanotons: balances.claimableNanotons.toString(),
    paidNanotons: balances.paidNanotons.toString(),
    flaggedNanotons: balances.flaggedNanotons.toString(),
    byDay: period.byDay.map((d) => ({ day: d.day, nanotons: d.earnedNanotons.toString(), jobs: d.jobs, tokens: d.completionTokens })),
    byModel: period.byModel.map((m) => ({ model: m.model, nanotons: m.earnedNanotons.toString(), jobs: m.jobs, tokens: m.completionTokens })),
    live: { nanotonsPerHour: all.liveNanotonsPerHour.toString(), jobsLastHour: all.jobsLastHour },
    forecast,
  };
}

/** Receipts that paid less than this PC counted (receipt-check.ts), when there are any. */
function underpaidView(underpaid: { jobs: number; nanotons: bigint }): Pick<EarningsSummary, 'underpaidJobs' | 'underpaidNanotons'> {
  return underpaid.jobs > 0 ? { underpaidJobs: underpaid.jobs, underpaidNanotons: underpaid.nanotons.toString() } : {};
}

function forecastView(forecast: MonthForecast, power: ElectricitySettings | undefined): ForecastView {
  return {
    month: forecast.month,
    daysInMonth: forecast.daysInMonth,
    dayOfMonth: forecast.dayOfMonth,
    earnedSoFarNanotons: forecast.earnedSoFarNanotons.toString(),
    dailyAverageNanotons: forecast.dailyAverageNanotons.toString(),
    basisDays: forecast.basisDays,
    projectedGrossNanotons: forecast.projectedGrossNanotons.toString(),
    projectedBusyMs: forecast.projectedBusyMs,
    electricity: power
      ? { nanotonsPerKwh: power.nanotonsPerKwh.toString(), watts: power.watts, wattsSource: power.wattsSource, costNanotons: forecast.electricityNanotons.toString() }
      : null,
    projectedNetNanotons: forecast.projectedNetNanotons.toString(),
  };
}

function receiptView(job: JobRecord): ReceiptView {
  return {
    jobId: job.jobId,
    model: job.model,
    finishedAt: job.finishedAt,
    promptTokens: job.promptTokens,
    completionTokens: job.completionTokens,
    nanotons: job.earnedNanotons.toString(),
    voucherSeq: job.voucherSeq,
    paidTx: job.paidTx,
    status: job.paidTx ? 'paid' : job.voucherSeq !== null ? 'claimable' : 'pending',
  };
}

const FLAGS: Record<NonNullable<PayoutRecord['flagCode']>, string> = {
  unknown_sender: 'not sent by this worker\'s payout account',
  duplicate: 'overlaps what was already paid',
  unknown_voucher: 'names no voucher this worker accepted',
  amount_off: 'carries less than its own figures say',
};

function payoutView(payout: PayoutRecord, explorerUrl: (txHash: string) => string | null): PayoutView {
  return {
    txHash: payout.txHash,
    at: payout.utime * 1000,
    nanotons: payout.amountNanotons.toString(),
    explorerUrl: explorerUrl(payout.txHash),
    status: payout.status === 'applied' ? 'matched' : 'flagged',
    seq: Number(payout.seq),
    flag: payout.flagCode ? FLAGS[payout.flagCode] : null,
  };
}
