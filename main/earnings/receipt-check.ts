/**
 * The worker checks every receipt, because from its side the coordinator may be wrong or lie
 * too: the arithmetic must follow the published prices (the coordinator's welcome), and the
 * completion tokens it was paid for must match what this PC itself generated. A receipt that
 * fails is still recorded (vouchers pay what the coordinator signed) but flagged for the owner,
 * with the shortfall in nanotons. Pure.
 */
import { jobCost, priceListSchema, priceOf, splitCost, type PriceListWire } from '../../network/protocol/pricing.js';
import type { Usage } from '../../network/protocol/job-schemas.js';

/** The fields of a receipt this check reads. */
export interface CheckedReceipt {
  model: string;
  usage: Usage;
  coefficientMilli: number;
  costNanotons: string;
  earnedNanotons: string;
}

/** What a receipt check found. */
export type ReceiptVerdict =
  | { ok: true }
  | { ok: false; code: 'receipt_math' | 'underpaid'; message: string; shortfallNanotons: bigint };

/** Tokens an engine may count above the canonical re-tokenization of its own text (see metering). */
function beyondTolerance(own: number, paid: number): boolean {
  return own > Math.floor(paid * 1.1) + 2;
}

/**
 * Checks a receipt against the published prices and, when known, this PC's own count of the
 * tokens it generated for the job (`own.completionTokens`). The prompt is not compared: a
 * continued job legitimately bills its prompt to the worker that started it.
 */
export function checkReceipt(receipt: CheckedReceipt, pricing: PriceListWire, own?: { completionTokens: number }): ReceiptVerdict {
  const parsed = priceListSchema.safeParse(pricing);
  if (!parsed.success) {
    // The welcome's schema refuses such prices; should one come by, the receipt is flagged, not lost.
    return { ok: false, code: 'receipt_math', message: 'The published prices cannot be read, so the receipt cannot be checked.', shortfallNanotons: 0n };
  }
  const prices = parsed.data;
  const price = priceOf(prices, receipt.model);
  const coefficient = receipt.coefficientMilli / 1000;
  const earnedFor = (usage: Usage) => splitCost(jobCost(price, usage, coefficient), prices.commissionBps).worker;
  const cost = jobCost(price, receipt.usage, coefficient);
  const earned = splitCost(cost, prices.commissionBps).worker;
  const got = BigInt(receipt.earnedNanotons);
  if (cost !== BigInt(receipt.costNanotons) || earned !== got) {
    return {
      ok: false,
      code: 'receipt_math',
      message: `The receipt says ${receipt.costNanotons} charged and ${receipt.earnedNanotons} earned; the published prices give ${cost} and ${earned}.`,
      shortfallNanotons: earned > got ? earned - got : 0n,
    };
  }
  if (own && beyondTolerance(own.completionTokens, receipt.usage.completionTokens)) {
    const expected = earnedFor({ promptTokens: receipt.usage.promptTokens, completionTokens: own.completionTokens });
    return {
      ok: false,
      code: 'underpaid',
      message: `Paid for ${receipt.usage.completionTokens} generated tokens; this PC generated ${own.completionTokens}.`,
      shortfallNanotons: expected > got ? expected - got : 0n,
    };
  }
  return { ok: true };
}
