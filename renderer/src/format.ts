/** Formatting for the UI: numbers, bytes, durations (amounts of TON: money.ts). */

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** 12,345 */
export function formatInteger(value: number): string {
  return integer.format(value);
}

const BYTE_UNITS = ['KB', 'MB', 'GB', 'TB'] as const;
const bytesNumber = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 });

/** The unit a size is written in: the largest of KB, MB, GB, TB (of 1024) it reaches. */
function unitOf(bytes: number): number {
  let index = 0;
  while (index < BYTE_UNITS.length - 1 && bytes >= 1024 ** (index + 2)) index++;
  return index;
}

/** One way to write every size in the app, in the units the OS uses: "459 KB", "6.3 MB", "23.5 GB". */
export function formatBytes(bytes: number): string {
  const index = unitOf(bytes);
  return `${bytesNumber.format(Math.max(bytes, 1024) / 1024 ** (index + 1))} ${BYTE_UNITS[index]}`;
}

/** A part of a whole in the whole's unit, so the two read alike: "0.45 of 24 GB", "5.1 of 12 GB". */
export function formatBytesOf(part: number, whole: number): string {
  const index = unitOf(whole);
  return `${bytesNumber.format(part / 1024 ** (index + 1))} of ${bytesNumber.format(whole / 1024 ** (index + 1))} ${BYTE_UNITS[index]}`;
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


/** The first and last characters of a long id or address. */
export function shorten(text: string, keep = 6): string {
  return text.length <= keep * 2 + 1 ? text : `${text.slice(0, keep)}…${text.slice(-keep)}`;
}
