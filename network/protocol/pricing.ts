/**
 * Prices and metering in exact nanotons (bigint, never floats): what a client pays for a job,
 * what the worker earns, and what the coordinator keeps as its published commission.
 */
import { z } from 'zod';
import { MAX_CONTEXT_TOKENS } from './job-schemas.js';

/** Nanotons in one TON. */
export const NANOTONS_PER_TON = 1_000_000_000n;

/** Highest list price of one million tokens: 1,000,000 TON (a bound, so costs can never overflow). */
export const MAX_PRICE_PER_MILLION = 1_000_000n * NANOTONS_PER_TON;
/** Most tokens one job can be billed for, per kind (the largest context a model may announce). */
export const MAX_BILLED_TOKENS = MAX_CONTEXT_TOKENS;
/** Highest price coefficient a worker may ask (10× list price), and the lowest (0.1×). */
export const MAX_COEFFICIENT = 10;
export const MIN_COEFFICIENT = 0.1;
/**
 * Most one job can cost: both token kinds at their bound, at the highest price and coefficient.
 * About 2.1e16 nanotons, far inside SQLite's and the vault's 63-bit integers.
 */
export const MAX_JOB_NANOTONS = (2n * BigInt(MAX_BILLED_TOKENS) * MAX_PRICE_PER_MILLION * BigInt(MAX_COEFFICIENT)) / 1_000_000n;

const nanotons = z
  .union([z.string().regex(/^(0|[1-9]\d{0,20})$/), z.bigint()])
  .transform((v) => BigInt(v))
  .pipe(z.bigint().min(0n).max(MAX_PRICE_PER_MILLION));

/** A model's list price: nanotons per one million prompt and completion tokens. */
export const modelPriceSchema = z.strictObject({ promptPerMillion: nanotons, completionPerMillion: nanotons });
export type ModelPrice = z.output<typeof modelPriceSchema>;

/** The coordinator's price list, as published at GET /v1/pricing. */
export const priceListSchema = z.strictObject({
  /** Price of any model not listed. */
  default: modelPriceSchema,
  models: z.record(z.string(), modelPriceSchema).default({}),
  /** The coordinator's cut of every job, in basis points (100 = 1 %). */
  commissionBps: z.number().int().min(0).max(10_000),
});
export type PriceList = z.output<typeof priceListSchema>;

/** A price list as it travels in JSON (nanotons as decimal strings); parse with priceListSchema. */
export interface PriceListWire {
  default: { promptPerMillion: string; completionPerMillion: string };
  models: Record<string, { promptPerMillion: string; completionPerMillion: string }>;
  commissionBps: number;
}

/** The JSON form of a price list (bigints as decimal strings). */
export function priceListToWire(list: PriceList): PriceListWire {
  const price = (p: ModelPrice) => ({ promptPerMillion: p.promptPerMillion.toString(), completionPerMillion: p.completionPerMillion.toString() });
  return { default: price(list.default), models: Object.fromEntries(Object.entries(list.models).map(([id, p]) => [id, price(p)])), commissionBps: list.commissionBps };
}

/** A default price list: 0.01 TON per 1M prompt tokens, 0.03 TON per 1M completion tokens, 10 %. */
export const DEFAULT_PRICE_LIST: PriceList = {
  default: { promptPerMillion: 10_000_000n, completionPerMillion: 30_000_000n },
  models: {},
  commissionBps: 1000,
};

/** A worker's price coefficient (1.0 = list price) as an exact integer in thousandths. */
export function coefficientMilli(coefficient: number): bigint {
  if (!(coefficient >= MIN_COEFFICIENT && coefficient <= MAX_COEFFICIENT)) throw new RangeError(`A price coefficient must be between ${MIN_COEFFICIENT} and ${MAX_COEFFICIENT} (got ${coefficient}).`);
  return BigInt(Math.round(coefficient * 1000));
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** The price of `model` in a list. */
export function priceOf(list: PriceList, model: string): ModelPrice {
  return list.models[model] ?? list.default;
}

/** What a job costs the client: rounded up to the next nanoton. */
export function jobCost(price: ModelPrice, usage: { promptTokens: number; completionTokens: number }, coefficient: number): bigint {
  for (const n of [usage.promptTokens, usage.completionTokens]) {
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_BILLED_TOKENS) throw new RangeError(`A billed token count must be a whole number from 0 to ${MAX_BILLED_TOKENS} (got ${n}).`);
  }
  const raw = BigInt(usage.promptTokens) * price.promptPerMillion + BigInt(usage.completionTokens) * price.completionPerMillion;
  return ceilDiv(raw * coefficientMilli(coefficient), 1_000_000n * 1000n);
}

/** Splits a cost between the worker (rounded down) and the coordinator (the rest). */
export function splitCost(cost: bigint, commissionBps: number): { worker: bigint; coordinator: bigint } {
  const worker = (cost * BigInt(10_000 - commissionBps)) / 10_000n;
  return { worker, coordinator: cost - worker };
}

/** Formats nanotons as TON with up to 9 decimals ("1.5", "0.000000001"). */
export function formatTon(value: bigint): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / NANOTONS_PER_TON;
  const fraction = (abs % NANOTONS_PER_TON).toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
