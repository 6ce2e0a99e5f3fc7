/**
 * The earnings verbs over the worker's books (main/ledger + main/earnings): the range by day
 * (today by hour) and model with the live rate, balances and the month forecast; per-job
 * receipts and on-chain payouts, newest first, paged; the jobs CSV of a range; and Cash out,
 * signed by the payout wallet. Every amount leaves as a decimal string of nanotons. Without
 * books every verb answers `unavailable`, saying why — never a made-up number.
 */
import type { Sender } from '@ton/core';
import type { Books } from '../worker/earnings-binding.js';
import type { CashOutErrorCode, CashOutOutlook, ElectricitySettings, MonthForecast, PeriodSummary } from '../earnings/earnings-service.js';
import type { JobRecord, PayoutRecord } from '../ledger/ledger.js';
import type { AnomalyGroup } from '../ledger/anomalies.js';
import type { VaultRefusalCode } from '../ledger/vouchers.js';
import { explainCashOutBlocked, explainVaultOutlook } from './refusal-words.js';
import { linesInRange } from './csv-range.js';
import { NO_BOOKS } from './books-status.js';
import { newestFirstPage, UnknownCursorError } from './newest-first.js';
import { fail, ok, type ErrorCode, type Result } from '../ipc/result.js';
import type { VerbHandlers } from '../ipc/dispatch.js';
import type { EarningsRange, EarningsView, FlagView, ForecastView, Page, PayoutView, ReceiptView } from '../ipc/views.js';

export type { ElectricitySettings };

/** The earnings verbs. */
export type EarningsVerbs = Pick<VerbHandlers, 'getEarnings' | 'listReceipts' | 'listPayouts' | 'exportEarningsCsv' | 'cashOut'>;

/** Options of createEarningsVerbs. */
export interface EarningsVerbsOptions {
  /** The explorer link of a payout transaction (see explorerLinks); none by default (a local chain has no explorer). */
  explorerUrl?: (txHash: string) => string | undefined;
  /**
   * The electricity price (nanotons per kWh) and GPU watts used when the caller passes none
   * (the app passes the owner's from Settings); without either the forecast is gross and says so.
   */
  electricity?: ElectricitySettings | (() => ElectricitySettings | undefined);
  /** Why there are no books (see explainNoBooks); a message naming both possible reasons by default. */
  whyUnavailable?: () => string | Promise<string>;
  /** The payout wallet that signs a claim (see cash-out-wallet.ts); without it Cash out uses the books' own wallet, if any. */
  cashOutWallet?: (passphrase: string | undefined) => Promise<Result<Sender>>;
  /** Start of the owner's day containing `now` (today's chart by hour); local midnight by default. */
  startOfDay?: (now: number) => number;
  now?: () => number;
}

/** Local midnight of the day containing `now`. */
function localMidnight(now: number): number {
  const date = new Date(now);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

const NO_ELECTRICITY: ElectricitySettings = { nanotonsPerKwh: 0n, watts: 0, wattsSource: 'estimated' };

/** Cash out refusals, in the owner's words, with the contract's error code. */
const CASH_OUT_REFUSALS: Record<Exclude<CashOutErrorCode, 'nothing_to_claim'>, { code: ErrorCode; message: (detail: string, seq: number | undefined) => string }> = {
  not_configured: {
    code: 'unsupported',
    message: () => 'Cash out needs a connection to the TON chain, and this worker was started without one. The network still pays out by itself once your balance passes its threshold.',
  },
  in_progress: { code: 'unavailable', message: () => 'A claim is being sent right now; wait for it to finish.' },
  already_claimed: {
    code: 'unavailable',
    message: () => 'Your last claim was just sent; the payout appears under Payouts once the chain confirms it, usually within a minute. If it has not appeared after two minutes, you can Cash out again.',
  },
  wrong_wallet: {
    code: 'invalid-address',
    message: () => 'The wallet that would sign the claim is not the payout address your earnings are owed to, so the vault would refuse it. Connect the wallet of your payout address, or use the wallet on this PC.',
  },
  vault_short: {
    code: 'unavailable',
    message: (detail) =>
      `The network's vault cannot pay what you are owed right now: ${detail}. Nothing was sent and no fee was spent. What you earned stays owed to you; the network's operator has to add funds to the vault. Try again later.`,
  },
  vault_closed: {
    code: 'unavailable',
    message: () => "The network has closed its vault, so it pays no claims. Nothing was sent and no fee was spent. Ask the network's operator how your earnings will be paid.",
  },
  send_failed: { code: 'unavailable', message: (detail) => `The claim could not be sent to the chain (${detail}). Nothing was claimed; try again in a moment.` },
};

/** The earnings verbs over the worker's books; `getBooks` is asked on every call (the books open lazily, per payout address). */
export function createEarningsVerbs(getBooks: () => Books | undefined, options: EarningsVerbsOptions = {}): EarningsVerbs {
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
  const page = <T, V>(items: Iterable<T>, request: { cursor?: string | undefined; limit: number }, key: (item: T) => string, view: (item: T) => V): Result<Page<V>> => {
    try {
      return ok(newestFirstPage(items, { key, view, cursor: request.cursor, limit: request.limit }));
    } catch (error) {
      if (error instanceof UnknownCursorError) return fail('bad-arguments', 'That page no longer exists: reload the list.');
      throw error;
    }
  };

  const now = options.now ?? Date.now;
  const hoursOfToday = (books: Books): EarningsView['byHour'] => {
    const at = now();
    const midnight = (options.startOfDay ?? localMidnight)(at);
    const hours = Array.from({ length: Math.min(24, Math.floor((at - midnight) / 3_600_000) + 1) }, (_, hour) => ({ hour, nanotons: 0n, jobs: 0 }));
    for (const job of books.ledger.totals.earningsSince(midnight)) {
      const slot = hours[Math.min(hours.length - 1, Math.floor((job.finishedAt - midnight) / 3_600_000))];
      if (slot) {
        slot.nanotons += job.earnedNanotons;
        slot.jobs += 1;
      }
    }
    return hours.map((slot) => ({ hour: slot.hour, nanotons: slot.nanotons.toString(), jobs: slot.jobs }));
  };

  return {
    getEarnings: ({ range }) =>
      withBooks((books) => {
        const all = books.earnings.summary();
        const power = electricity();
        const view = summaryView(range, pick(all, range), all, forecastView(books.earnings.forecast(power ?? NO_ELECTRICITY), power));
        return ok({ ...view, ...(range === 'today' ? { byHour: hoursOfToday(books) } : {}), ...underpaidView(books.ledger.underpayments()), ...flagsView(books.ledger.anomalyGroups()), ...blockedView(books.ledger.vaultRefusal(), books.earnings.cashOutOutlook()) });
      }),
    listReceipts: (request) => withBooks((books) => page(books.ledger.iterateJobs(), request, (job) => job.jobId, receiptView)),
    listPayouts: (request) => withBooks((books) => page(books.ledger.listPayouts(), request, (payout) => payout.txHash, (payout) => payoutView(payout, explorerUrl))),
    exportEarningsCsv: ({ range }) =>
      withBooks((books) => {
        const { from, to } = pick(books.earnings.summary(), range);
        const csv = [...linesInRange(books.earnings.csv('jobs'), 'day', from, to)].join('');
        return ok({ filename: from === to ? `silkworm-jobs-${to}.csv` : `silkworm-jobs-${from}-to-${to}.csv`, csv });
      }),
    cashOut: (args) =>
      withBooks(async (books) => {
        // The payout wallet signs the claim; ask for it only when there is something to claim.
        if (books.ledger.balances().claimableNanotons === 0n) return ok({ nanotons: '0', txHash: null, status: 'nothing-to-claim' as const, seq: null });
        let sender: Sender | undefined;
        if (options.cashOutWallet) {
          const wallet = await options.cashOutWallet(args?.passphrase);
          if (!wallet.ok) return wallet;
          sender = wallet.value;
        }
        const sent = await books.earnings.cashOut(sender);
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

function summaryView(range: EarningsRange, period: PeriodSummary, all: ReturnType<Books['earnings']['summary']>, forecast: ForecastView): EarningsView {
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
function underpaidView(underpaid: { jobs: number; nanotons: bigint }): Pick<EarningsView, 'underpaidJobs' | 'underpaidNanotons'> {
  return underpaid.jobs > 0 ? { underpaidJobs: underpaid.jobs, underpaidNanotons: underpaid.nanotons.toString() } : {};
}

/** A count of things, in words: "1 payment", "3 payments". */
const counted = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * The owner's words for each kind of flag; a flag with a code not named here reads as its kind's
 * `*`. Underpaid receipts are not here: the view gives them as an amount (underpaidView).
 */
const FLAG_WORDS: Record<string, (n: number) => string> = {
  'voucher/vault_key_mismatch': (n) => `${counted(n, 'promise', 'promises')} to pay ${n === 1 ? 'was' : 'were'} signed with a key the network’s payout vault does not hold, so the vault would refuse ${n === 1 ? 'it' : 'them'}: set aside, not counted as ready to cash out.`,
  'voucher/vault_chain_mismatch': (n) => `${counted(n, 'promise', 'promises')} to pay ${n === 1 ? 'was' : 'were'} made for another TON chain than the network’s payout vault pays on: set aside, not counted as ready to cash out.`,
  'voucher/delta_mismatch': (n) => `${counted(n, 'promise', 'promises')} to pay added a different amount than the jobs ${n === 1 ? 'it' : 'they'} covered earned here.`,
  'voucher/*': (n) => `${counted(n, 'promise', 'promises')} to pay from the network did not check out (not signed by the network, for another address, or going backwards) and ${n === 1 ? 'was' : 'were'} set aside: not counted as ready to cash out.`,
  'job/receipt_unusable': (n) => `${counted(n, 'job’s receipt', 'jobs’ receipts')} from the network could not be recorded (amounts no account can hold) and ${n === 1 ? 'was' : 'were'} set aside.`,
  'job/job_conflict': (n) => `${counted(n, 'job was', 'jobs were')} reported again with different figures; the first report was kept.`,
  'job/*': (n) => `${counted(n, 'job', 'jobs')} had a receipt that did not check out and was set aside.`,
  'payout/unknown_sender': (n) => `${counted(n, 'payment', 'payments')} came from an account that is not the network’s payout account: not counted as paid.`,
  'payout/amount_off': (n) => `${counted(n, 'payment', 'payments')} did not match what the network owed: not counted as paid.`,
  'payout/duplicate': (n) => `${counted(n, 'payment', 'payments')} repeated an amount already paid: not counted as paid again.`,
  'payout/malformed': (n) => `${counted(n, 'payment message', 'payment messages')} could not be read: not counted as paid.`,
  'payout/*': (n) => `${counted(n, 'payment', 'payments')} did not match a promise to pay: not counted as paid.`,
};

/** The books' flags in the owner's words, newest kind first, when there are any (underpaid receipts aside). */
function flagsView(groups: readonly AnomalyGroup[]): Pick<EarningsView, 'flags'> {
  const flags: FlagView[] = groups
    .filter((group) => !(group.kind === 'job' && (group.code === 'underpaid' || group.code === 'receipt_math')))
    .map((group) => {
      const say = FLAG_WORDS[`${group.kind}/${group.code}`] ?? FLAG_WORDS[`${group.kind}/*`];
      return { kind: group.kind, code: group.code, count: group.count, lastAt: group.lastAt, summary: say?.(group.count) ?? `${group.count} set aside.` };
    });
  return flags.length > 0 ? { flags } : {};
}

/** What stops Cash out: a vault that refuses every voucher of this network, else one that cannot pay what is ready now (as last read). */
function blockedView(code: VaultRefusalCode | undefined, outlook: CashOutOutlook | undefined): Pick<EarningsView, 'cashOutBlocked'> {
  if (code) return { cashOutBlocked: { code, summary: explainCashOutBlocked(code).sentence } };
  return outlook ? { cashOutBlocked: { code: outlook.code, summary: explainVaultOutlook(outlook) } } : {};
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
  amount_off: 'carries an amount its own figures do not account for',
};

function payoutView(payout: PayoutRecord, explorerUrl: (txHash: string) => string | null): PayoutView {
  return {
    txHash: payout.txHash,
    at: payout.utime * 1000,
    // The books count what a payout added to the paid total (`due`), never the message value:
    // that is `due` less the deposit the payout account keeps, plus a claim's unused fee.
    nanotons: (payout.status === 'applied' ? payout.dueNanotons ?? payout.amountNanotons : payout.amountNanotons).toString(),
    arrivedNanotons: payout.amountNanotons.toString(),
    depositNanotons: (payout.status === 'applied' ? payout.depositNanotons ?? 0n : 0n).toString(),
    explorerUrl: explorerUrl(payout.txHash),
    status: payout.status === 'applied' ? 'matched' : 'flagged',
    seq: Number(payout.seq),
    flag: payout.flagCode ? FLAGS[payout.flagCode] : null,
  };
}
