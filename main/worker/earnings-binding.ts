/**
 * Connects the worker to its own books: each job receipt from the coordinator is credited to
 * the ledger and its voucher checked; a chain watcher (when a toncenter endpoint is set)
 * matches payouts; the earnings service answers the UI and cashes out.
 */
import { join } from 'node:path';
import { TonClient } from '@ton/ton';
import { Ledger } from '../ledger/ledger.js';
import { ChainWatcher } from '../chain/chain-watcher.js';
import { EarningsService, type CashOutChain } from '../earnings/earnings-service.js';
import type { JobReceipt, Worker } from './worker.js';
import { checkReceipt } from '../earnings/receipt-check.js';
import type { Logger } from '../log.js';

/** The worker's books, once they can be kept. */
export interface Books {
  ledger: Ledger;
  earnings: EarningsService;
  watcher: ChainWatcher | undefined;
  /** Credits a receipt and stores its voucher; resolves once both are on disk. */
  record(receipt: JobReceipt): Promise<void>;
  close(): void;
}

/** Options of attachBooks. */
export interface BooksOptions {
  dataDir: string;
  payoutAddress: string;
  /** A toncenter v2 base URL (`silkworm chain` locally); without one, payouts are not followed. */
  chainUrl?: string;
  chainApiKey?: string;
  /** The owner's wallet, for Cash out (a local wallet; TON Connect has no key here). */
  cashOut?: Omit<CashOutChain, 'client'>;
  logger: Logger;
}

/**
 * Opens the ledger when it can be kept — a payout address, and a coordinator that settles on
 * chain (its welcome names the vault and voucher key) — and credits every receipt through
 * `record`. Call once the worker is connected. Resolves undefined, with the reason logged, when
 * the books cannot be kept.
 */
export async function attachBooks(worker: Worker, options: BooksOptions): Promise<Books | undefined> {
  const { logger } = options;
  const settlement = worker.terms?.settlement;
  if (!settlement) {
    logger.info('the coordinator does not settle on chain (no vault): no ledger kept');
    return undefined;
  }
  const ledger = Ledger.open({
    path: join(options.dataDir, 'ledger.sqlite'),
    identity: { coordinatorPublicKey: settlement.voucherPublicKey, vault: settlement.vault, payoutAddress: options.payoutAddress },
    logger,
  });
  const client = options.chainUrl ? new TonClient({ endpoint: `${options.chainUrl.replace(/\/$/, '')}/jsonRPC`, ...(options.chainApiKey ? { apiKey: options.chainApiKey } : {}) }) : undefined;
  const watcher = client ? new ChainWatcher({ client, ledger, logger }) : undefined;
  watcher?.start();
  const earnings = new EarningsService({ ledger, logger, ...(client && options.cashOut ? { chain: { client, ...options.cashOut } } : {}) });
  // The GPU time of each job, for the electricity estimate; the receipt follows the job's end.
  const durations = new Map<string, number>();
  const onEnded = ({ jobId, durationMs }: { jobId: string; durationMs: number }) => {
    durations.set(jobId, Math.round(durationMs));
    if (durations.size > 1000) durations.delete(durations.keys().next().value as string);
  };
  worker.on('job-ended', onEnded);
  const record = async (receipt: JobReceipt) => {
    const durationMs = durations.get(receipt.jobId) ?? 0;
    durations.delete(receipt.jobId);
    // The coordinator's word is checked too: its arithmetic, and the tokens against our own count.
    const pricing = worker.terms?.pricing;
    const own = worker.ownUsage(receipt.jobId);
    const verdict = pricing ? checkReceipt(receipt, pricing, own) : { ok: true as const };
    await ledger.creditJob({
      jobId: receipt.jobId,
      model: receipt.model,
      finishedAt: Date.now(),
      durationMs,
      promptTokens: receipt.usage.promptTokens,
      completionTokens: receipt.usage.completionTokens,
      earnedNanotons: BigInt(receipt.earnedNanotons),
    });
    if (receipt.voucher) ledger.recordVoucher(receipt.voucher, { jobIds: [receipt.jobId] });
    if (!verdict.ok) ledger.flagReceipt(receipt.jobId, verdict.code, verdict.message, verdict.shortfallNanotons);
  };
  return {
    ledger,
    earnings,
    watcher,
    record,
    close() {
      worker.off('job-ended', onEnded);
      watcher?.stop();
      ledger.close();
    },
  };
}
