/**
 * A worker's receipt for its part in a settled job, with a voucher (signed by the coordinator's
 * key) for its earnings account's new total where one applies. Built from plain values, so the
 * PostgreSQL store's thread builds it from the figures its settling call returns, and again
 * from the stored figures when the worker asks again (pg-store.ts), exactly as the embedded
 * store's caller does inside its transaction (billing.ts).
 */
import { Address } from '@ton/core';
import { signVoucher, voucherToJson } from '../protocol/voucher.js';
import type { AccountTotal, JobReceiptFrame, SettledJob, WorkerCredit } from './store.js';

/** What signing a settlement's vouchers takes; without a vault (or key) receipts carry none. */
export interface ReceiptSigning {
  /** The payout vault's address. */
  vault?: string;
  /** Ed25519 secret key (64 bytes, @ton/crypto format) that signs vouchers. */
  secretKey?: Uint8Array;
  /** The chain's global id every voucher names. */
  globalId: number;
}

/**
 * A signed voucher for an account's cumulative total, bound to the chain, when the account and
 * vault allow one. A masterchain payout address gets none: the vault refuses to pay there.
 */
export function voucherFor(signing: ReceiptSigning | undefined, account: string, cumulative: bigint, seq: number): Record<string, unknown> | undefined {
  if (!signing) return undefined;
  const { vault, secretKey, globalId } = signing;
  if (!vault || !secretKey || account.startsWith('worker:') || seq === 0) return undefined;
  if (Address.parse(account).workChain !== 0) return undefined;
  return voucherToJson(signVoucher({ globalId, vault, worker: account, cumulativeNanotons: cumulative, seq }, secretKey));
}

/** The receipt frame numbered `seq` for a worker's credit in a job, its account's total after it (no voucher without `signing`). */
export function buildReceipt(signing: ReceiptSigning | undefined, job: Pick<SettledJob, 'jobId' | 'model' | 'outcome'>, credit: WorkerCredit, total: AccountTotal, seq: number): JobReceiptFrame {
  const voucher = voucherFor(signing, total.account, total.cumulative, total.seq);
  return {
    type: 'job.receipt',
    seq,
    jobId: job.jobId,
    model: job.model,
    usage: { promptTokens: credit.promptTokens, completionTokens: credit.completionTokens },
    ...(credit.claimed ? { claimed: credit.claimed } : {}),
    outcome: job.outcome,
    coefficientMilli: credit.coefficientMilli,
    costNanotons: credit.cost.toString(),
    earnedNanotons: credit.earned.toString(),
    account: total.account,
    cumulativeNanotons: total.cumulative.toString(),
    ...(voucher ? { voucher } : {}),
  };
}
