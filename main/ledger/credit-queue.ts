/**
 * Group commit for job credits. Credits that arrive while the previous commit is being synced
 * are written together in one transaction, so a burst costs one fsync instead of one each, and
 * every caller still hears back only after its credit is on disk (synchronous=FULL).
 */
import { checkJob, type JobCredit, type RecordJobStatus } from './jobs.js';

interface Waiting {
  job: JobCredit;
  resolve: (status: RecordJobStatus) => void;
  reject: (error: unknown) => void;
}

/** Queues credits and commits them in batches on the next turn of the event loop. */
export class CreditQueue {
  private waiting: Waiting[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  /** `commit` writes a batch in one transaction and returns each credit's status. */
  constructor(private readonly commit: (jobs: readonly JobCredit[]) => RecordJobStatus[]) {}

  /** Resolves once the credit is committed; a malformed credit is rejected at once, alone. */
  credit(job: JobCredit): Promise<RecordJobStatus> {
    try {
      checkJob(job);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Commits whatever is queued now (also called before the ledger closes). */
  flush(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    let statuses: RecordJobStatus[];
    try {
      statuses = this.commit(batch.map((w) => w.job));
    } catch (error) {
      // Nothing of the batch was committed; credits are idempotent, so callers may retry.
      for (const w of batch) w.reject(error);
      return;
    }
    batch.forEach((w, i) => w.resolve(statuses[i] as RecordJobStatus));
  }
}
