/**
 * The month forecast, net of electricity. Earnings and GPU busy time are projected from the
 * average of the last (up to) 7 full days; electricity is the owner's price per kWh times the
 * measured or estimated GPU watts over the busy time. All money is bigint nanotons.
 */
import { addDays, daysInMonth } from '../ledger/days.js';
import type { DayTotals } from '../ledger/totals.js';

/** What electricity costs the owner while the GPU serves jobs. */
export interface ElectricitySettings {
  /** The owner's price of one kWh, converted to nanotons (the UI does the currency conversion). */
  nanotonsPerKwh: bigint;
  /** GPU (or whole-PC) draw while serving. */
  watts: number;
  /** Whether `watts` was measured (NVML, a power meter) or estimated from the GPU model. */
  wattsSource: 'measured' | 'estimated';
}

/** The forecast for the month of `today`. */
export interface MonthForecast {
  month: string;
  daysInMonth: number;
  /** Days of the month up to and including today. */
  dayOfMonth: number;
  earnedSoFarNanotons: bigint;
  /** Average per full day over the basis days (0 when there is no history yet). */
  dailyAverageNanotons: bigint;
  /** How many full days the average is over (0 to 7). */
  basisDays: number;
  projectedGrossNanotons: bigint;
  projectedBusyMs: number;
  electricityNanotons: bigint;
  projectedNetNanotons: bigint;
  wattsSource: ElectricitySettings['wattsSource'];
}

const BASIS_DAYS = 7;
/** mW·ms in one kWh: 1,000,000 mW × 3,600,000 ms. */
const MILLIWATT_MS_PER_KWH = 3_600_000_000_000n;

/**
 * Projects the month of `today`. `days` must hold the rollup rows from the earlier of the month's
 * first day and `today` − 7 up to today; `firstDay` is the first day the ledger has any job.
 */
export function monthForecast(input: { today: string; days: readonly DayTotals[]; firstDay: string | null; electricity: ElectricitySettings }): MonthForecast {
  const { today, days, electricity } = input;
  const monthStart = `${today.slice(0, 8)}01`;
  const dayOfMonth = Number(today.slice(8, 10));
  const length = daysInMonth(today);
  const inMonth = days.filter((d) => d.day >= monthStart && d.day < today);
  const todays = days.find((d) => d.day === today);
  // Only full days since the worker started count, so a new worker is not averaged over empty days.
  const basisStart = addDays(today, -BASIS_DAYS);
  const firstFull = input.firstDay && input.firstDay > basisStart ? input.firstDay : basisStart;
  const basisDays = input.firstDay && input.firstDay < today ? dayCount(firstFull, addDays(today, -1)) : 0;
  const basis = days.filter((d) => d.day >= firstFull && d.day < today);
  const avgEarned = basisDays > 0 ? sum(basis, (d) => d.earnedNanotons) / BigInt(basisDays) : 0n;
  const avgBusy = basisDays > 0 ? Math.round(basis.reduce((t, d) => t + d.busyMs, 0) / basisDays) : 0;
  const daysAfterToday = BigInt(length - dayOfMonth);

  const todayEarned = todays?.earnedNanotons ?? 0n;
  const earnedBefore = sum(inMonth, (d) => d.earnedNanotons);
  // Today ends at least where it is now, and probably at the average.
  const gross = earnedBefore + max(todayEarned, avgEarned) + avgEarned * daysAfterToday;
  const busyMs = inMonth.reduce((t, d) => t + d.busyMs, 0) + Math.max(todays?.busyMs ?? 0, avgBusy) + avgBusy * Number(daysAfterToday);
  const milliwatts = BigInt(Math.max(0, Math.round(electricity.watts * 1000)));
  const electricityCost = (BigInt(busyMs) * milliwatts * electricity.nanotonsPerKwh) / MILLIWATT_MS_PER_KWH;
  return {
    month: today.slice(0, 7),
    daysInMonth: length,
    dayOfMonth,
    earnedSoFarNanotons: earnedBefore + todayEarned,
    dailyAverageNanotons: avgEarned,
    basisDays,
    projectedGrossNanotons: gross,
    projectedBusyMs: busyMs,
    electricityNanotons: electricityCost,
    projectedNetNanotons: gross - electricityCost,
    wattsSource: electricity.wattsSource,
  };
}

function sum(days: readonly DayTotals[], pick: (d: DayTotals) => bigint): bigint {
  return days.reduce((total, d) => total + pick(d), 0n);
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

// Days from `from` to `to` inclusive (day keys).
function dayCount(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;
}
