/** Calendar days as the ledger keys them: the owner's local date, `YYYY-MM-DD`. */

/** Maps a unix-ms instant to its day key; injectable so tests do not depend on the machine's zone. */
export type DayOf = (ms: number) => string;

/** The local calendar day of `ms` (the machine's time zone), e.g. `2026-03-14`. */
export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The UTC calendar day of `ms`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The day key `offset` calendar days after `day` (negative: before). */
export function addDays(day: string, offset: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + offset)).toISOString().slice(0, 10);
}

/** Number of days in the month of `day`. */
export function daysInMonth(day: string): number {
  const [y, m] = day.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
