/**
 * Payout intake: each incoming payout the chain watcher parses is matched to the vouchers
 * before it counts. It must come from our vault, be ahead of the last applied payout, name a
 * voucher we accepted (same seq and total), and carry exactly the difference from what was
 * already paid. Anything else is stored as flagged and never applied. Idempotent by tx hash.
 */
import { Address } from '@ton/core';
import { flagAnomaly } from './anomalies.js';
import type { LedgerDb } from './db.js';
import { MAX_LEDGER_NANOTONS } from './jobs.js';

/** A payout message as seen on chain (the vault's `payout`: op, query id, cumulative, seq). */
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
  /** Body fields, as the sender wrote them. */
  cumulativeNanotons: bigint;
  seq: bigint;
  queryId: bigint;
}

/** Why a payout was flagged instead of applied. */
export type PayoutFlagCode = 'unknown_sender' | 'duplicate' | 'unknown_voucher' | 'amount_off';

/** What {@link PayoutStore.record} did. */
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
  status: 'applied' | 'flagged';
  flag_code: PayoutFlagCode | null;
  recorded_at: bigint;
}

/** Matches and stores payouts (through the Ledger, the one writer). */
export class PayoutStore {
  private readonly vault: Address;

  constructor(
    private readonly db: LedgerDb,
    vault: string,
    private readonly now: () => number,
  ) {
    this.vault = Address.parse(vault);
  }

  /** Records one payout in its own transaction (or in the caller's, when nested). */
  record(payout: IncomingPayout): RecordPayoutResult {
    if (payout.amountNanotons < 0n || payout.amountNanotons > MAX_LEDGER_NANOTONS) throw new RangeError('payout amount out of range');
    return this.db.transaction((): RecordPayoutResult => {
      const txHash = payout.txHash.toLowerCase();
      if (this.db.prepare('SELECT 1 FROM payouts WHERE tx_hash = ?').get(txHash)) return { status: 'already_recorded', txHash };
      const flag = this.check(payout);
      this.db
        .prepare(`INSERT INTO payouts (tx_hash, lt, utime, sender, amount_nanotons, cumulative_nanotons, seq, query_id, status, flag_code, recorded_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(txHash, payout.lt, payout.utime, payout.sender, payout.amountNanotons, payout.cumulativeNanotons.toString(),
          payout.seq.toString(), payout.queryId.toString(), flag ? 'flagged' : 'applied', flag?.code ?? null, this.now());
      if (flag) {
        flagAnomaly(this.db, {
          at: this.now(), kind: 'payout', code: flag.code, ref: txHash, message: flag.message,
          detail: { amountNanotons: payout.amountNanotons, cumulativeNanotons: payout.cumulativeNanotons, seq: payout.seq, sender: payout.sender, lt: payout.lt },
        });
        return { status: 'flagged', txHash, ...flag };
      }
      const seq = Number(payout.seq);
      const vouchersPaid = this.db.prepare('UPDATE vouchers SET paid_tx = ? WHERE seq <= ? AND paid_tx IS NULL').run(txHash, seq).changes;
      const jobsPaid = this.db.prepare('UPDATE jobs SET paid_tx = ? WHERE paid_tx IS NULL AND voucher_seq <= ?').run(txHash, seq).changes;
      return { status: 'applied', txHash, amountNanotons: payout.amountNanotons, seq, jobsPaid, vouchersPaid };
    }).immediate();
  }

  /** The last applied payout's seq and total (what the vault says we were paid up to). */
  paidUpTo(): { seq: bigint; cumulativeNanotons: bigint } {
    const row = this.db
      .prepare("SELECT seq, cumulative_nanotons FROM payouts WHERE status = 'applied' ORDER BY lt DESC LIMIT 1")
      .get() as { seq: string; cumulative_nanotons: string } | undefined;
    return row ? { seq: BigInt(row.seq), cumulativeNanotons: BigInt(row.cumulative_nanotons) } : { seq: 0n, cumulativeNanotons: 0n };
  }

  /** Sum of applied payouts, and of flagged ones (received but not counted). */
  totals(): { paidNanotons: bigint; flaggedNanotons: bigint } {
    const rows = this.db.prepare('SELECT status, SUM(amount_nanotons) AS total FROM payouts GROUP BY status').all() as { status: string; total: bigint }[];
    const of = (status: string) => rows.find((row) => row.status === status)?.total ?? 0n;
    return { paidNanotons: of('applied'), flaggedNanotons: of('flagged') };
  }

  /** Every payout, oldest first. */
  list(): PayoutRecord[] {
    return (this.db.prepare('SELECT * FROM payouts ORDER BY lt').all() as PayoutRow[]).map((row) => ({
      txHash: row.tx_hash,
      lt: row.lt,
      utime: Number(row.utime),
      sender: row.sender,
      amountNanotons: row.amount_nanotons,
      cumulativeNanotons: BigInt(row.cumulative_nanotons),
      seq: BigInt(row.seq),
      queryId: BigInt(row.query_id),
      status: row.status,
      flagCode: row.flag_code,
      recordedAt: Number(row.recorded_at),
    }));
  }

  // The first rule a payout breaks, or undefined when it may be applied.
  private check(payout: IncomingPayout): { code: PayoutFlagCode; message: string } | undefined {
    if (!isAddress(payout.sender, this.vault)) {
      return { code: 'unknown_sender', message: `payout-shaped message from ${payout.sender}, not the vault` };
    }
    const paid = this.paidUpTo();
    if (payout.seq <= paid.seq || payout.cumulativeNanotons <= paid.cumulativeNanotons) {
      return { code: 'duplicate', message: `payout for seq ${payout.seq} (total ${payout.cumulativeNanotons}) but already paid up to seq ${paid.seq} (total ${paid.cumulativeNanotons})` };
    }
    const voucher = payout.seq <= BigInt(Number.MAX_SAFE_INTEGER)
      ? (this.db.prepare('SELECT cumulative_nanotons AS c FROM vouchers WHERE seq = ?').get(payout.seq) as { c: bigint } | undefined)
      : undefined;
    if (!voucher || voucher.c !== payout.cumulativeNanotons) {
      return { code: 'unknown_voucher', message: `no accepted voucher with seq ${payout.seq} and total ${payout.cumulativeNanotons}` };
    }
    const due = payout.cumulativeNanotons - paid.cumulativeNanotons;
    if (payout.amountNanotons !== due) {
      return { code: 'amount_off', message: `payout carried ${payout.amountNanotons} nanotons; ${due} were due` };
    }
    return undefined;
  }
}

function isAddress(text: string, expected: Address): boolean {
  try {
    return Address.parse(text).equals(expected);
  } catch {
    return false;
  }
}
