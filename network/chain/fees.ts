/** Fee breakdown of an emulated transaction, in the shape toncenter's `estimateFee` reports. */
import type { Transaction } from '@ton/core';

/** Fees an external message would cost its receiving contract, in nanotons. */
export interface FeeEstimate {
  /** Import fee of the inbound external message. */
  inFwdFee: bigint;
  storageFee: bigint;
  gasFee: bigint;
  /** Forwarding fees of the messages it sends. */
  fwdFee: bigint;
}

/** Splits a transaction's total fees into toncenter's parts. */
export function feesOf(tx: Transaction): FeeEstimate {
  const description = tx.description;
  if (description.type !== 'generic') return { inFwdFee: 0n, storageFee: 0n, gasFee: 0n, fwdFee: 0n };
  const storageFee = description.storagePhase?.storageFeesCollected ?? 0n;
  const gasFee = description.computePhase.type === 'vm' ? description.computePhase.gasFees : 0n;
  const fwdFee = description.actionPhase?.totalFwdFees ?? 0n;
  const actionFees = description.actionPhase?.totalActionFees ?? 0n;
  // The transaction's total is import fee + storage + gas + the retained share of action fees.
  const rest = tx.totalFees.coins - storageFee - gasFee - actionFees;
  return { inFwdFee: rest > 0n ? rest : 0n, storageFee, gasFee, fwdFee };
}
