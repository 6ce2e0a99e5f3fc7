/**
 * What the Earnings screen shows, computed from the ledger: today / 7 days / 30 days by day and
 * by model, tokens served, the live TON/hour, pending vs claimable vs paid, the month forecast
 * net of electricity, CSV exports, and the "Cash out now" action (a claim sent to the vault from
 * the owner's wallet with the latest voucher; the chain watcher then sees the payout).
 */
import { Address, type Contract, type OpenedContract, type Sender } from '@ton/core';
import type { Result } from '../../network/protocol/errors.js';
import { formatTon } from '../../network/protocol/pricing.js';
// Layer note: the Vault wrapper lives in network/contracts, which the lint rule does not list
// for main/; Cash out needs it (reported to the layer owner).
import { CLAIM_VALUE, Vault } from '../../network/contracts/vault.js';
import { PayoutAccount } from '../../network/contracts/payout-account.js';
import { addDays, localDay, type DayOf } from '../ledger/days.js';
import type { Ledger, LedgerBalances } from '../ledger/ledger.js';
import type { DayTotals, JobTotals, ModelTotals } from '../ledger/totals.js';
import { createLogger, type Logger } from '../../network/node-kit/log.js';
import { csvLines, writeCsv, type CsvKind } from './csv.js';
import { monthForecast, type ElectricitySettings, type MonthForecast } from './forecast.js';

export type { ElectricitySettings, MonthForecast, CsvKind };

/**
 * How long after a claim another for the same voucher is refused as already sent: a claim's
 * payout is on chain within seconds, so one not seen by then most likely did not pay.
 */
export const CLAIM_PENDING_MS = 2 * 60_000;
/** How long a reading of the vault's funds stands before a view has it read again. */
export const VAULT_FUNDS_STAND_MS = 60_000;

/** Why the vault would refuse a Cash out of what is ready now, as last read. */
export interface CashOutOutlook {
  code: 'vault_closed' | 'vault_short';
  /** What the vault can pay above the reserve it keeps. */
  spendableNanotons: bigint;
  /** What is ready to cash out. */
  dueNanotons: bigint;
}

/** Opens contracts on a chain client (TonClient's `open`). */
export interface ContractOpener {
  open<T extends Contract>(contract: T): OpenedContract<T>;
}

/** How Cash out reaches the chain: a client and the owner's wallet as a Sender (e.g. V5R1 through TonClient). */
export interface CashOutChain {
  client: ContractOpener;
  sender: Sender;
  /** Value attached to the claim (gas; the rest comes back); default CLAIM_VALUE. */
  claimValue?: bigint;
}

/** One period of the summary: totals, a zero-filled row per day, and totals per model. */
export interface PeriodSummary {
  from: string;
  to: string;
  totals: JobTotals;
  byDay: DayTotals[];
  byModel: ModelTotals[];
}

/** Everything the Earnings screen needs at once. */
export interface EarningsSummary {
  today: PeriodSummary;
  last7Days: PeriodSummary;
  last30Days: PeriodSummary;
  /** Nanotons earned in the last hour: the live TON/hour rate. */
  liveNanotonsPerHour: bigint;
  jobsLastHour: number;
  balances: LedgerBalances;
}

/** Why Cash out did nothing. */
export type CashOutErrorCode = 'not_configured' | 'nothing_to_claim' | 'wrong_wallet' | 'in_progress' | 'already_claimed' | 'vault_closed' | 'vault_short' | 'send_failed';

/** What a sent claim asks the vault to pay. */
export interface CashOutReceipt {
  seq: number;
  cumulativeNanotons: bigint;
  /** What the payout should carry: the voucher total minus what was already paid. */
  expectedNanotons: bigint;
  queryId: bigint;
}

/** Options of the earnings service. */
export interface EarningsServiceOptions {
  ledger: Ledger;
  /** Needed only for Cash out: a chain client and the owner's wallet (or a wallet passed per claim). */
  chain?: CashOutChain;
  /** The chain client, when the wallet comes with each claim (`cashOut(sender)`). */
  client?: ContractOpener;
  now?: () => number;
  dayOf?: DayOf;
  logger?: Logger;
}

const HOUR_MS = 3_600_000;

/** Read models and the Cash out action over one ledger. */
export class EarningsService {
  private readonly now: () => number;
  private readonly dayOf: DayOf;
  private readonly logger: Logger;
  private claiming = false;
  /** The last claim sent: its voucher and when (a claim for it again waits CLAIM_PENDING_MS). */
  private lastClaim = { seq: 0, at: 0 };
  /** The vault's funds as last read, and when a reading last started. */
  private vaultFunds: VaultFunds | undefined;
  private fundsAskedAt = Number.NEGATIVE_INFINITY;
  private fundsReading: Promise<void> | undefined;

  constructor(private readonly options: EarningsServiceOptions) {
    this.now = options.now ?? Date.now;
    this.dayOf = options.dayOf ?? localDay;
    this.logger = options.logger ?? createLogger('earnings');
  }

  /** Today, 7 and 30 days (by day and by model), live rate and balances. */
  summary(): EarningsSummary {
    const { totals } = this.options.ledger;
    const now = this.now();
    const today = this.dayOf(now);
    const days = totals.days(addDays(today, -29), today);
    const period = (length: number): PeriodSummary => {
      const from = addDays(today, 1 - length);
      const byDay = zeroFilled(from, length, days);
      return { from, to: today, totals: addUp(byDay), byDay, byModel: totals.models(from, today) };
    };
    const lastHour = totals.earnedSince(now - HOUR_MS);
    return {
      today: period(1),
      last7Days: period(7),
      last30Days: period(30),
      liveNanotonsPerHour: lastHour.earnedNanotons,
      jobsLastHour: lastHour.jobs,
      balances: this.options.ledger.balances(),
    };
  }

  /**
   * Why Cash out of what is ready now would be refused by the vault (it is closed, or it cannot
   * pay that much), as last read; undefined when it would pay, or while the chain has not said.
   * The vault is read again in the background when the last reading is older than
   * VAULT_FUNDS_STAND_MS, so asking never waits on the chain.
   */
  cashOutOutlook(): CashOutOutlook | undefined {
    if (this.now() - this.fundsAskedAt >= VAULT_FUNDS_STAND_MS) void this.readVaultFunds();
    const funds = this.vaultFunds;
    const due = this.options.ledger.balances().claimableNanotons;
    if (!funds || due <= 0n) return undefined;
    if (funds.closed) return { code: 'vault_closed', spendableNanotons: funds.spendable, dueNanotons: due };
    return funds.spendable < due ? { code: 'vault_short', spendableNanotons: funds.spendable, dueNanotons: due } : undefined;
  }

  /** Reads the vault's funds now (one reading at a time); a chain that does not answer leaves the last reading. */
  readVaultFunds(): Promise<void> {
    const client = this.options.chain?.client ?? this.options.client;
    if (!client) return Promise.resolve();
    this.fundsAskedAt = this.now();
    this.fundsReading ??= readVaultFunds(client.open(Vault.createFromAddress(Address.parse(this.options.ledger.identity.vault))))
      .then((funds) => {
        if (funds) this.vaultFunds = funds;
      })
      .finally(() => {
        this.fundsReading = undefined;
      });
    return this.fundsReading;
  }

  /** The month forecast net of electricity. */
  forecast(electricity: ElectricitySettings): MonthForecast {
    const { totals } = this.options.ledger;
    const today = this.dayOf(this.now());
    const from = addDays(today, -7) < `${today.slice(0, 8)}01` ? addDays(today, -7) : `${today.slice(0, 8)}01`;
    const firstDay = totals.firstDay();
    return monthForecast({ today, days: totals.days(from, today), firstDay, electricity });
  }

  /** The lines of a CSV export (lazy). */
  csv(kind: CsvKind): Generator<string> {
    return csvLines(this.options.ledger, kind);
  }

  /** Writes a CSV export to a file. */
  exportCsv(kind: CsvKind, path: string): Promise<void> {
    return writeCsv(this.options.ledger, kind, path);
  }

  /**
   * Claims from the vault with the latest voucher, from the owner's wallet (`sender`, else the
   * one the service was built with). What is due is read
   * from our payout account on chain when it answers (its paid total; whether it exists yet),
   * else from the ledger. Resolves once the claim is sent; the payout counts when the chain
   * watcher sees it and the ledger matches it.
   */
  async cashOut(sender?: Sender): Promise<Result<CashOutReceipt, { code: CashOutErrorCode; message: string }>> {
    const fail = (code: CashOutErrorCode, message: string) => ({ ok: false as const, error: { code, message } });
    const { ledger } = this.options;
    const client = this.options.chain?.client ?? this.options.client;
    const wallet = sender ?? this.options.chain?.sender;
    if (!client || !wallet) return fail('not_configured', 'no wallet is connected for Cash out');
    const chain: CashOutChain = { ...this.options.chain, client, sender: wallet };
    if (this.claiming) return fail('in_progress', 'a claim is being sent');
    this.claiming = true; // before the first await: a second call meanwhile is in_progress
    try {
      const voucher = ledger.latestVoucher();
      const account = voucher ? await this.readAccount(chain, voucher.worker) : undefined;
      const claimableNanotons = voucher && account ? voucher.cumulativeNanotons - account.paid : ledger.balances().claimableNanotons;
      if (!voucher || claimableNanotons <= 0n) return fail('nothing_to_claim', 'nothing is claimable yet');
      // A claim just sent for this voucher is on its way. One that did not pay (refused on chain,
      // or lost) leaves the payout account's paid total short, read above: after a while the
      // same voucher may be claimed again, and the vault never pays one voucher twice.
      if (voucher.seq <= this.lastClaim.seq && this.now() - this.lastClaim.at < CLAIM_PENDING_MS) return fail('already_claimed', `voucher ${voucher.seq} was claimed; waiting for the payout`);
      if (chain.sender.address && !chain.sender.address.equals(Address.parse(voucher.worker))) {
        return fail('wrong_wallet', 'the wallet is not the payout address the vouchers name');
      }
      const vault = chain.client.open(Vault.createFromAddress(Address.parse(ledger.identity.vault)));
      // A claim the vault would refuse (closed, or short of funds) comes back less its fee: not sent.
      const funds = await readVaultFunds(vault);
      if (funds) this.vaultFunds = funds;
      const cannotPay = funds && vaultCannotPay(funds, claimableNanotons);
      if (cannotPay) {
        this.logger.warn({ code: cannotPay.code, due: claimableNanotons.toString() }, `claim not sent: ${cannotPay.message}`);
        return fail(cannotPay.code, cannotPay.message);
      }
      const queryId = BigInt(this.now());
      try {
        // The vault sends exactly what is due along; the code only while the account does not exist.
        await vault.sendClaim(chain.sender, voucher, { value: chain.claimValue ?? CLAIM_VALUE, queryId, amountNanotons: claimableNanotons, deploy: !(account?.deployed ?? false) });
      } catch (error) {
        this.logger.warn({ err: error }, 'claim failed to send');
        return fail('send_failed', (error as Error).message);
      }
      this.lastClaim = { seq: voucher.seq, at: this.now() };
      this.logger.info({ seq: voucher.seq, nanotons: claimableNanotons.toString() }, 'claim sent');
      return { ok: true, value: { seq: voucher.seq, cumulativeNanotons: voucher.cumulativeNanotons, expectedNanotons: claimableNanotons, queryId } };
    } finally {
      this.claiming = false;
    }
  }

  private readAccount(chain: CashOutChain, worker: string): Promise<{ deployed: boolean; paid: bigint } | undefined> {
    const { identity } = this.options.ledger;
    return readPayoutAccount(chain, identity.vault, identity.payoutAccount, worker);
  }
}

/** What the vault holds for claims: whether it is closed, and its balance above the reserve it never pays out. */
interface VaultFunds {
  closed: boolean;
  spendable: bigint;
}

/** The vault's funds; undefined when the chain does not say (a claim is then sent, as before). */
async function readVaultFunds(vault: OpenedContract<Vault>): Promise<VaultFunds | undefined> {
  try {
    const [closed, balance, reserve] = await Promise.all([vault.getClosed(), vault.getBalance(), vault.getMinReserve()]);
    return { closed, spendable: balance > reserve ? balance - reserve : 0n };
  } catch {
    return undefined;
  }
}

/** Why the vault would refuse a claim of `due` (vault.tolk: ERR_CLOSED, ERR_INSUFFICIENT_FUNDS); undefined when it would pay. */
function vaultCannotPay(funds: VaultFunds, due: bigint): { code: 'vault_closed' | 'vault_short'; message: string } | undefined {
  if (funds.closed) return { code: 'vault_closed', message: 'the vault is closed' };
  if (funds.spendable < due) return { code: 'vault_short', message: `it can pay ${formatTon(funds.spendable)} TON now, and ${formatTon(due)} TON is due to you` };
  return undefined;
}

/** Best effort: our payout account's paid total, or undefined when the chain does not answer. */
async function readPayoutAccount(chain: CashOutChain, vaultAddress: string, payoutAccount: string | undefined, worker: string): Promise<{ deployed: boolean; paid: bigint } | undefined> {
  try {
    const address = payoutAccount
      ? Address.parse(payoutAccount)
      : await chain.client.open(Vault.createFromAddress(Address.parse(vaultAddress))).getAccountAddress(Address.parse(worker));
    const account = chain.client.open(PayoutAccount.createFromAddress(address));
    const deployed = await account.getDeployed();
    return { deployed, paid: deployed ? await account.getPaid() : 0n };
  } catch {
    return undefined;
  }
}

function zeroFilled(from: string, length: number, days: readonly DayTotals[]): DayTotals[] {
  const byKey = new Map(days.map((d) => [d.day, d]));
  return Array.from({ length }, (_, i) => {
    const day = addDays(from, i);
    return byKey.get(day) ?? { day, jobs: 0, promptTokens: 0, completionTokens: 0, earnedNanotons: 0n, busyMs: 0 };
  });
}

function addUp(days: readonly DayTotals[]): JobTotals {
  return days.reduce<JobTotals>(
    (t, d) => ({
      jobs: t.jobs + d.jobs,
      promptTokens: t.promptTokens + d.promptTokens,
      completionTokens: t.completionTokens + d.completionTokens,
      earnedNanotons: t.earnedNanotons + d.earnedNanotons,
      busyMs: t.busyMs + d.busyMs,
    }),
    { jobs: 0, promptTokens: 0, completionTokens: 0, earnedNanotons: 0n, busyMs: 0 },
  );
}
