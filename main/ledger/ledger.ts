/**
 * The worker ledger: the one writer of the worker's money database. Jobs (with usage) are
 * credited idempotently by job id, vouchers are verified before they are stored, payouts seen
 * on chain are matched to vouchers (idempotent by transaction hash) and the chain cursor moves
 * in the same transaction as the payouts it covers. Mismatches become flags, never balances.
 */
import { Address } from '@ton/core';
import type { Voucher } from '../../network/protocol/voucher.js';
import { createLogger, type Logger } from '../../network/node-kit/log.js';
import { flagAnomaly, groupAnomalies, listAnomalies, type Anomaly, type AnomalyGroup, type AnomalyKind } from './anomalies.js';
import { openLedgerDb, type LedgerDb } from './db.js';
import { localDay, type DayOf } from './days.js';
import { CreditQueue } from './credit-queue.js';
import { JobStore, type JobCredit, type JobRecord, type RecordJobStatus } from './jobs.js';
import { PayoutStore, type IncomingPayout, type PayoutRecord, type RecordPayoutResult } from './payouts.js';
import { TotalsQueries } from './totals.js';
import { VoucherStore, type LedgerIdentity, type RecordVoucherResult, type VaultRefusalCode, type VaultTerms } from './vouchers.js';

export type { Anomaly, IncomingPayout, JobCredit, JobRecord, LedgerIdentity, PayoutRecord, RecordJobStatus, RecordPayoutResult, RecordVoucherResult, VaultTerms };

/** Options of {@link Ledger.open}. */
export interface LedgerOptions {
  /** SQLite file (':memory:' in unit tests). */
  path: string;
  identity: LedgerIdentity;
  logger?: Logger;
  /** Which calendar day a job belongs to (default: the machine's local date). */
  dayOf?: DayOf;
  /** Clock for `received_at`/`recorded_at` columns (tests pin it). */
  now?: () => number;
}

/** Where the chain watcher stopped on an address: the newest transaction it has handled. */
export interface ChainCursor {
  lt: bigint;
  /** Transaction hash, hex. */
  hash: string;
}

/** Money states, in nanotons (docs/design.md, Money). */
export interface LedgerBalances {
  /** Everything ever credited for jobs. */
  earnedNanotons: bigint;
  /** Credited jobs no accepted voucher covers yet. */
  pendingNanotons: bigint;
  /** Total of the latest accepted voucher. */
  vouchedNanotons: bigint;
  /** Signed but not yet paid: what Cash out would claim now. */
  claimableNanotons: bigint;
  /**
   * Paid to our payout address so far: the payout account's paid total as the latest payout
   * reported it (shared by every PC paid at this address; what this ledger saw of it, if more).
   */
  paidNanotons: bigint;
  /** Received in payout-shaped messages that were flagged, not counted. */
  flaggedNanotons: bigint;
}

/** The worker ledger. Open one per database; it is the only writer. */
export class Ledger {
  /** Per-day and per-model totals (read-only). */
  readonly totals: TotalsQueries;
  private readonly jobs: JobStore;
  private readonly vouchers: VoucherStore;
  private payouts: PayoutStore;
  private readonly creditQueue: CreditQueue;
  private currentIdentity: LedgerIdentity;

  private constructor(
    private readonly db: LedgerDb,
    identity: LedgerIdentity,
    private readonly logger: Logger,
    private readonly now: () => number,
    dayOf: DayOf,
  ) {
    this.currentIdentity = identity;
    this.jobs = new JobStore(db, dayOf, now);
    this.vouchers = new VoucherStore(db, () => this.currentIdentity, now);
    this.payouts = new PayoutStore(db, identity.payoutAccount ?? identity.vault, now);
    this.totals = new TotalsQueries(db);
    this.creditQueue = new CreditQueue((batch) => {
      const statuses = this.jobs.recordJobs(batch);
      statuses.forEach((status, i) => status === 'conflict' && this.logger.warn({ jobId: batch[i]?.jobId }, 'job credited twice with different figures; kept the first'));
      return statuses;
    });
  }

  /** Who this ledger trusts and pays to. */
  get identity(): LedgerIdentity {
    return this.currentIdentity;
  }

  /**
   * Payouts come from `address` (our payout account of the vault), learned after the ledger
   * opened: the chain did not answer when it did. Payouts flagged as from an unknown sender that
   * came from it are judged again, oldest first, as if it had been known when they arrived.
   */
  setPayoutAccount(address: string): void {
    const account = Address.parse(address);
    const known = this.currentIdentity.payoutAccount;
    if (known !== undefined && Address.parse(known).equals(account)) return;
    this.currentIdentity = { ...this.currentIdentity, payoutAccount: address };
    this.payouts = new PayoutStore(this.db, address, this.now);
    this.rejudgePayouts();
  }

  private rejudgePayouts(): void {
    const results = this.payouts.rejudgeUnknownSenders();
    results.forEach((result) => this.logPayout(result));
    if (results.length > 0) this.logger.info({ payouts: results.length }, 'payouts from our payout account judged again');
  }

  /**
   * The voucher key and chain the vault on chain holds, read after the ledger opened (the chain
   * did not answer when it did). Vouchers for our vault signed otherwise, stored meanwhile, are
   * flagged and dropped; later ones are refused.
   */
  setVaultTerms(terms: VaultTerms): void {
    this.currentIdentity = { ...this.currentIdentity, vaultTerms: checkedVaultTerms(terms) };
    this.judgeAgainstVault();
  }

  /**
   * Why the vault on chain would refuse every voucher the coordinator signs (its key, else its
   * chain, differs from the vault's), when it would; undefined while the vault's terms are unknown.
   */
  vaultRefusal(): VaultRefusalCode | undefined {
    const { coordinatorPublicKey, chainGlobalId, vaultTerms } = this.currentIdentity;
    if (!vaultTerms) return undefined;
    if (coordinatorPublicKey.toLowerCase() !== vaultTerms.publicKey) return 'vault_key_mismatch';
    if (chainGlobalId !== undefined && chainGlobalId !== vaultTerms.globalId) return 'vault_chain_mismatch';
    return undefined;
  }

  // Tells the owner when the coordinator's welcome names other terms than its vault holds: then
  // none of its vouchers can ever be claimed.
  private judgeAgainstVault(): void {
    const { coordinatorPublicKey, chainGlobalId, vaultTerms } = this.currentIdentity;
    if (!vaultTerms) return;
    if (coordinatorPublicKey.toLowerCase() !== vaultTerms.publicKey) {
      this.logger.error({ welcomeKey: coordinatorPublicKey.toLowerCase(), vaultKey: vaultTerms.publicKey },
        'the coordinator signs vouchers with a key its vault on chain does not hold: the vault would refuse every claim, so its vouchers are flagged and not counted as claimable (ask its operator, or use another coordinator)');
    }
    if (chainGlobalId !== undefined && chainGlobalId !== vaultTerms.globalId) {
      this.logger.error({ welcomeChain: chainGlobalId, vaultChain: vaultTerms.globalId },
        'the coordinator issues vouchers for another chain than its vault on chain pays on: the vault would refuse every claim, so its vouchers are flagged and not counted as claimable');
    }
    const dropped = this.vouchers.rejudgeAgainstVault();
    if (dropped > 0) this.logger.warn({ vouchers: dropped }, 'vouchers the vault on chain would refuse flagged, no longer claimable');
  }

  /** Opens (creating and migrating) the ledger at `options.path`. */
  static open(options: LedgerOptions): Ledger {
    // Fail fast on a bad config rather than flag every voucher later.
    Address.parse(options.identity.vault);
    Address.parse(options.identity.payoutAddress);
    if (options.identity.payoutAccount !== undefined) Address.parse(options.identity.payoutAccount);
    if (!/^[0-9a-fA-F]{64}$/.test(options.identity.coordinatorPublicKey)) throw new RangeError('coordinatorPublicKey must be 32 bytes of hex');
    const { vaultTerms } = options.identity;
    const identity = vaultTerms ? { ...options.identity, vaultTerms: checkedVaultTerms(vaultTerms) } : options.identity;
    const db = openLedgerDb(options.path);
    const ledger = new Ledger(db, identity, options.logger ?? createLogger('ledger'), options.now ?? Date.now, options.dayOf ?? localDay);
    // Books kept while the payout account could not be looked up flagged its payouts: judged again.
    if (options.identity.payoutAccount !== undefined) ledger.rejudgePayouts();
    // Vouchers kept while the vault could not be asked (or from a key the coordinator had before).
    ledger.judgeAgainstVault();
    return ledger;
  }

  /** Credits one job (durable on return); the same job id again is a no-op, a different credit under it is flagged. */
  recordJob(job: JobCredit): RecordJobStatus {
    const status = this.jobs.recordJob(job);
    if (status === 'conflict') this.logger.warn({ jobId: job.jobId }, 'job credited twice with different figures; kept the first');
    return status;
  }

  /**
   * Credits a job with group commit: resolves once it is on disk, sharing the transaction (and
   * the fsync) with the credits that arrived in the same turn of the event loop. The worker's
   * credit path uses this; `recordJob` is the same without batching.
   */
  creditJob(job: JobCredit): Promise<RecordJobStatus> {
    return this.creditQueue.credit(job);
  }

  /** Credits many jobs in one transaction; returns each one's status. */
  recordJobs(jobs: readonly JobCredit[]): RecordJobStatus[] {
    return this.jobs.recordJobs(jobs);
  }

  /** One job with its payment state. */
  job(jobId: string): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  /** Every job, oldest first, read lazily. */
  iterateJobs(): Generator<JobRecord> {
    return this.jobs.iterate();
  }

  /** Verifies and stores a voucher, or refuses and flags it (see VoucherStore.record). */
  recordVoucher(input: unknown, options: { jobIds?: readonly string[] } = {}): RecordVoucherResult {
    const result = this.vouchers.record(input, options);
    if (result.status === 'refused' && result.code !== 'duplicate') this.logger.warn({ code: result.code }, 'voucher refused and flagged'); // no addresses in logs
    return result;
  }

  /** The latest accepted voucher (what Cash out claims with). */
  latestVoucher(): Voucher | null {
    return this.vouchers.latest();
  }

  /** Matches and records one payout; idempotent by transaction hash. */
  recordPayout(payout: IncomingPayout): RecordPayoutResult {
    const result = this.payouts.record(payout);
    this.logPayout(result);
    return result;
  }

  /**
   * Records the payouts found in a run of transactions and moves the cursor past them, in one
   * transaction: after a crash either both happened or neither did.
   */
  applyChainBatch(address: string, payouts: readonly IncomingPayout[], cursor: ChainCursor): RecordPayoutResult[] {
    const results = this.db.transaction(() => {
      const recorded = payouts.map((payout) => this.payouts.record(payout));
      this.db
        .prepare('INSERT INTO chain_cursor (address, lt, hash) VALUES (?, ?, ?) ON CONFLICT (address) DO UPDATE SET lt = excluded.lt, hash = excluded.hash')
        .run(rawAddress(address), cursor.lt, cursor.hash.toLowerCase());
      return recorded;
    }).immediate();
    results.forEach((result) => this.logPayout(result));
    return results;
  }

  /** Flags a payout-shaped message whose body could not be read (nothing is applied). */
  flagMalformedPayout(txHash: string, reason: string): void {
    if (flagAnomaly(this.db, { at: this.now(), kind: 'payout', code: 'malformed', ref: txHash.toLowerCase(), message: `unreadable payout message: ${reason}` })) {
      this.logger.warn({ txHash }, 'malformed payout message flagged');
    }
  }

  /** Where the chain watcher stopped on `address`, or null before its first run. */
  getCursor(address: string): ChainCursor | null {
    const row = this.db.prepare('SELECT lt, hash FROM chain_cursor WHERE address = ?').get(rawAddress(address)) as { lt: bigint; hash: string } | undefined;
    return row ? { lt: row.lt, hash: row.hash } : null;
  }

  /** Forgets the cursor of `address`: the watcher rescans from the beginning (payouts stay idempotent). */
  resetCursor(address: string): void {
    this.db.prepare('DELETE FROM chain_cursor WHERE address = ?').run(rawAddress(address));
  }

  /** Every payout seen, applied or flagged, oldest first. */
  listPayouts(): PayoutRecord[] {
    return this.payouts.list();
  }

  /**
   * Flags a receipt the worker's own check refused (receipt-check.ts); the credit itself stands
   * (vouchers pay what the coordinator signed). `shortfallNanotons` is what the owner is owed.
   */
  flagReceipt(jobId: string, code: string, message: string, shortfallNanotons: bigint): void {
    if (flagAnomaly(this.db, { at: this.now(), kind: 'job', code, ref: jobId, message, detail: { shortfallNanotons } })) {
      this.logger.warn({ jobId, code, shortfallNanotons: shortfallNanotons.toString() }, 'receipt flagged');
    }
  }

  /** Jobs whose receipts were flagged as paying less than this PC counted, and by how much in all. */
  underpayments(): { jobs: number; nanotons: bigint } {
    const row = this.db
      .prepare(`SELECT COUNT(*) AS jobs, SUM(CAST(json_extract(detail, '$.shortfallNanotons') AS INTEGER)) AS total FROM anomalies WHERE kind = 'job' AND code IN ('underpaid', 'receipt_math')`)
      .get() as { jobs: bigint; total: bigint | null };
    return { jobs: Number(row.jobs), nanotons: row.total ?? 0n };
  }

  /** Flags grouped by kind and code, the group flagged most recently first. */
  anomalyGroups(): AnomalyGroup[] {
    return groupAnomalies(this.db);
  }

  /** Flags, newest first. */
  anomalies(options: { limit?: number; kind?: AnomalyKind } = {}): Anomaly[] {
    return listAnomalies(this.db, options);
  }

  /** Earned, pending, vouched, claimable, paid and flagged amounts. */
  balances(): LedgerBalances {
    const earned = this.totals.total('0000-00-00', '9999-99-99').earnedNanotons;
    const pending = (this.db.prepare('SELECT SUM(earned_nanotons) AS p FROM jobs WHERE voucher_seq IS NULL').get() as { p: bigint | null }).p ?? 0n;
    const vouched = this.vouchers.latest()?.cumulativeNanotons ?? 0n;
    const paidUpTo = this.payouts.paidUpTo().cumulativeNanotons;
    const { paidNanotons: seen, flaggedNanotons } = this.payouts.totals();
    // Reconciled against totals: what the latest voucher says we earned minus what the payout
    // account says it paid (a payout we missed still moved that total).
    const paid = paidUpTo > seen ? paidUpTo : seen;
    const claimable = vouched > paid ? vouched - paid : 0n;
    return { earnedNanotons: earned, pendingNanotons: pending, vouchedNanotons: vouched, claimableNanotons: claimable, paidNanotons: paid, flaggedNanotons };
  }

  /** `PRAGMA integrity_check` ("ok" when the file is sound). */
  integrityCheck(): string {
    return String(this.db.pragma('integrity_check', { simple: true }));
  }

  /** Commits queued credits, then closes the database (checkpoints the WAL). */
  close(): void {
    this.creditQueue.flush();
    this.db.close();
  }

  private logPayout(result: RecordPayoutResult): void {
    if (result.status === 'applied') this.logger.info({ txHash: result.txHash, nanotons: result.amountNanotons.toString(), seq: result.seq, jobsPaid: result.jobsPaid }, 'payout applied');
    if (result.status === 'flagged') this.logger.warn({ txHash: result.txHash, code: result.code }, 'payout flagged, not applied');
  }
}

/** The vault's terms checked, its key in lower case (as vouchers are compared). */
function checkedVaultTerms(terms: VaultTerms): VaultTerms {
  if (!/^[0-9a-fA-F]{64}$/.test(terms.publicKey)) throw new RangeError('the vault\'s publicKey must be 32 bytes of hex');
  if (!Number.isInteger(terms.globalId)) throw new RangeError('the vault\'s globalId must be an integer');
  return { publicKey: terms.publicKey.toLowerCase(), globalId: terms.globalId };
}

function rawAddress(address: string): string {
  return Address.parse(address).toRawString();
}
