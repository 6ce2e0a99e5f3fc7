/**
 * Voucher intake: every voucher the coordinator sends is verified (its key, its vault, its
 * signature, our payout address) and compared with the latest accepted one (never backwards,
 * seq strictly increasing, never the same one twice). Accepted vouchers cover the pending jobs;
 * refused ones are flagged and never stored as vouchers.
 */
import { createHash } from 'node:crypto';
import { Address } from '@ton/core';
import {
  compareVouchers,
  verifyVoucher,
  voucherSchema,
  type Voucher,
  type VoucherErrorCode,
  type VoucherRollbackCode,
  voucherToJson,
} from '../../network/protocol/voucher.js';
import { flagAnomaly } from './anomalies.js';
import type { LedgerDb } from './db.js';
import { MAX_LEDGER_NANOTONS } from './jobs.js';

/** Who this ledger trusts and who it is: the coordinator's key, the vault, our payout address. */
export interface LedgerIdentity {
  /** The coordinator's Ed25519 voucher key, 32 bytes hex. */
  coordinatorPublicKey: string;
  /** The payout vault the vouchers must name. */
  vault: string;
  /** This worker's payout address: vouchers must name it, the chain watcher follows it. */
  payoutAddress: string;
  /** The chain global id vouchers must name (GET /v1/pricing `chain_global_id`); unchecked when absent. */
  chainGlobalId?: number;
  /**
   * Where payouts come from: our payout account of the vault (the vault's `accountAddress`
   * getter). Absent: the vault itself (a vault of the old design).
   */
  payoutAccount?: string;
  /**
   * The voucher key and chain the vault contract holds, as read from chain (absent until then,
   * or without a chain). A voucher for our vault signed otherwise is refused by every claim.
   */
  vaultTerms?: VaultTerms;
}

/** What a vault checks every claim against: its voucher key (32 bytes hex) and chain global id. */
export interface VaultTerms {
  publicKey: string;
  globalId: number;
}

/** Why a voucher the welcome's key verifies can still never be claimed from our vault. */
export type VaultRefusalCode = 'vault_key_mismatch' | 'vault_chain_mismatch';

/** Why a voucher was refused. */
export type VoucherRefusalCode = VoucherErrorCode | VoucherRollbackCode | VaultRefusalCode | 'foreign_worker' | 'out_of_range';

/** What {@link VoucherStore.record} did with a voucher. */
export type RecordVoucherResult =
  | { status: 'accepted'; seq: number; cumulativeNanotons: bigint; deltaNanotons: bigint; jobsCovered: number }
  | { status: 'refused'; code: VoucherRefusalCode; message: string };

interface VoucherRow {
  global_id: bigint | null;
  seq: bigint;
  cumulative_nanotons: bigint;
  vault: string;
  worker: string;
  signature: string;
  coordinator_key: string;
}

/** Verifies, compares and stores vouchers (through the Ledger, the one writer). */
export class VoucherStore {
  constructor(
    private readonly db: LedgerDb,
    /** The ledger's identity now (the vault's terms are learned after it opens). */
    private readonly identity: () => LedgerIdentity,
    private readonly now: () => number,
  ) {}

  /**
   * Verifies and stores a received voucher (JSON form, or a JSON string). When `jobIds` is
   * given the voucher covers those jobs and its delta must equal their credits (else flagged
   * `delta_mismatch`, still accepted: it is signed); otherwise it covers every pending job.
   * Credit the jobs first (await `creditJob`): a voucher only covers jobs already recorded.
   */
  record(input: unknown, options: { jobIds?: readonly string[] } = {}): RecordVoucherResult {
    const parsed = typeof input === 'string' ? parseJson(input) : input;
    const identity = this.identity();
    const check = verifyVoucher(parsed, identity.coordinatorPublicKey, identity.vault, identity.chainGlobalId);
    if (!check.ok) return this.refuse(parsed, check.code, check.message);
    const voucher = check.voucher;
    const unclaimable = identity.vaultTerms && vaultRefusal(voucher, identity.vaultTerms);
    if (unclaimable) return this.refuse(parsed, unclaimable.code, unclaimable.message);
    if (!Address.parse(voucher.worker).equals(Address.parse(identity.payoutAddress))) {
      return this.refuse(parsed, 'foreign_worker', `voucher is for worker ${voucher.worker}, not this payout address`);
    }
    if (voucher.cumulativeNanotons > MAX_LEDGER_NANOTONS) {
      return this.refuse(parsed, 'out_of_range', 'voucher total is beyond 2^63-1 nanotons');
    }
    return this.db.transaction((): RecordVoucherResult => {
      if (this.db.prepare('SELECT 1 FROM vouchers WHERE signature = ?').get(voucher.signature)) {
        // The voucher we hold, again: a receipt sent again (after a reconnect, or the coordinator's
        // restart) carries it, as delivery at least once does. Nothing to record, nor to flag.
        return { status: 'refused', code: 'duplicate', message: `voucher seq ${voucher.seq} was already received` };
      }
      const comparison = compareVouchers(this.continued(this.latest(), voucher), voucher);
      if (!comparison.ok) return this.refuse(parsed, comparison.code, comparison.message);
      this.db
        .prepare(`INSERT INTO vouchers (seq, cumulative_nanotons, vault, worker, signature, coordinator_key, received_at, global_id)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(voucher.seq, voucher.cumulativeNanotons, voucher.vault, voucher.worker, voucher.signature, voucher.coordinatorPublicKey, this.now(), voucher.globalId);
      const jobsCovered = this.cover(voucher, comparison.deltaNanotons, options.jobIds);
      return { status: 'accepted', seq: voucher.seq, cumulativeNanotons: voucher.cumulativeNanotons, deltaNanotons: comparison.deltaNanotons, jobsCovered };
    }).immediate();
  }

  /**
   * The previous voucher as the next one continues it. After a vault move (the ledger now
   * follows another vault) or from before vouchers named their chain, the totals and seqs go on:
   * only those are compared (the new voucher was checked against our vault and chain already).
   */
  private continued(prev: Voucher | null, next: Voucher): Voucher | null {
    if (!prev) return prev;
    const moved = !Address.parse(prev.vault).equals(Address.parse(this.identity().vault));
    return moved || prev.globalId === 0 ? { ...prev, vault: next.vault, globalId: next.globalId } : prev;
  }

  /**
   * Judges the stored unpaid vouchers of our vault against the terms the vault holds, learned
   * after they were accepted: each the vault would refuse is flagged and dropped, as if it had been
   * refused when it came, and its jobs wait for a voucher again. Returns how many were dropped.
   */
  rejudgeAgainstVault(): number {
    const { vault, vaultTerms } = this.identity();
    if (!vaultTerms) return 0;
    return this.db.transaction((): number => {
      const rows = (this.db.prepare('SELECT * FROM vouchers WHERE paid_tx IS NULL ORDER BY seq').all() as VoucherRow[])
        .filter((row) => Address.parse(row.vault).equals(Address.parse(vault)));
      let dropped = 0;
      for (const row of rows) {
        const voucher = toVoucher(row);
        // Stored before vouchers named their chain: only the key can be judged.
        const refusal = vaultRefusal(voucher.globalId === 0 ? { ...voucher, globalId: vaultTerms.globalId } : voucher, vaultTerms);
        if (!refusal) continue;
        this.refuse(voucherToJson(voucher), refusal.code, refusal.message);
        this.db.prepare('UPDATE jobs SET voucher_seq = NULL WHERE voucher_seq = ? AND paid_tx IS NULL').run(row.seq);
        this.db.prepare('DELETE FROM vouchers WHERE seq = ?').run(row.seq);
        dropped += 1;
      }
      return dropped;
    }).immediate();
  }

  /** The latest accepted voucher (highest seq), or null before the first. */
  latest(): Voucher | null {
    const row = this.db.prepare('SELECT * FROM vouchers ORDER BY seq DESC LIMIT 1').get() as VoucherRow | undefined;
    return row ? toVoucher(row) : null;
  }

  /** The accepted voucher with this seq. */
  bySeq(seq: number): Voucher | undefined {
    const row = this.db.prepare('SELECT * FROM vouchers WHERE seq = ?').get(seq) as VoucherRow | undefined;
    return row && toVoucher(row);
  }

  private cover(voucher: Voucher, delta: bigint, jobIds: readonly string[] | undefined): number {
    if (!jobIds) {
      return this.db.prepare('UPDATE jobs SET voucher_seq = ? WHERE voucher_seq IS NULL').run(voucher.seq).changes;
    }
    const mark = this.db.prepare('UPDATE jobs SET voucher_seq = ? WHERE job_id = ? AND voucher_seq IS NULL');
    const earned = this.db.prepare('SELECT earned_nanotons AS e FROM jobs WHERE job_id = ?');
    let covered = 0;
    let credited = 0n;
    for (const jobId of jobIds) {
      covered += mark.run(voucher.seq, jobId).changes;
      credited += (earned.get(jobId) as { e: bigint } | undefined)?.e ?? 0n;
    }
    if (credited !== delta) {
      flagAnomaly(this.db, {
        at: this.now(),
        kind: 'voucher',
        code: 'delta_mismatch',
        ref: voucher.signature,
        message: `voucher seq ${voucher.seq} adds ${delta} nanotons but its jobs were credited ${credited}`,
        detail: { seq: voucher.seq, deltaNanotons: delta, creditedNanotons: credited, jobIds },
      });
    }
    return covered;
  }

  private refuse(input: unknown, code: VoucherRefusalCode, message: string): RecordVoucherResult {
    const loose = voucherSchema.safeParse(input);
    flagAnomaly(this.db, {
      at: this.now(),
      kind: 'voucher',
      code,
      ref: loose.success ? loose.data.signature : createHash('sha256').update(safeJson(input)).digest('hex'),
      message,
      detail: loose.success ? { seq: loose.data.seq, cumulativeNanotons: loose.data.cumulativeNanotons, vault: loose.data.vault, worker: loose.data.worker } : {},
    });
    return { status: 'refused', code, message };
  }
}

// Why the vault would refuse every claim with `voucher` (one for this vault), if it would.
function vaultRefusal(voucher: Voucher, terms: VaultTerms): { code: VaultRefusalCode; message: string } | undefined {
  if (voucher.coordinatorPublicKey.toLowerCase() !== terms.publicKey.toLowerCase()) {
    return { code: 'vault_key_mismatch', message: `voucher seq ${voucher.seq} is signed with key ${voucher.coordinatorPublicKey}, but the vault on chain holds ${terms.publicKey.toLowerCase()}: it can never be claimed` };
  }
  if (voucher.globalId !== terms.globalId) {
    return { code: 'vault_chain_mismatch', message: `voucher seq ${voucher.seq} is for chain ${voucher.globalId}, but the vault on chain pays on ${terms.globalId}: it can never be claimed` };
  }
  return undefined;
}

// Vouchers stored before they named a chain read back with global id 0 (none).
function toVoucher(row: VoucherRow): Voucher {
  return {
    globalId: row.global_id === null ? 0 : Number(row.global_id),
    vault: row.vault,
    worker: row.worker,
    cumulativeNanotons: row.cumulative_nanotons,
    seq: Number(row.seq),
    signature: row.signature,
    coordinatorPublicKey: row.coordinator_key,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // verifyVoucher refuses it as malformed
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
