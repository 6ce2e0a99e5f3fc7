/**
 * Weekly windows in local wall-clock time: is a moment inside one, when does it end, when
 * does the next one start. Pure; windows may cross midnight (22:00–02:00).
 */
import { WEEKDAYS, type TimeWindow, type Weekday } from './settings.js';

/** A moment as the owner's wall clock shows it. */
export interface LocalTime {
  /** 0 = Sunday … 6 = Saturday. */
  day: number;
  /** Minutes since local midnight, 0–1439. */
  minute: number;
}

const MINUTES_PER_DAY = 24 * 60;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The local day and minute of an instant, in `timeZone` or the system's zone when null. */
export function localTime(now: number, timeZone: string | null): LocalTime {
  if (timeZone === null) {
    const date = new Date(now);
    return { day: date.getDay(), minute: date.getHours() * 60 + date.getMinutes() };
  }
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, formatter);
  }
  const parts = Object.fromEntries(formatter.formatToParts(new Date(now)).map((part) => [part.type, part.value]));
  const day = WEEKDAYS.indexOf(String(parts.weekday).toLowerCase().slice(0, 3) as Weekday);
  return { day, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** "HH:MM" → minutes since midnight (24:00 → 1440). */
export function parseClockTime(value: string): number {
  const [hours, minutes] = value.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

/** Minutes since midnight → "HH:MM". */
export function formatClockTime(minute: number): string {
  const wrapped = ((minute % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  return `${String(Math.floor(wrapped / 60)).padStart(2, '0')}:${String(wrapped % 60).padStart(2, '0')}`;
}

/** Each occurrence of a window in one week, as [start, end) minutes from Sunday 00:00 (end may pass the week's end). */
function occurrences(window: TimeWindow): Array<[number, number]> {
  const start = parseClockTime(window.start);
  const end = parseClockTime(window.end);
  const length = end > start ? end - start : end + MINUTES_PER_DAY - start;
  return window.days.map((day) => {
    const from = WEEKDAYS.indexOf(day) * MINUTES_PER_DAY + start;
    return [from, from + length];
  });
}

/** The window occurrence containing `at`, as minutes until it ends; null when outside all windows. */
export function activeWindow(windows: readonly TimeWindow[], at: LocalTime): { window: TimeWindow; minutesLeft: number } | null {
  const t = at.day * MINUTES_PER_DAY + at.minute;
  for (const window of windows) {
    for (const [from, to] of occurrences(window)) {
      // An occurrence late on Saturday spills into Sunday: also test it one week earlier.
      for (const shift of [0, -MINUTES_PER_WEEK]) {
        if (t >= from + shift && t < to + shift) return { window, minutesLeft: to + shift - t };
      }
    }
  }
  return null;
}

/** When the next window starts after `at`, as weekday and clock time; null when there are no windows. */
export function nextWindowStart(windows: readonly TimeWindow[], at: LocalTime): { day: Weekday; time: string; minutesAway: number } | null {
  const t = at.day * MINUTES_PER_DAY + at.minute;
  let best: { from: number; away: number } | null = null;
  for (const window of windows) {
    for (const [from] of occurrences(window)) {
      const away = (((from - t) % MINUTES_PER_WEEK) + MINUTES_PER_WEEK) % MINUTES_PER_WEEK || MINUTES_PER_WEEK;
      if (!best || away < best.away) best = { from, away };
    }
  }
  if (!best) return null;
  return { day: WEEKDAYS[Math.floor(best.from / MINUTES_PER_DAY)] ?? 'sun', time: formatClockTime(best.from), minutesAway: best.away };
}
