/**
 * The owner's electricity, as the Settings screen takes it: a price per kWh in their own
 * currency, what one TON costs in that currency, and optionally the watts the PC draws while
 * serving. Converted exactly (decimal strings → bigint nanotons per kWh, rounded to the nearest
 * nanoton) for the month forecast. No exchange rate is fetched: the owner types the one they use.
 */
import { z } from 'zod';
import type { ElectricitySettings } from './forecast.js';

const decimal = (what: string) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,9}(\.\d{1,9})?$/, `${what} must be a number such as 0.25 (a dot for decimals, at most 9 decimals)`);

/** What the owner enters (and the app settings file keeps). */
export const electricityInputSchema = z.strictObject({
  pricePerKwh: decimal('The price per kWh'),
  currency: z.string().trim().min(1, 'Name the currency (EUR, USD …)').max(8).regex(/^[\p{L}$€£¥₽₹₩₺ ]+$/u, 'The currency is a code or symbol such as EUR or €'),
  tonPrice: decimal('The price of 1 TON').refine((text) => /[1-9]/.test(text), 'The price of 1 TON cannot be 0'),
  /** Watts while serving; null = use the GPU's measured draw. */
  watts: z.number().int().min(1).max(5000).nullable(),
});

/** The owner's electricity input. */
export type ElectricityInput = z.infer<typeof electricityInputSchema>;

/** A decimal string as an integer count of 10⁻⁹ units. */
function toNano(text: string): bigint {
  const [whole = '0', fraction = ''] = text.split('.');
  return BigInt(whole) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'));
}

/** The price of a kWh in nanotons: pricePerKwh ÷ tonPrice TON, rounded to the nearest nanoton. */
export function nanotonsPerKwh(input: Pick<ElectricityInput, 'pricePerKwh' | 'tonPrice'>): bigint {
  const price = toNano(input.pricePerKwh);
  const ton = toNano(input.tonPrice);
  return (price * 1_000_000_000n * 2n + ton) / (2n * ton);
}

/**
 * The forecast's electricity: the owner's watts when given, else the GPU's measured draw; null
 * when nothing is set or no draw is known (the forecast is then gross, and says so).
 */
export function electricityFor(input: ElectricityInput | undefined, measuredWatts: number | null): ElectricitySettings | undefined {
  if (!input) return undefined;
  if (input.watts !== null) return { nanotonsPerKwh: nanotonsPerKwh(input), watts: input.watts, wattsSource: 'estimated' };
  if (measuredWatts === null || !(measuredWatts > 0)) return undefined;
  return { nanotonsPerKwh: nanotonsPerKwh(input), watts: Math.round(measuredWatts), wattsSource: 'measured' };
}
