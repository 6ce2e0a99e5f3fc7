/** Formatting for the UI: numbers, bytes, durations, TON amounts (from nanoton strings). */

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** 12,345 */
export function formatInteger(value: number): string {
  return integer.format(value);
}

/** 512 KB, 4.1 GB */
export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

/** 45 s, 12 min, 3 h 5 min */
export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

/** "just now", "5 min ago" */
export function formatAgo(at: number, now = Date.now()): string {
  const ms = Math.max(0, now - at);
  return ms < 10_000 ? 'just now' : `${formatDuration(ms)} ago`;
}

/** Nanotons (decimal string) as TON with up to 9 decimals, trailing zeros dropped: "0.000000531". */
export function formatTon(nanotons: string): string {
  const digits = nanotons.replace(/^0+/, '') || '0';
  const whole = digits.length > 9 ? digits.slice(0, -9) : '0';
  const fraction = digits.padStart(9, '0').slice(-9).replace(/0+$/, '');
  return `${integer.format(Number(whole))}${fraction ? `.${fraction}` : ''}`;
}

/** The first and last characters of a long id or address. */
export function shorten(text: string, keep = 6): string {
  return text.length <= keep * 2 + 1 ? text : `${text.slice(0, keep)}…${text.slice(-keep)}`;
}
