/**
 * Amounts a person can read: TON with sensible precision (two decimals from 1 TON up, four
 * below, "< 0.0001" for dust — never a run of zeros), and the same amount in the owner's
 * currency when a rate is known (docs/design.md, Money). Nanotons arrive as decimal strings and
 * are rounded as decimals (bigint), so no float ever decides a digit. `formatTonExact` is for
 * the Advanced tables, where every nanoton counts.
 */

/** The rate shown beside TON: one TON costs `perTon` (a decimal string) of `currency`. */
export interface FiatRate {
  currency: string;
  perTon: string;
}

const NANO = 1_000_000_000n;

/** A decimal string → [integer of units × 10^scale, scale]. */
function scaled(text: string): { units: bigint; scale: number } {
  const [whole = '0', fraction = ''] = text.trim().split('.');
  return { units: BigInt(`${whole}${fraction}` || '0'), scale: fraction.length };
}

/** `value / 10^scale` rounded half away from zero to `decimals` places, as a decimal string. */
function roundTo(value: bigint, scale: number, decimals: number): string {
  const negative = value < 0n;
  let magnitude = negative ? -value : value;
  if (scale > decimals) {
    const divisor = 10n ** BigInt(scale - decimals);
    magnitude = (magnitude + divisor / 2n) / divisor;
  } else {
    magnitude *= 10n ** BigInt(decimals - scale);
  }
  const digits = magnitude.toString().padStart(decimals + 1, '0');
  const text = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  return negative && magnitude !== 0n ? `-${text}` : text;
}

/** Formats a decimal string (exact: Intl reads strings as decimals) with grouping for the locale. */
function localized(decimal: string, locale: string | undefined, minDecimals: number, maxDecimals: number, style?: { currency: string }): string {
  const format = new Intl.NumberFormat(locale, { minimumFractionDigits: minDecimals, maximumFractionDigits: maxDecimals, ...(style ? { style: 'currency', currency: style.currency } : {}) });
  return format.format(decimal as unknown as number);
}

/** The smallest amount shown as a number; below it, "< 0.0001". */
const DUST_DECIMALS = 4;

/** Nanotons as TON for people: "1,234.57", "0.0088", "< 0.0001", "0". */
export function formatTon(nanotons: string | bigint, locale?: string): string {
  const value = typeof nanotons === 'bigint' ? nanotons : BigInt(nanotons || '0');
  if (value === 0n) return localized('0', locale, 0, 0);
  const magnitude = value < 0n ? -value : value;
  const sign = value < 0n ? '−' : '';
  if (magnitude >= NANO) return sign + localized(roundTo(magnitude, 9, 2), locale, 0, 2);
  if (magnitude < 100_000n) return `${sign}< ${localized('0.0001', locale, DUST_DECIMALS, DUST_DECIMALS)}`;
  return sign + localized(roundTo(magnitude, 9, DUST_DECIMALS), locale, 0, DUST_DECIMALS);
}

/** Nanotons as TON to the nanoton, trailing zeros dropped: "0.000008766" (the Advanced tables). */
export function formatTonExact(nanotons: string | bigint, locale?: string): string {
  const value = typeof nanotons === 'bigint' ? nanotons : BigInt(nanotons || '0');
  return localized(roundTo(value, 9, 9), locale, 0, 9);
}

/** Whether a currency is an ISO 4217 code Intl can write with its symbol (EUR → €). */
function isIsoCode(currency: string): boolean {
  if (!/^[A-Z]{3}$/.test(currency)) return false;
  try {
    new Intl.NumberFormat('en', { style: 'currency', currency });
    return true;
  } catch {
    return false;
  }
}

/** Nanotons in the owner's currency at `rate`: "€0.03", "< €0.01", "12.40 CHF". */
export function formatFiat(nanotons: string | bigint, rate: FiatRate, locale?: string): string {
  const value = typeof nanotons === 'bigint' ? nanotons : BigInt(nanotons || '0');
  const price = scaled(rate.perTon);
  // value × perTon / 10^9, kept exact: units at scale 9 + price.scale.
  const product = value * price.units;
  const scale = 9 + price.scale;
  const currency = rate.currency.trim();
  const write = (decimal: string) => (isIsoCode(currency) ? localized(decimal, locale, 2, 2, { currency }) : `${localized(decimal, locale, 2, 2)} ${currency}`);
  const cent = 10n ** BigInt(scale - 2);
  if (product !== 0n && (product < 0n ? -product : product) < cent / 2n) return `< ${write('0.01')}`;
  return write(roundTo(product, scale, 2));
}

/** TON and, with a rate, the owner's currency: { ton: "0.0088 TON", fiat: "≈ €0.03" }. */
export function money(nanotons: string | bigint, rate: FiatRate | null, locale?: string): { ton: string; fiat: string | null } {
  return { ton: `${formatTon(nanotons, locale)} TON`, fiat: rate ? `≈ ${formatFiat(nanotons, rate, locale)}` : null };
}
