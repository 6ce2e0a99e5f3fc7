/**
 * The embedded CoordinatorStore: SQLite through better-sqlite3, one writer, opened by the shared
 * durable opener (WAL, synchronous=FULL, safe integers, named migrations). Money is INTEGER
 * nanotons read back as bigint; every amount is checked against an explicit bound before it is
 * written, and each settlement re-checks the job's books inside its own transaction.
 */
import { join } from 'node:path';
import { openDurableDb, syncLog, withoutFsync, type DurableDb } from '../node-kit/sqlite.js';
import { MAX_JOB_NANOTONS } from '../protocol/pricing.js';
import { BooksError, checkAmount, checkBooks, MAX_ACCOUNT_NANOTONS } from './books-check.js';
import { COORDINATOR_MIGRATIONS } from './migrations.js';
import { encodeSettledJob, readSettledJobs } from './settled-job-codec.js';
import { RESEND_BATCH, StoreUnavailableError, workerRecordFromRow, type AccountTotal, type CoordinatorStore, type Dispute, type InstanceWork, type JobReceiptFrame, type KeyBinding, type ReceiptBuilder, type SettledJob, type WorkerEvent, type WorkerRecord, type WorkerRow } from './store.js';
import { applyWorkerEvent, newWorkerRecord, reinstatedRecord, type ReputationEvent, type SpeedSample } from './reputation.js';
import { receiptVerdict, RECEIPT_WINDOW, type ClientReceipt, type ReceiptPause, type ReceiptVerdict } from './client-receipts.js';

export { BooksError, checkBooks, MAX_ACCOUNT_NANOTONS };

/** Opens (and migrates) the coordinator database in `dataDir`. */
export function openSqliteStore(dataDir: string): CoordinatorStore {
  const db = openDurableDb(join(dataDir, 'coordinator.sqlite'), { migrations: COORDINATOR_MIGRATIONS, what: 'coordinator store' });
  return failingAsUnavailable(new SqliteStore(db));
}

/** What asking SQLite about another instance gets: there is none. */
const ONE_INSTANCE = 'This coordinator keeps its books in SQLite, alone: there is no other instance to retire (its own next start settles what it left).';

/**
 * SQLite's answers for a database that cannot be written just now (the disk full or failing,
 * the file made read-only, another process holding its lock). SQLite undoes the transaction
 * such an error ends, so nothing of the call was written.
 */
const UNAVAILABLE = /^SQLITE_(FULL|IOERR|READONLY|BUSY|CANTOPEN)(_|$)/;

/**
 * The store whose calls throw a StoreUnavailableError (unwritten) where SQLite cannot write:
 * what a shared database that cannot be reached gets, so the coordinator does the same (a
 * retryable 503 for requests, a settlement kept and tried again until it lands, a worker's
 * standing kept). Every other error passes through as it was.
 */
function failingAsUnavailable(store: CoordinatorStore): CoordinatorStore {
  /** The first such failure inside the group under way, if any (group, below). */
  let failedInGroup: StoreUnavailableError | undefined;
  const convert = (error: unknown): unknown => {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (!(error instanceof Error) || typeof code !== 'string' || !UNAVAILABLE.test(code)) return error;
    const unavailable = Object.assign(new StoreUnavailableError(`The coordinator's database cannot be written just now (${code}: ${error.message}).`, true), { cause: error });
    failedInGroup ??= unavailable;
    return unavailable;
  };
  // SQLite may answer such an error by rolling back the whole transaction, not only the failed
  // statement, and the group's later calls would then each commit alone. A group in which one
  // happened is undone whole instead (what is still in its transaction) and fails as
  // unavailable, so its caller keeps every call of it to make again; settling twice writes
  // nothing the second time.
  const group = <T>(target: CoordinatorStore, work: () => T): T => {
    failedInGroup = undefined;
    try {
      return target.group(() => {
        const result = work();
        if (failedInGroup) throw failedInGroup;
        return result;
      });
    } finally {
      failedInGroup = undefined;
    }
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'synced') return value;
      if (property === 'group') {
        return <T>(work: () => T): T => {
          try {
            return group(target, work);
          } catch (error) {
            throw convert(error);
          }
        };
      }
      return (...args: unknown[]) => {
        try {
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (error) {
          throw convert(error);
        }
      };
    },
  });
}

class SqliteStore implements CoordinatorStore {
  private readonly q;
  readonly settle: CoordinatorStore['settle'];
  readonly deposit: CoordinatorStore['deposit'];
  readonly reserve: CoordinatorStore['reserve'];
  readonly extendHold: CoordinatorStore['extendHold'];
  readonly release: CoordinatorStore['release'];
  readonly releaseExpiredHolds: CoordinatorStore['releaseExpiredHolds'];
  readonly releaseAllHolds: CoordinatorStore['releaseAllHolds'];
  readonly checkpoint: CoordinatorStore['checkpoint'];
  readonly bindWorkerKey: CoordinatorStore['bindWorkerKey'];
  readonly recordClientReceipt: CoordinatorStore['recordClientReceipt'];
  private readonly relaxedUpdateWorker: (record: WorkerRecord) => void;
  private readonly relaxedAck: (workerId: string, upTo: number) => void;

  group<T>(work: () => T): T {
    return withoutFsync(this.db, this.db.transaction(work))();
  }

  synced(): Promise<void> {
    return syncLog(this.db);
  }

  constructor(private readonly db: DurableDb) {
    const q = {
      balance: db.prepare<[string], { balance: bigint }>('SELECT balance FROM clients WHERE id = ?'),
      ensureClient: db.prepare('INSERT OR IGNORE INTO clients (id, balance) VALUES (?, 0)'),
      addBalance: db.prepare('UPDATE clients SET balance = balance + ? WHERE id = ?'),
      insertDeposit: db.prepare('INSERT OR IGNORE INTO deposits (reference, client_id, amount) VALUES (?, ?, ?)'),
      insertHold: db.prepare('INSERT INTO holds (job_id, client_id, amount, expires_at) VALUES (?, ?, ?, ?)'),
      hold: db.prepare<[string], { client_id: string; amount: bigint }>('SELECT client_id, amount FROM holds WHERE job_id = ?'),
      holdsExpired: db.prepare<[number], { job_id: string }>('SELECT job_id FROM holds WHERE expires_at <= ?'),
      allHolds: db.prepare<[], { job_id: string }>('SELECT job_id FROM holds'),
      deleteHold: db.prepare('DELETE FROM holds WHERE job_id = ?'),
      extendHold: db.prepare('UPDATE holds SET expires_at = MAX(expires_at, ?) WHERE job_id = ?'),
      settled: db.prepare<[string], { n: bigint }>('SELECT 1 AS n FROM jobs WHERE job_id = ?'),
      jobExists: db.prepare<[{ id: string }], { n: bigint }>(
        'SELECT 1 AS n FROM jobs WHERE job_id = @id UNION ALL SELECT 1 FROM holds WHERE job_id = @id UNION ALL SELECT 1 FROM refunded_holds WHERE job_id = @id LIMIT 1',
      ),
      forgetCheckpoints: db.prepare<[string]>('DELETE FROM job_checkpoints WHERE job_id NOT IN (SELECT value FROM json_each(?))'),
      putCheckpoint: db.prepare<[string, string, number]>('INSERT OR REPLACE INTO job_checkpoints (job_id, job, at) VALUES (?, ?, ?)'),
      checkpoints: db.prepare<[], { job_id: string; job: string }>('SELECT job_id, job FROM job_checkpoints ORDER BY at, job_id'),
      insertRefunded: db.prepare('INSERT OR IGNORE INTO refunded_holds (job_id, client_id, amount, refunded_at) VALUES (?, ?, ?, ?)'),
      insertJob: db.prepare('INSERT OR IGNORE INTO jobs (job_id, client_id, model, cost, commission, held, outcome, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      insertCredit: db.prepare(
        'INSERT INTO job_credits (job_id, account, worker_id, cost, earned, prompt_tokens, completion_tokens, claimed_prompt, claimed_completion, coefficient_milli) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      bumpAccount: db.prepare(
        `INSERT INTO accounts (account, cumulative, seq) VALUES (?, ?, 1)
         ON CONFLICT (account) DO UPDATE SET cumulative = cumulative + excluded.cumulative, seq = seq + 1`,
      ),
      account: db.prepare<[string], { cumulative: bigint; seq: bigint }>('SELECT cumulative, seq FROM accounts WHERE account = ?'),
      unpushed: db.prepare<[bigint], { account: string; cumulative: bigint; seq: bigint }>('SELECT account, cumulative, seq FROM accounts WHERE cumulative - pushed >= ? AND cumulative > pushed'),
      markPushed: db.prepare('UPDATE accounts SET pushed = MAX(pushed, ?) WHERE account = ?'),
      worker: db.prepare<[string], WorkerRow>('SELECT * FROM worker_keys WHERE worker_id = ?'),
      insertWorker: db.prepare(
        `INSERT INTO worker_keys (worker_id, identity_key, first_seen, reputation, strikes, clean_jobs, disputes, cutoffs, verify_failures, lost_jobs, ttft_ms, tokens_per_second, ejected_at)
         VALUES (@workerId, @identityKey, @firstSeen, @reputation, @strikes, @cleanJobs, @disputes, @cutoffs, @verifyFailures, @lostJobs, @ttftMs, @tokensPerSecond, @ejectedAt)`,
      ),
      updateWorker: db.prepare(
        `UPDATE worker_keys SET reputation = @reputation, strikes = @strikes, clean_jobs = @cleanJobs, disputes = @disputes, cutoffs = @cutoffs,
           verify_failures = @verifyFailures, lost_jobs = @lostJobs, ttft_ms = @ttftMs, tokens_per_second = @tokensPerSecond, ejected_at = @ejectedAt
         WHERE worker_id = @workerId AND identity_key = @identityKey`,
      ),
      insertDispute: db.prepare('INSERT INTO disputes (at, job_id, worker_id, kind, claimed, counted) VALUES (?, ?, ?, ?, ?, ?)'),
      disputes: db.prepare<[string], { at: bigint; job_id: string; worker_id: string; kind: string; claimed: bigint; counted: bigint }>('SELECT * FROM disputes WHERE worker_id = ? ORDER BY id'),
      nextReceiptSeq: db.prepare<[string], { seq: bigint | null }>('SELECT MAX(seq) AS seq FROM receipts WHERE worker_id = ?'),
      insertReceipt: db.prepare('INSERT INTO receipts (worker_id, seq, job_id, frame) VALUES (?, ?, ?, ?)'),
      unacked: db.prepare<[string, number, number], { frame: string }>('SELECT frame FROM receipts WHERE worker_id = ? AND acked = 0 AND seq > ? ORDER BY seq LIMIT ?'),
      ack: db.prepare('UPDATE receipts SET acked = 1 WHERE worker_id = ? AND seq <= ? AND acked = 0'),
      insertClientReceipt: db.prepare<[string, string, string | null, number]>('INSERT OR IGNORE INTO client_receipts (job_id, client_id, disputed_by, at) VALUES (?, ?, ?, ?)'),
      receiptStanding: db.prepare<[string], { paused_at: bigint | null; counted_from: bigint }>('SELECT paused_at, counted_from FROM receipt_standing WHERE client_id = ?'),
      receiptWindow: db.prepare<[string, bigint, number], { disputed_by: string | null }>(
        'SELECT disputed_by FROM client_receipts WHERE client_id = ? AND at > ? ORDER BY at DESC, job_id DESC LIMIT ?',
      ),
      pauseReceipts: db.prepare<[string, number, number, number]>(
        `INSERT INTO receipt_standing (client_id, paused_at, disputed, workers) VALUES (?, ?, ?, ?)
         ON CONFLICT (client_id) DO UPDATE SET paused_at = excluded.paused_at, disputed = excluded.disputed, workers = excluded.workers`,
      ),
      receiptPauses: db.prepare<[], { client_id: string; paused_at: bigint; disputed: bigint; workers: bigint }>(
        'SELECT client_id, paused_at, disputed, workers FROM receipt_standing WHERE paused_at IS NOT NULL ORDER BY paused_at, client_id LIMIT 1000',
      ),
      resumeReceipts: db.prepare<[number, string]>('UPDATE receipt_standing SET paused_at = NULL, counted_from = ? WHERE client_id = ? AND paused_at IS NOT NULL'),
      getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      setSetting: db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    };
    this.q = q;

    const refund = (jobId: string, keep: bigint): bigint | undefined => {
      const hold = q.hold.get(jobId);
      if (!hold) return undefined;
      const back = hold.amount > keep ? hold.amount - keep : 0n;
      q.addBalance.run(back, hold.client_id);
      q.deleteHold.run(jobId);
      return hold.amount;
    };

    /** Refunds a hold whole, and retires its job id (store.ts, reserve). */
    const giveBack = (jobId: string, now: number): void => {
      const hold = q.hold.get(jobId);
      if (!hold) return;
      refund(jobId, 0n);
      q.insertRefunded.run(jobId, hold.client_id, hold.amount, now);
    };

    // A late settlement's charge held again from the balance, when it covers it (store.ts, SettledJob.late).
    const holdAgain = (job: SettledJob): bigint | undefined => {
      if ((q.balance.get(job.clientId)?.balance ?? 0n) < job.charge) return undefined;
      q.addBalance.run(-job.charge, job.clientId);
      q.insertHold.run(job.jobId, job.clientId, job.charge, Date.now());
      return job.charge;
    };

    this.deposit = db.transaction((clientId: string, amount: bigint, reference: string) => {
      if (amount <= 0n) throw new RangeError('A deposit must be positive.');
      checkAmount('deposit', amount, MAX_ACCOUNT_NANOTONS);
      if (q.insertDeposit.run(reference, clientId, amount).changes === 0) return false;
      q.ensureClient.run(clientId);
      checkAmount(`balance of ${clientId}`, this.balance(clientId) + amount, MAX_ACCOUNT_NANOTONS);
      q.addBalance.run(amount, clientId);
      return true;
    });
    // A hold commits without waiting for the disk: a power cut can only undo it (the balance as
    // before, the job never settled), and the job's settlement, a FULL commit, makes it durable first.
    this.reserve = withoutFsync(db, db.transaction((clientId: string, jobId: string, amount: bigint, expiresAt: number) => {
      checkAmount(`hold of ${jobId}`, amount, MAX_JOB_NANOTONS);
      if (this.jobIdUsed(jobId)) return 'duplicate' as const;
      const balance = q.balance.get(clientId)?.balance ?? 0n;
      if (balance < amount) return 'short' as const;
      q.addBalance.run(-amount, clientId);
      q.insertHold.run(jobId, clientId, amount, expiresAt);
      return 'held' as const;
    }));
    this.settle = db.transaction((job: SettledJob, receipt: ReceiptBuilder) => {
      if (q.settled.get(job.jobId)) return undefined;
      const metered = job.clientId !== 'unmetered';
      const hold = q.hold.get(job.jobId)?.amount ?? (job.late && metered ? holdAgain(job) : undefined);
      checkBooks(job, metered ? (hold ?? 0n) : undefined);
      if (q.insertJob.run(job.jobId, job.clientId, job.model, job.charge, job.commission, hold ?? 0n, job.outcome, Date.now()).changes === 0) return undefined;
      refund(job.jobId, job.charge);
      return job.credits.map((c) => {
        q.insertCredit.run(job.jobId, c.account, c.workerId, c.cost, c.earned, c.promptTokens, c.completionTokens, c.claimed?.promptTokens ?? null, c.claimed?.completionTokens ?? null, c.coefficientMilli);
        checkAmount(`account ${c.account}`, this.account(c.account).cumulative + c.earned, MAX_ACCOUNT_NANOTONS);
        q.bumpAccount.run(c.account, c.earned);
        const seq = Number(q.nextReceiptSeq.get(c.workerId)?.seq ?? 0n) + 1;
        const frame = receipt(c, this.account(c.account), seq);
        q.insertReceipt.run(c.workerId, seq, job.jobId, JSON.stringify(frame));
        return frame;
      });
    });
    // As a hold, an extension need not wait for the disk: after a power cut every hold is refunded at start.
    this.extendHold = withoutFsync(db, (jobId: string, expiresAt: number) => q.extendHold.run(expiresAt, jobId).changes > 0);
    this.release = db.transaction((jobId: string) => giveBack(jobId, Date.now()));
    this.releaseExpiredHolds = db.transaction((now: number) => {
      const ids = q.holdsExpired.all(now).map((r) => r.job_id);
      for (const id of ids) giveBack(id, now);
      return ids;
    });
    this.releaseAllHolds = db.transaction(() => {
      const ids = q.allHolds.all().map((r) => r.job_id);
      const now = Date.now();
      for (const id of ids) giveBack(id, now);
      return ids;
    });
    // Every few seconds, so a power cut may take the last one: the one before still bills less.
    this.checkpoint = withoutFsync(
      db,
      db.transaction((jobs: readonly SettledJob[]) => {
        q.forgetCheckpoints.run(JSON.stringify(jobs.map((j) => j.jobId)));
        const now = Date.now();
        for (const job of jobs) q.putCheckpoint.run(job.jobId, encodeSettledJob(job), now);
      }),
    );
    // A new binding lost to a power cut is made again by the worker's next hello (with its key).
    this.bindWorkerKey = withoutFsync(db, db.transaction((workerId: string, identityKey: string, now: number): KeyBinding => {
      const row = q.worker.get(workerId);
      if (!row) {
        const record = newWorkerRecord(workerId, identityKey, now);
        q.insertWorker.run(record);
        return { status: 'new', record };
      }
      if (row.identity_key !== identityKey) return { status: 'mismatch' };
      const record = workerRecordFromRow(row);
      return record.ejectedAt !== null ? { status: 'ejected', record } : { status: 'known', record };
    }));
    // A receipt lost to a power cut only counts one job less toward a pause.
    this.recordClientReceipt = withoutFsync(db, db.transaction((r: ClientReceipt): ReceiptVerdict => {
      const recorded = q.insertClientReceipt.run(r.jobId, r.clientId, r.disputedBy, r.at).changes > 0;
      const standing = q.receiptStanding.get(r.clientId);
      const window = q.receiptWindow.all(r.clientId, standing?.counted_from ?? 0n, RECEIPT_WINDOW).map((row) => row.disputed_by);
      const verdict = receiptVerdict(recorded, (standing?.paused_at ?? null) !== null, window);
      if (verdict.newlyPaused) q.pauseReceipts.run(r.clientId, r.at, verdict.disputed, verdict.workers);
      return verdict;
    }));
    this.relaxedUpdateWorker = withoutFsync(db, (record: WorkerRecord) => void q.updateWorker.run(record));
    this.relaxedAck = withoutFsync(db, (workerId: string, upTo: number) => void q.ack.run(workerId, upTo));
  }

  balance(clientId: string): bigint {
    return this.q.balance.get(clientId)?.balance ?? 0n;
  }

  jobIdUsed(jobId: string): boolean {
    return this.q.jobExists.get({ id: jobId }) !== undefined;
  }

  checkpoints(owner?: string): ReturnType<CoordinatorStore['checkpoints']> {
    if (owner !== undefined) throw new Error(ONE_INSTANCE);
    return readSettledJobs(this.q.checkpoints.all());
  }

  account(name: string): AccountTotal {
    const row = this.q.account.get(name);
    return { account: name, cumulative: row?.cumulative ?? 0n, seq: Number(row?.seq ?? 0n) };
  }

  unpushed(threshold: bigint): AccountTotal[] {
    return this.q.unpushed.all(threshold).map((r) => ({ account: r.account, cumulative: r.cumulative, seq: Number(r.seq) }));
  }

  markPushed(name: string, cumulative: bigint): void {
    this.q.markPushed.run(cumulative, name);
  }

  workerRecord(workerId: string): WorkerRecord | undefined {
    const row = this.q.worker.get(workerId);
    return row ? workerRecordFromRow(row) : undefined;
  }

  recordWorkerEvent(workerId: string, event: ReputationEvent, now: number, speed?: SpeedSample): WorkerEvent | undefined {
    // One synchronous read and write: nothing else runs on this connection in between.
    const before = this.workerRecord(workerId);
    if (!before) return undefined;
    const after = applyWorkerEvent(before, event, now, speed);
    // Standing moves after every job; an ejection is the one change that must survive power loss.
    if (after.ejectedAt !== null) this.q.updateWorker.run(after);
    else this.relaxedUpdateWorker(after);
    return { before, after };
  }

  reinstateWorker(workerId: string): WorkerRecord | undefined {
    // One synchronous read and write, durable (the default synchronous mode).
    const before = this.workerRecord(workerId);
    if (!before || before.ejectedAt === null) return undefined;
    const after = reinstatedRecord(before);
    this.q.updateWorker.run(after);
    return after;
  }

  recordDispute(d: Dispute): void {
    this.q.insertDispute.run(d.at, d.jobId, d.workerId, d.kind, d.claimed, d.counted);
  }

  disputes(workerId: string): Dispute[] {
    return this.q.disputes.all(workerId).map((r) => ({ at: Number(r.at), jobId: r.job_id, workerId: r.worker_id, kind: r.kind, claimed: Number(r.claimed), counted: Number(r.counted) }));
  }

  forgetCheckpoints(): void {
    throw new Error(ONE_INSTANCE);
  }

  instanceWork(): InstanceWork[] {
    return [];
  }

  receiptsPausedAt(clientId: string): number | undefined {
    const pausedAt = this.q.receiptStanding.get(clientId)?.paused_at;
    return pausedAt === undefined || pausedAt === null ? undefined : Number(pausedAt);
  }

  receiptPauses(): ReceiptPause[] {
    return this.q.receiptPauses.all().map((r) => ({ clientId: r.client_id, pausedAt: Number(r.paused_at), disputed: Number(r.disputed), workers: Number(r.workers) }));
  }

  resumeReceipts(clientId: string, now: number): boolean {
    return this.q.resumeReceipts.run(now, clientId).changes > 0;
  }

  unackedReceipts(workerId: string, after = 0): JobReceiptFrame[] {
    return this.q.unacked.all(workerId, after, RESEND_BATCH).map((r) => JSON.parse(r.frame) as JobReceiptFrame);
  }

  ackReceipts(workerId: string, upTo: number): void {
    // An ack lost to a power cut only makes the receipts go out again; workers take them once.
    this.relaxedAck(workerId, upTo);
  }

  getSetting(key: string): string | undefined {
    return this.q.getSetting.get(key)?.value;
  }

  setSetting(key: string, value: string): void {
    this.q.setSetting.run(key, value);
  }

  close(): void {
    this.db.close();
  }
}
