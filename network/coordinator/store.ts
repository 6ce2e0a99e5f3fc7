/**
 * The coordinator's durable state behind one interface (DESIGN.md §9): the embedded default is
 * SQLite in one process; a PostgreSQL implementation can replace it without touching callers.
 * Amounts are bigint nanotons. Every write that moves money is idempotent by its reference.
 */

/** One worker's share of a settled job. */
export interface WorkerCredit {
  /** Earnings account: the payout address, or `worker:<id>` while the worker has none. */
  account: string;
  workerId: string;
  earned: bigint;
  promptTokens: number;
  completionTokens: number;
}

/** A settled job as stored. */
export interface SettledJob {
  jobId: string;
  clientId: string;
  model: string;
  cost: bigint;
  credits: WorkerCredit[];
}

/** An earnings account after a credit: what the next voucher must say. */
export interface AccountTotal {
  account: string;
  cumulative: bigint;
  seq: number;
}

/** Durable coordinator state. */
export interface CoordinatorStore {
  /** A client's spendable balance (reservations already taken out). */
  balance(clientId: string): bigint;
  /** Adds to a client's balance once per `reference` (a deposit's transaction hash, say). */
  deposit(clientId: string, amount: bigint, reference: string): boolean;
  /** Holds `amount` for a job; false (and nothing held) when the balance is short. */
  reserve(clientId: string, jobId: string, amount: bigint): boolean;
  /** Charges a job and credits its workers, refunding the rest of the hold; once per job id. */
  settle(job: SettledJob): AccountTotal[] | undefined;
  /** Refunds a job's whole hold (the job failed). */
  release(jobId: string): void;
  /** The running total of an earnings account. */
  account(account: string): AccountTotal;
  /** Every account whose cumulative earnings exceed what was pushed on chain by `threshold`. */
  unpushed(threshold: bigint): AccountTotal[];
  /** Records that the vault paid an account up to `cumulative`. */
  markPushed(account: string, cumulative: bigint): void;
  /** A small key/value table for settings that must survive restarts (vault address…). */
  getSetting(key: string): string | undefined;
  setSetting(key: string, value: string): void;
  close(): void;
}
