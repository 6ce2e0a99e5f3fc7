/**
 * Prices and metering in exact nanotons (bigint, never floats): what a client pays for a job,
 * what the worker earns, and what the coordinator keeps as its published commission.
 */
import { z } from 'zod';

/** Nanotons in one TON. */
export const NANOTONS_PER_TON = 1_000_000_000n;

const nanotons = z.union([z.string().regex(/^(0|[1-9]\d*)$/), z.bigint()]).transform((v) => BigInt(v));

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

/** A default price list: 0.01 TON per 1M prompt tokens, 0.03 TON per 1M completion tokens, 10 %. */
export const DEFAULT_PRICE_LIST: PriceList = {
  default: { promptPerMillion: 10_000_000n, completionPerMillion: 30_000_000n },
  models: {},
  commissionBps: 1000,
};

/** A worker's price coefficient (1.0 = list price) as an exact integer in thousandths. */
export function coefficientMilli(coefficient: number): bigint {
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
