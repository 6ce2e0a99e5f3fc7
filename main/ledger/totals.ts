/**
 * Read-side totals for the earnings screen, from the per-day rollup (a few rows per day) and
 * the covering time index, so they stay in the low milliseconds at a million jobs.
 */
import type { Statement } from 'better-sqlite3';
import type { LedgerDb } from './db.js';

/** Totals over a set of jobs. Amounts are nanotons. */
export interface JobTotals {
  jobs: number;
  promptTokens: number;
  completionTokens: number;
  earnedNanotons: bigint;
  /** GPU busy time, ms. */
  busyMs: number;
}

/** Totals of one calendar day. */
export interface DayTotals extends JobTotals {
  day: string;
}

/** Totals of one model over a period. */
export interface ModelTotals extends JobTotals {
  model: string;
}

interface TotalsRow {
  jobs: bigint | null;
  prompt_tokens: bigint | null;
  completion_tokens: bigint | null;
  earned_nanotons: bigint | null;
  busy_ms: bigint | null;
}

const SUMS = `SUM(jobs) AS jobs, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,
  SUM(earned_nanotons) AS earned_nanotons, SUM(busy_ms) AS busy_ms`;

/** Read-only queries over the rollup; statements are prepared once. */
export class TotalsQueries {
  private readonly byDay: Statement;
  private readonly byModel: Statement;
  private readonly range: Statement;
  private readonly since: Statement;
  private readonly first: Statement;
  private readonly earnings: Statement;

  constructor(db: LedgerDb) {
    this.byDay = db.prepare(`SELECT day, ${SUMS} FROM daily_earnings WHERE day BETWEEN ? AND ? GROUP BY day ORDER BY day`);
    this.byModel = db.prepare(`SELECT model, ${SUMS} FROM daily_earnings WHERE day BETWEEN ? AND ? GROUP BY model ORDER BY SUM(earned_nanotons) DESC, model`);
    this.range = db.prepare(`SELECT ${SUMS} FROM daily_earnings WHERE day BETWEEN ? AND ?`);
    this.first = db.prepare('SELECT MIN(day) AS day FROM daily_earnings');
    this.since = db.prepare('SELECT COUNT(*) AS jobs, SUM(earned_nanotons) AS earned FROM jobs WHERE finished_at >= ?');
    this.earnings = db.prepare('SELECT finished_at, earned_nanotons FROM jobs WHERE finished_at >= ? ORDER BY finished_at');
  }

  /** Per-day totals for the days from `fromDay` to `toDay` inclusive that have jobs. */
  days(fromDay: string, toDay: string): DayTotals[] {
    return (this.byDay.all(fromDay, toDay) as (TotalsRow & { day: string })[]).map((row) => ({ day: row.day, ...toTotals(row) }));
  }

  /** Per-model totals over the days from `fromDay` to `toDay` inclusive. */
  models(fromDay: string, toDay: string): ModelTotals[] {
    return (this.byModel.all(fromDay, toDay) as (TotalsRow & { model: string })[]).map((row) => ({ model: row.model, ...toTotals(row) }));
  }

  /** Totals over the days from `fromDay` to `toDay` inclusive ('0000-00-00'..'9999-99-99' for all time). */
  total(fromDay: string, toDay: string): JobTotals {
    return toTotals(this.range.get(fromDay, toDay) as TotalsRow);
  }

  /** The first day with any job, or null for an empty ledger. */
  firstDay(): string | null {
    return (this.first.get() as { day: string | null }).day;
  }

  /** Each job's end and earnings since `ms` (unix ms), oldest first, from the covering time index (today's chart by hour). */
  earningsSince(ms: number): { finishedAt: number; earnedNanotons: bigint }[] {
    return (this.earnings.all(ms) as { finished_at: bigint; earned_nanotons: bigint }[]).map((row) => ({ finishedAt: Number(row.finished_at), earnedNanotons: row.earned_nanotons }));
  }

  /** Jobs and nanotons earned since `ms` (unix ms), from the covering time index. */
  earnedSince(ms: number): { jobs: number; earnedNanotons: bigint } {
    const row = this.since.get(ms) as { jobs: bigint; earned: bigint | null };
    return { jobs: Number(row.jobs), earnedNanotons: row.earned ?? 0n };
  }
}

function toTotals(row: TotalsRow): JobTotals {
  return {
    jobs: Number(row.jobs ?? 0n),
    promptTokens: Number(row.prompt_tokens ?? 0n),
    completionTokens: Number(row.completion_tokens ?? 0n),
    earnedNanotons: row.earned_nanotons ?? 0n,
    busyMs: Number(row.busy_ms ?? 0n),
  };
}
