/**
 * Job credits: one row per job the coordinator credited, idempotent by job id. Each credit is
 * its own durable transaction (one INSERT; the rollup trigger runs inside it); `recordJobs`
 * batches many into one. No @ton imports: the crash test's child process runs this file.
 */
import type { Statement } from 'better-sqlite3';
import { flagAnomaly } from './anomalies.js';
import type { LedgerDb } from './db.js';
import { localDay, type DayOf } from './days.js';

/** Largest amount an INTEGER column holds: 2^63 - 1 nanotons. */
export const MAX_LEDGER_NANOTONS = (1n << 63n) - 1n;

/** A credited job as the worker records it. */
export interface JobCredit {
  jobId: string;
  model: string;
  /** When the job finished, unix ms. */
  finishedAt: number;
  /** GPU busy time of the job, for the electricity estimate (0 if unknown). */
  durationMs?: number;
  promptTokens: number;
  completionTokens: number;
  /** What the coordinator credited for it, in nanotons. */
  earnedNanotons: bigint;
}

/** What {@link JobStore.recordJob} did: a new credit, the same one again, or a different one under a known id (flagged). */
export type RecordJobStatus = 'recorded' | 'duplicate' | 'conflict';

/** A stored job with its payment state. */
export interface JobRecord extends Required<JobCredit> {
  day: string;
  voucherSeq: number | null;
  paidTx: string | null;
}

interface JobRow {
  job_id: string;
  model: string;
  finished_at: bigint;
  day: string;
  duration_ms: bigint;
  prompt_tokens: bigint;
  completion_tokens: bigint;
  earned_nanotons: bigint;
  voucher_seq: bigint | null;
  paid_tx: string | null;
}

/** Writes and reads job credits. Use through the Ledger (the one writer); tests use it alone. */
export class JobStore {
  private readonly insert: Statement;
  private readonly byId: Statement;

  constructor(
    private readonly db: LedgerDb,
    private readonly dayOf: DayOf = localDay,
    private readonly now: () => number = Date.now,
  ) {
    this.insert = db.prepare(`INSERT INTO jobs
      (job_id, model, finished_at, day, duration_ms, prompt_tokens, completion_tokens, earned_nanotons)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING`);
    this.byId = db.prepare('SELECT * FROM jobs WHERE job_id = ?');
  }

  /** Records one credit in its own transaction; returns once it is on disk. */
  recordJob(job: JobCredit): RecordJobStatus {
    checkJob(job);
    // One statement is one transaction: the row and its rollup commit together or not at all.
    const info = this.insert.run(
      job.jobId, job.model, job.finishedAt, this.dayOf(job.finishedAt), job.durationMs ?? 0,
      job.promptTokens, job.completionTokens, job.earnedNanotons,
    );
    if (info.changes > 0) return 'recorded';
    return this.sameAsStored(job) ? 'duplicate' : this.flagConflict(job);
  }

  /** Records many credits in one transaction (one fsync); returns each one's status. */
  recordJobs(jobs: readonly JobCredit[]): RecordJobStatus[] {
    return this.db.transaction(() => jobs.map((job) => this.recordJob(job)))();
  }

  /** One job by id. */
  get(jobId: string): JobRecord | undefined {
    const row = this.byId.get(jobId) as JobRow | undefined;
    return row && toRecord(row);
  }

  /** Every job in finishing order, read lazily (CSV export of a million rows). */
  *iterate(): Generator<JobRecord> {
    for (const row of this.db.prepare('SELECT * FROM jobs ORDER BY finished_at, job_id').iterate() as Iterable<JobRow>) {
      yield toRecord(row);
    }
  }

  /**
   * The coordinator's figures decide sameness; `finishedAt` and `durationMs` are this PC's own
   * stamps at arrival, so a receipt resent after a lost acknowledgement is a duplicate.
   */
  private sameAsStored(job: JobCredit): boolean {
    const stored = this.get(job.jobId);
    return stored !== undefined && stored.model === job.model
      && stored.earnedNanotons === job.earnedNanotons && stored.promptTokens === job.promptTokens
      && stored.completionTokens === job.completionTokens;
  }

  private flagConflict(job: JobCredit): RecordJobStatus {
    flagAnomaly(this.db, {
      at: this.now(),
      kind: 'job',
      code: 'job_conflict',
      ref: job.jobId,
      message: `job ${job.jobId} was credited again with different figures; the first credit stands`,
      detail: { earnedNanotons: job.earnedNanotons, model: job.model },
    });
    return 'conflict';
  }
}

/** Throws a RangeError unless `job` is a well-formed credit (ids, counts, amount in range). */
export function checkJob(job: JobCredit): void {
  if (typeof job.jobId !== 'string' || job.jobId.length < 1 || job.jobId.length > 200) throw new RangeError('jobId must be 1..200 characters');
  if (typeof job.model !== 'string' || job.model.length < 1 || job.model.length > 200) throw new RangeError('model must be 1..200 characters');
  for (const [name, value] of [['finishedAt', job.finishedAt], ['durationMs', job.durationMs ?? 0], ['promptTokens', job.promptTokens], ['completionTokens', job.completionTokens]] as const) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  }
  if (typeof job.earnedNanotons !== 'bigint' || job.earnedNanotons < 0n || job.earnedNanotons > MAX_LEDGER_NANOTONS) {
    throw new RangeError('earnedNanotons must be a bigint in 0..2^63-1');
  }
}

function toRecord(row: JobRow): JobRecord {
  return {
    jobId: row.job_id,
    model: row.model,
    finishedAt: Number(row.finished_at),
    day: row.day,
    durationMs: Number(row.duration_ms),
    promptTokens: Number(row.prompt_tokens),
    completionTokens: Number(row.completion_tokens),
    earnedNanotons: row.earned_nanotons,
    voucherSeq: row.voucher_seq === null ? null : Number(row.voucher_seq),
    paidTx: row.paid_tx,
  };
}
