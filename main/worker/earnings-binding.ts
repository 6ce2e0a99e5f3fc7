/**
 * Connects the worker to its own books: each job receipt from the coordinator is credited to
 * the ledger and its voucher checked; a chain watcher (when a toncenter endpoint is set)
 * matches payouts; the earnings service answers the UI and cashes out.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Address } from '@ton/core';
import { createTonClient } from '../../network/node-kit/ton-client.js';
import { Ledger, type JobCredit, type VaultTerms } from '../ledger/ledger.js';
import { checkJob } from '../ledger/jobs.js';
import { ChainWatcher } from '../chain/chain-watcher.js';
import { knowPayoutAccount, lookUpPayoutAccount } from '../chain/payout-account.js';
import { knowVaultTerms, lookUpVaultTerms } from '../chain/vault-terms.js';
import { EarningsService, type CashOutChain } from '../earnings/earnings-service.js';
import type { JobReceipt, Worker } from './worker.js';
import { checkReceipt } from '../earnings/receipt-check.js';
import type { Logger } from '../../network/node-kit/log.js';

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

function booksPath(dataDir: string, payoutAddress: string): string {
  return join(dataDir, 'books', `${Address.parse(payoutAddress).toRawString().replace(':', '_')}.sqlite`);
}

/**
 * Where the books of a payout address live: `books/<raw address>.sqlite` (vouchers name one
 * address, so each keeps its own). A ledger from before per-address books (`ledger.sqlite`)
 * belongs to the address the worker was started with, and is adopted by it.
 */
async function ledgerPath(dataDir: string, payoutAddress: string): Promise<string> {
  const dir = join(dataDir, 'books');
  const path = booksPath(dataDir, payoutAddress);
  const legacy = join(dataDir, 'ledger.sqlite');
  await mkdir(dir, { recursive: true });
  if (!existsSync(path) && existsSync(legacy)) {
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(legacy + suffix)) await rename(legacy + suffix, path + suffix);
  }
  return path;
}

/** Whether this data directory keeps books for `address` (kept before, under another payout address). */
export function booksExist(dataDir: string, address: string): boolean {
  try {
    return existsSync(booksPath(dataDir, address));
  } catch {
    return false; // not a TON address: `worker:<id>` while there is no payout address
  }
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
  const client = options.chainUrl ? createTonClient(options.chainUrl, { apiKey: options.chainApiKey }) : undefined;
  // Payouts come from our payout account of the vault; the vault says where it is. Without an
  // answer now, the watcher asks again before each poll and judges no payout until it has one.
  let payoutAccount: string | null | undefined;
  // The welcome's voucher key and chain are the coordinator's word; the vault checks every claim
  // against its own. Without an answer now, they are asked again before each poll, and vouchers
  // are kept meanwhile (judged again once the vault answers).
  let vaultTerms: VaultTerms | null | undefined;
  const failed = (error: unknown) => (error instanceof Error ? error.message : String(error));
  await Promise.all([
    client && lookUpPayoutAccount(client, settlement.vault, options.payoutAddress).then(
      (account) => void (payoutAccount = account),
      (error: unknown) => logger.warn({ err: failed(error) }, 'could not look up the payout account; payouts wait until it is known'),
    ),
    client && lookUpVaultTerms(client, settlement.vault).then(
      (terms) => void (vaultTerms = terms),
      (error: unknown) => logger.warn({ err: failed(error) }, 'could not read the vault\'s voucher key; vouchers are checked against it once the chain answers'),
    ),
  ]);
  if (vaultTerms === null) logger.warn('the vault on chain does not say its voucher key (not deployed?): vouchers are not checked against it');
  const ledger = Ledger.open({
    path: await ledgerPath(options.dataDir, options.payoutAddress),
    identity: {
      coordinatorPublicKey: settlement.voucherPublicKey,
      vault: settlement.vault,
      payoutAddress: options.payoutAddress,
      chainGlobalId: settlement.chainGlobalId,
      ...(payoutAccount ? { payoutAccount } : {}),
      ...(vaultTerms ? { vaultTerms } : {}),
    },
    logger,
  });
  const askAccount = client && payoutAccount === undefined ? knowPayoutAccount(client, ledger) : undefined;
  const askVault = client && vaultTerms === undefined ? knowVaultTerms(client, ledger, logger) : undefined;
  const beforePoll = askAccount || askVault ? async () => {
    await askVault?.();
    await askAccount?.();
  } : undefined;
  const watcher = client ? new ChainWatcher({ client, ledger, logger, ...(beforePoll ? { beforePoll } : {}) }) : undefined;
  watcher?.start();
  // Cash out signs with the sender given per claim (the owner's wallet), or the one set here.
  const earnings = new EarningsService({ ledger, logger, ...(client ? { client } : {}), ...(client && options.cashOut ? { chain: { client, ...options.cashOut } } : {}) });
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
    // A job the client left or timed out is billed for what reached the client: not comparable.
    const own = receipt.outcome === 'cancelled' || receipt.outcome === 'timeout' ? undefined : worker.ownUsage(receipt.jobId);
    const verdict = pricing ? checkReceipt(receipt, pricing, own) : { ok: true as const };
    const credit: JobCredit = {
      jobId: receipt.jobId,
      model: receipt.model,
      finishedAt: Date.now(),
      durationMs,
      promptTokens: receipt.usage.promptTokens,
      completionTokens: receipt.usage.completionTokens,
      earnedNanotons: BigInt(receipt.earnedNanotons),
    };
    try {
      checkJob(credit);
    } catch (error) {
      // No ledger can hold it (the wire allows more than 63 bits): kept as a flag and acknowledged,
      // so it does not hold back every receipt after it. Vouchers still pay what was signed.
      ledger.flagReceipt(receipt.jobId, 'receipt_unusable', `The receipt cannot be recorded: ${(error as Error).message} (it says ${receipt.earnedNanotons} earned).`, 0n);
      if (receipt.voucher) ledger.recordVoucher(receipt.voucher);
      return;
    }
    await ledger.creditJob(credit);
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
