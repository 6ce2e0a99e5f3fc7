/**
 * Client receipts: whether a client's signed usage receipts (sealed mode) may still cap what its
 * jobs are billed. In sealed mode the coordinator sees only ciphertext, so a client that posts a
 * receipt key lets its own count lower the bill (metering.ts). A client that under-reports would
 * then pay less than it received, and each worker that served it would earn less.
 *
 * One receipt below its worker's claim (beyond the tolerance of honest re-tokenization) cannot
 * say who lied. Many can: a dishonest worker disputes the receipts of the many clients it serves,
 * a dishonest client the claims of the many workers that serve it. So each receipt is kept with
 * the worker that disputed it, if one did, and a client whose recent receipts fall short of the
 * claims of several different workers, often, has its receipts paused: the coordinator refuses
 * its sealed jobs posted with a receipt key (it may still post sealed jobs without one, billed on
 * the coordinator's own bounds, or transport jobs) until the operator resumes them. Pure: the
 * store keeps the receipts and applies this rule in the transaction that records one.
 */

/** How many of a client's latest receipts the rule looks at. */
export const RECEIPT_WINDOW = 50;
/** Receipts in that window disputed by their worker at which a client's receipts are paused… */
export const PAUSE_DISPUTED = 20;
/** …when at least this many different workers disputed them (one dishonest worker cannot pause a client). */
export const PAUSE_WORKERS = 3;

/** A sealed job's receipt, as judged when its job was metered. */
export interface ClientReceipt {
  jobId: string;
  clientId: string;
  /** The worker whose claim the receipt fell short of beyond the tolerance, if any. */
  disputedBy: string | null;
  at: number;
}

/** What recording a receipt left the client's receipts as. */
export interface ReceiptVerdict {
  /** The client's receipts are paused (now or before). */
  paused: boolean;
  /** This receipt is the one that paused them. */
  newlyPaused: boolean;
  /** Disputed receipts and different disputing workers among the latest RECEIPT_WINDOW (since the last resume). */
  disputed: number;
  workers: number;
}

/** A client whose receipts are paused, for the operator. */
export interface ReceiptPause {
  clientId: string;
  pausedAt: number;
  /** The window's figures when they were paused. */
  disputed: number;
  workers: number;
}

/** The rule over a client's latest receipts (newest first, at most RECEIPT_WINDOW): each one's disputing worker or null. */
export function judgeReceiptWindow(disputedBy: readonly (string | null)[]): { pause: boolean; disputed: number; workers: number } {
  const latest = disputedBy.slice(0, RECEIPT_WINDOW).filter((w): w is string => w !== null);
  const workers = new Set(latest).size;
  return { pause: latest.length >= PAUSE_DISPUTED && workers >= PAUSE_WORKERS, disputed: latest.length, workers };
}

/**
 * What a store answers once it recorded a receipt (or found it recorded: `recorded` false), given
 * whether the client was paused before and its window now: only a new receipt pauses a client.
 */
export function receiptVerdict(recorded: boolean, wasPaused: boolean, window: readonly (string | null)[]): ReceiptVerdict {
  const judged = judgeReceiptWindow(window);
  const newlyPaused = recorded && !wasPaused && judged.pause;
  return { paused: wasPaused || newlyPaused, newlyPaused, disputed: judged.disputed, workers: judged.workers };
}
