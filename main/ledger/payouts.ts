/**
 * Payout intake, reconciled against totals: each payout the chain watcher parses says the
 * payout account's paid total after it (`cumulative`) and what it added (`due`), so it is checked
 * on its own — it must come from our payout account, carry what its body says, and start where
 * the last applied one ended or later (never overlap it). It is never compared with "the previous
 * payout's amount", so one missed voucher or payout does not flag every later one. A payout up to
 * total C covers every voucher of ours whose total is ≤ C, whoever earned the rest (several PCs
 * may share one payout address). Anything else is stored as flagged and never applied.
 * Idempotent by tx hash.
 */
import { Address } from '@ton/core';
import { flagAnomaly } from './anomalies.js';
import type { LedgerDb } from './db.js';
import { MAX_LEDGER_NANOTONS } from './jobs.js';

/** A payout message as seen on chain (the payout account's `payout`: op, query id, cumulative, seq, due, deposit). */
export interface IncomingPayout {
  /** Transaction hash, hex: the idempotency key. */
  txHash: string;
  lt: bigint;
  /** Transaction time, unix seconds. */
  utime: number;
  /** Who sent the message (should be the vault). */
  sender: string;
  /** The message value: what actually arrived. */
  amountNanotons: bigint;
  /** Body fields, as the sender wrote them: the paid total after this payout, and the voucher seq. */
  cumulativeNanotons: bigint;
  seq: bigint;
  queryId: bigint;
  /** What this payout added to the paid total (default: the amount, for a plain payout). */
  dueNanotons?: bigint;
  /** What the payout account kept of `due` for its storage rent (default 0). */
  depositNanotons?: bigint;
}

/**
 * Why a payout was flagged instead of applied: `duplicate` overlaps what was already paid;
 * `unknown_voucher` is only found on rows from before payouts were reconciled against totals.
 */
export type PayoutFlagCode = 'unknown_sender' | 'duplicate' | 'amount_off' | 'unknown_voucher';

/** What {@link PayoutStore.record} did; `amountNanotons` is what the payout added to the paid total. */
export type RecordPayoutResult =
  | { status: 'applied'; txHash: string; amountNanotons: bigint; seq: number; jobsPaid: number; vouchersPaid: number }
  | { status: 'flagged'; txHash: string; code: PayoutFlagCode; message: string }
  | { status: 'already_recorded'; txHash: string };

/** A stored payout, applied or flagged. */
export interface PayoutRecord extends IncomingPayout {
  status: 'applied' | 'flagged';
  flagCode: PayoutFlagCode | null;
  recordedAt: number;
}

interface PayoutRow {
  tx_hash: string;
  lt: bigint;
  utime: bigint;
  sender: string;
  amount_nanotons: bigint;
  cumulative_nanotons: string;
  seq: string;
  query_id: string;
  due_nanotons: bigint | null;
  deposit_nanotons: bigint | null;
  status: 'applied' | 'flagged';
  flag_code: PayoutFlagCode | null;
  recorded_at: bigint;
}

/** Matches and stores payouts (through the Ledger, the one writer). */
export class PayoutStore {
  private readonly from: Address;

  constructor(
    private readonly db: LedgerDb,
    /** Who pays: the worker's payout account (the vault itself for a vault of the old design). */
    from: string,
    private readonly now: () => number,
  ) {
    this.from = Address.parse(from);
  }

  /**
   * Records one payout in its own transaction (or in the caller's, when nested). Never throws on
   * what the message says: anyone can send our payout address a payout-shaped body with figures
   * up to 2^120, and one throw would roll back the chain watcher's whole batch, every poll.
   */
  record(payout: IncomingPayout): RecordPayoutResult {
    const due = payout.dueNanotons ?? payout.amountNanotons;
    const deposit = payout.depositNanotons ?? 0n;
    const txHash = payout.txHash.toLowerCase();
    if (!inLedgerRange(payout.amountNanotons)) {
      // A message value past all TON in existence cannot be on a real chain, nor in an INTEGER
      // column: it is flagged (idempotent by its flag) and not stored as a payout.
      const flag = this.check(payout, due, deposit) ?? impossible(payout, due, deposit);
      this.flag(payout, txHash, flag, due, deposit);
      return { status: 'flagged', txHash, ...flag };
    }
    return this.db.transaction((): RecordPayoutResult => {
      if (this.db.prepare('SELECT 1 FROM payouts WHERE tx_hash = ?').get(txHash)) return { status: 'already_recorded', txHash };
      const flag = this.check(payout, due, deposit);
      // Body figures past the ledger's range are only ever flagged; the flag keeps them as written.
      this.db
        .prepare(`INSERT INTO payouts (tx_hash, lt, utime, sender, amount_nanotons, cumulative_nanotons, seq, query_id, due_nanotons, deposit_nanotons, status, flag_code, recorded_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(txHash, payout.lt, payout.utime, payout.sender, payout.amountNanotons, payout.cumulativeNanotons.toString(),
          payout.seq.toString(), payout.queryId.toString(), inLedgerRange(due) ? due : null, inLedgerRange(deposit) ? deposit : null,
          flag ? 'flagged' : 'applied', flag?.code ?? null, this.now());
      if (flag) {
        this.flag(payout, txHash, flag, due, deposit);
        return { status: 'flagged', txHash, ...flag };
      }
      // Paid up to total C covers our vouchers up to C (totals and seqs rise together), and the
      // jobs they cover, whatever the payout's own seq.
      const covered = payout.cumulativeNanotons <= MAX_LEDGER_NANOTONS
        ? (this.db.prepare('SELECT MAX(seq) AS s FROM vouchers WHERE cumulative_nanotons <= ?').get(payout.cumulativeNanotons) as { s: bigint | null }).s
        : (this.db.prepare('SELECT MAX(seq) AS s FROM vouchers').get() as { s: bigint | null }).s;
      const upTo = covered ?? 0n;
      const vouchersPaid = this.db.prepare('UPDATE vouchers SET paid_tx = ? WHERE seq <= ? AND paid_tx IS NULL').run(txHash, upTo).changes;
      const jobsPaid = this.db.prepare('UPDATE jobs SET paid_tx = ? WHERE paid_tx IS NULL AND voucher_seq <= ?').run(txHash, upTo).changes;
      return { status: 'applied', txHash, amountNanotons: due, seq: Number(payout.seq), jobsPaid, vouchersPaid };
    }).immediate();
  }

  /**
   * Judges again, oldest first, the payouts flagged as from an unknown sender that came from the
   * sender expected now (a payout account learned late); one transaction.
   */
  rejudgeUnknownSenders(): RecordPayoutResult[] {
    return this.db.transaction((): RecordPayoutResult[] => {
      const rows = (this.db.prepare("SELECT * FROM payouts WHERE status = 'flagged' AND flag_code = 'unknown_sender' AND due_nanotons IS NOT NULL ORDER BY lt").all() as PayoutRow[])
        .filter((row) => isAddress(row.sender, this.from));
      return rows.map((row) => {
        this.db.prepare('DELETE FROM payouts WHERE tx_hash = ?').run(row.tx_hash);
        this.db.prepare("DELETE FROM anomalies WHERE kind = 'payout' AND code = 'unknown_sender' AND ref = ?").run(row.tx_hash);
        return this.record(fromRow(row));
      });
    }).immediate();
  }

  /** The last applied payout's seq and total: the payout account's paid total as last seen. */
  paidUpTo(): { seq: bigint; cumulativeNanotons: bigint } {
    const row = this.db
      .prepare("SELECT seq, cumulative_nanotons FROM payouts WHERE status = 'applied' ORDER BY lt DESC LIMIT 1")
      .get() as { seq: string; cumulative_nanotons: string } | undefined;
    return row ? { seq: BigInt(row.seq), cumulativeNanotons: BigInt(row.cumulative_nanotons) } : { seq: 0n, cumulativeNanotons: 0n };
  }

  /**
   * What applied payouts added to the paid total (their `due`, deposits included: the worker's
   * own payout account kept those for rent), and what arrived in flagged ones (not counted).
   */
  totals(): { paidNanotons: bigint; flaggedNanotons: bigint } {
    const applied = this.db.prepare("SELECT SUM(COALESCE(due_nanotons, amount_nanotons)) AS total FROM payouts WHERE status = 'applied'").get() as { total: bigint | null };
    const flagged = this.db.prepare("SELECT SUM(amount_nanotons) AS total FROM payouts WHERE status = 'flagged'").get() as { total: bigint | null };
    return { paidNanotons: applied.total ?? 0n, flaggedNanotons: flagged.total ?? 0n };
  }

  /** Every payout, oldest first. */
  list(): PayoutRecord[] {
    return (this.db.prepare('SELECT * FROM payouts ORDER BY lt').all() as PayoutRow[]).map((row) => ({
      ...fromRow(row),
      status: row.status,
      flagCode: row.flag_code,
      recordedAt: Number(row.recorded_at),
    }));
  }

  private flag(payout: IncomingPayout, txHash: string, flag: { code: PayoutFlagCode; message: string }, due: bigint, deposit: bigint): void {
    flagAnomaly(this.db, {
      at: this.now(), kind: 'payout', code: flag.code, ref: txHash, message: flag.message,
      detail: { amountNanotons: payout.amountNanotons, cumulativeNanotons: payout.cumulativeNanotons, dueNanotons: due, depositNanotons: deposit, seq: payout.seq, sender: payout.sender, lt: payout.lt },
    });
  }

  // The first rule a payout breaks, or undefined when it may be applied. Each payout is checked
  // against its own figures and the paid total, never against the previous payout's amount.
  private check(payout: IncomingPayout, due: bigint, deposit: bigint): { code: PayoutFlagCode; message: string } | undefined {
    if (!isAddress(payout.sender, this.from)) {
      return { code: 'unknown_sender', message: `payout-shaped message from ${payout.sender}, not our payout account` };
    }
    if (!inLedgerRange(payout.amountNanotons) || !inLedgerRange(due) || !inLedgerRange(deposit)) return impossible(payout, due, deposit);
    if (due <= 0n || deposit > due || due > payout.cumulativeNanotons || payout.amountNanotons < due - deposit) {
      return { code: 'amount_off', message: `payout carried ${payout.amountNanotons} nanotons for a due of ${due} (deposit ${deposit}) up to ${payout.cumulativeNanotons}` };
    }
    // It added `due` on top of what was paid before it: that must not reach below the paid total
    // we already know (a gap above it is a payout we did not see; the total still holds).
    const paid = this.paidUpTo().cumulativeNanotons;
    const paidBefore = payout.cumulativeNanotons - due;
    if (paidBefore < paid) {
      return { code: 'duplicate', message: `payout from a paid total of ${paidBefore} to ${payout.cumulativeNanotons}, but ${paid} was already paid` };
    }
    return undefined;
  }
}

// A stored payout as it was seen on chain.
function fromRow(row: PayoutRow): IncomingPayout {
  return {
    txHash: row.tx_hash,
    lt: row.lt,
    utime: Number(row.utime),
    sender: row.sender,
    amountNanotons: row.amount_nanotons,
    cumulativeNanotons: BigInt(row.cumulative_nanotons),
    seq: BigInt(row.seq),
    queryId: BigInt(row.query_id),
    dueNanotons: row.due_nanotons ?? row.amount_nanotons,
    depositNanotons: row.deposit_nanotons ?? 0n,
  };
}

function inLedgerRange(value: bigint): boolean {
  return value >= 0n && value <= MAX_LEDGER_NANOTONS;
}

function impossible(payout: IncomingPayout, due: bigint, deposit: bigint): { code: PayoutFlagCode; message: string } {
  return { code: 'amount_off', message: `payout carried ${payout.amountNanotons} nanotons for a due of ${due} (deposit ${deposit}): more than all TON in existence` };
}

function isAddress(text: string, expected: Address): boolean {
  try {
    return Address.parse(text).equals(expected);
  } catch {
    return false;
  }
}
