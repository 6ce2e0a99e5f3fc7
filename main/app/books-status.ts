/**
 * Why the worker keeps no books (no ledger), in the owner's words. The worker core opens
 * books only for a payout address and a coordinator that settles on chain (a vault and
 * a voucher key at GET /v1/pricing); this says which of the two is missing, so the Earnings
 * screen can say exactly why it shows only this session.
 */

import { ROUTES } from '../../network/protocol/http-contract.js';
import { readJsonBounded } from '../../network/node-kit/response-body.js';

/** No payout address: nothing can be vouched to, so nothing is kept. */
export const NO_PAYOUT_ADDRESS =
  'There is no payout address yet, so no earnings are kept: only this session’s jobs are shown. Set one in Wallet and your earnings are kept from then on.';

/** The coordinator pays no one on chain. */
export const NOT_ON_CHAIN =
  'This coordinator does not settle on chain (it publishes no payout vault), so there are no vouchers or payouts to keep: only this session’s jobs are shown.';

/** Said when the caller gave nothing to tell the two apart. */
export const NO_BOOKS =
  'No earnings ledger is kept: either no payout address was set when this worker started, or the coordinator does not settle on chain. Only this session’s jobs are shown.';

/** Options of explainNoBooks. */
export interface ExplainNoBooksOptions {
  /** The payout address being paid now (the books are kept for that one). */
  payoutAddress: () => string | null | undefined;
  coordinatorUrl: string;
  /** Injected in tests. */
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** How long an answer is reused (the screen asks for several lists at once). */
  cacheMs?: number;
  now?: () => number;
}

/** Returns a function that says why there are no books right now (asks the coordinator at most once per `cacheMs`). */
export function explainNoBooks(options: ExplainNoBooksOptions): () => Promise<string> {
  const now = options.now ?? Date.now;
  const cacheMs = options.cacheMs ?? 10_000;
  let cached: { at: number; answer: Promise<string> } | undefined;
  return () => {
    if (!options.payoutAddress()) return Promise.resolve(NO_PAYOUT_ADDRESS);
    if (!cached || now() - cached.at > cacheMs) cached = { at: now(), answer: askCoordinator(options) };
    return cached.answer;
  };
}

async function askCoordinator(options: ExplainNoBooksOptions): Promise<string> {
  const url = new URL(ROUTES.pricing, options.coordinatorUrl.replace(/^ws/, 'http'));
  try {
    const response = await (options.fetch ?? fetch)(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 3000) });
    if (!response.ok) return unreachable(url, `it answered HTTP ${response.status}`);
    const pricing = (await readJsonBounded(response, 64 * 1024)) as { vault?: unknown; voucher_public_key?: unknown } | null;
    if (!pricing?.vault || !pricing.voucher_public_key) return NOT_ON_CHAIN;
    return 'The coordinator settles on chain, but the earnings books are not open yet: they open once the worker is connected with this payout address. If this stays, see Diagnostics → Logs.';
  } catch (error) {
    return unreachable(url, error instanceof Error ? error.message : String(error));
  }
}

function unreachable(url: URL, why: string): string {
  return `The coordinator at ${url.host} cannot be asked whether it settles on chain (${why}), so the earnings ledger is not open: only this session’s jobs are shown.`;
}
