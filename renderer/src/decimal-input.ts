/**
 * Numbers as people type them: "0,30" and "0.30" alike, "1.234,5" in German and "1,234.5" in
 * English, spaces as thousands separators. The form keeps what was typed; this turns it into
 * the dot-decimal string the worker stores, or null when it is not a number.
 */

/** The decimal and grouping separators of a locale ("." and "," in en-US). */
export function separators(locale?: string): { decimal: string; group: string } {
  const parts = new Intl.NumberFormat(locale).formatToParts(12345.6);
  return { decimal: parts.find((part) => part.type === 'decimal')?.value ?? '.', group: parts.find((part) => part.type === 'group')?.value ?? ',' };
}

/** What was typed as a plain decimal string ("0.30", "1234.5"), or null when it is not a non-negative number. */
export function parseDecimal(text: string, locale?: string): string | null {
  const compact = text.trim().replace(/[\s\u00a0\u202f']/g, '');
  if (!/^\d[\d.,]*$/.test(compact) && !/^[.,]\d+$/.test(compact)) return null;
  const dots = compact.split('.').length - 1;
  const commas = compact.split(',').length - 1;
  let decimal: '.' | ',' | null = null;
  if (dots > 0 && commas > 0) decimal = compact.lastIndexOf('.') > compact.lastIndexOf(',') ? '.' : ',';
  else if (dots + commas === 1) {
    const mark = dots === 1 ? '.' : ',';
    // "1,234" is a thousand where the locale groups with commas; "0,30" is always a decimal.
    const after = compact.length - compact.indexOf(mark) - 1;
    const grouping = mark === separators(locale).group && after === 3 && !compact.startsWith('0') && !compact.startsWith(mark);
    decimal = grouping ? null : mark;
  } else if (dots > 1 || commas > 1) decimal = null;
  const group = decimal === '.' ? ',' : decimal === ',' ? '.' : dots > 0 ? '.' : ',';
  const [grouped = '', ...rest] = compact.split(decimal ?? '\u0000');
  // Grouped digits come in threes ("1,234,567"): "1..2" or "12,34" is not a number.
  const groups = grouped.split(group);
  if (groups.slice(1).some((part) => !/^\d{3}$/.test(part)) || (groups.length > 1 && groups[0] === '')) return null;
  const [whole = '', fraction, extra] = [groups.join(''), ...rest];
  if (extra !== undefined || (decimal && (fraction === undefined || fraction === ''))) return null;
  const wholeDigits = whole === '' ? '0' : whole.replace(/^0+(?=\d)/, '');
  if (!/^\d+$/.test(wholeDigits) || (fraction !== undefined && !/^\d+$/.test(fraction))) return null;
  return fraction === undefined ? wholeDigits : `${wholeDigits}.${fraction}`;
}

/** What was typed as a number, or null (for the integer and decimal fields of Settings). */
export function parseNumber(text: string, locale?: string): number | null {
  const decimal = parseDecimal(text, locale);
  return decimal === null ? null : Number(decimal);
}
