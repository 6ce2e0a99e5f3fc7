/**
 * The books' rules every CoordinatorStore checks inside the transaction that writes a job's
 * money (SQLite and PostgreSQL alike): bounded amounts and token figures, charge = Σ credit costs = Σ earned +
 * commission, charge ≤ hold, each worker credited once.
 */
import { MAX_JOB_NANOTONS } from '../protocol/pricing.js';
import type { SettledJob } from './store.js';

/** Highest total an earnings account or a client balance may reach (2^62 nanotons, ~4.6e9 TON). */
export const MAX_ACCOUNT_NANOTONS = 1n << 62n;

/** Thrown when a job's books would not balance; the transaction writes nothing. */
export class BooksError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BooksError';
  }
}

/** Throws BooksError when `value` is outside 0..max. */
export function checkAmount(what: string, value: bigint, max: bigint): void {
  if (value < 0n || value > max) throw new BooksError(`${what} out of bounds: ${value} (allowed 0..${max}).`);
}

/** Highest token count or coefficient a credit may carry (PostgreSQL's INTEGER columns). */
export const MAX_CREDIT_FIGURE = 2 ** 31 - 1;

/** Throws BooksError when `value` is not an integer in 0..MAX_CREDIT_FIGURE. */
function checkFigure(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_CREDIT_FIGURE) throw new BooksError(`${what} out of bounds: ${value} (allowed 0..${MAX_CREDIT_FIGURE}).`);
}

/** Checks a job's books; throws BooksError naming the first rule broken. */
export function checkBooks(job: SettledJob, hold: bigint | undefined): void {
  checkAmount(`job ${job.jobId} charge`, job.charge, MAX_JOB_NANOTONS);
  let costs = 0n;
  let earned = 0n;
  const workers = new Set<string>();
  for (const c of job.credits) {
    if (workers.has(c.workerId)) throw new BooksError(`job ${job.jobId}: worker ${c.workerId} is credited twice.`);
    workers.add(c.workerId);
    checkAmount(`credit cost of ${c.workerId}`, c.cost, MAX_JOB_NANOTONS);
    checkAmount(`credit of ${c.workerId}`, c.earned, c.cost);
    // Checked before a batch is sent: one figure a column cannot hold would fail every job in it.
    checkFigure(`prompt tokens of ${c.workerId}`, c.promptTokens);
    checkFigure(`completion tokens of ${c.workerId}`, c.completionTokens);
    checkFigure(`coefficient of ${c.workerId}`, c.coefficientMilli);
    if (c.claimed) {
      checkFigure(`claimed prompt tokens of ${c.workerId}`, c.claimed.promptTokens);
      checkFigure(`claimed completion tokens of ${c.workerId}`, c.claimed.completionTokens);
    }
    costs += c.cost;
    earned += c.earned;
  }
  if (costs !== job.charge) throw new BooksError(`job ${job.jobId}: charge ${job.charge} ≠ Σ credit costs ${costs}.`);
  if (earned + job.commission !== job.charge) throw new BooksError(`job ${job.jobId}: charge ${job.charge} ≠ Σ credits ${earned} + commission ${job.commission}.`);
  if (hold !== undefined && job.charge > hold) throw new BooksError(`job ${job.jobId}: charge ${job.charge} exceeds its hold ${hold}.`);
}
