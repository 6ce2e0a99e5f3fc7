/**
 * What one TON is worth in the owner's currency, for showing amounts beside TON: the price the
 * owner typed (Settings → Electricity: "Price of 1 TON in EUR"), else a rate the coordinator
 * publishes (`GET /v1/pricing` → `ton_price: { currency, price }`), else none — TON only.
 * No exchange is asked behind the owner's back: only their own coordinator.
 */
import type { ElectricityInput } from '../earnings/electricity.js';
import type { FiatRateView } from '../ipc/views.js';
import { ROUTES } from '../../network/protocol/http-contract.js';
import { readJsonBounded } from '../../network/node-kit/response-body.js';

/** Options of fiatRate. */
export interface FiatRateOptions {
  coordinatorUrl: string;
  fetch?: typeof fetch;
  /** How long the coordinator's answer is reused. */
  cacheMs?: number;
  now?: () => number;
}

const DECIMAL = /^\d{1,9}(\.\d{1,9})?$/;

/** Returns the rate lookup: the owner's price wins; the coordinator is asked at most once per `cacheMs`. */
export function fiatRate(options: FiatRateOptions): (owner: ElectricityInput | null | undefined) => Promise<FiatRateView | null> {
  const now = options.now ?? Date.now;
  const cacheMs = options.cacheMs ?? 10 * 60_000;
  let cached: { at: number; rate: Promise<FiatRateView | null> } | undefined;
  const published = (): Promise<FiatRateView | null> => {
    if (!cached || now() - cached.at > cacheMs) cached = { at: now(), rate: askCoordinator(options) };
    return cached.rate;
  };
  return async (owner) => {
    if (owner && DECIMAL.test(owner.tonPrice.trim()) && /[1-9]/.test(owner.tonPrice)) return { currency: owner.currency.trim(), perTon: owner.tonPrice.trim(), source: 'owner' };
    return published();
  };
}

async function askCoordinator(options: FiatRateOptions): Promise<FiatRateView | null> {
  try {
    const url = new URL(ROUTES.pricing, options.coordinatorUrl.replace(/^ws/, 'http'));
    const response = await (options.fetch ?? fetch)(url, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) return null;
    const body = (await readJsonBounded(response, 64 * 1024)) as { ton_price?: { currency?: unknown; price?: unknown } | null } | null;
    const { currency, price } = body?.ton_price ?? {};
    if (typeof currency !== 'string' || !/^[\p{L}$€£¥₽₹₩₺ ]{1,8}$/u.test(currency) || typeof price !== 'string' || !DECIMAL.test(price) || !/[1-9]/.test(price)) return null;
    return { currency, perTon: price, source: 'coordinator' };
  } catch {
    return null;
  }
}
