/**
 * The coordinator store on PostgreSQL (`--store postgres://…`), shared by several coordinator
 * instances. Deposits and refunds run SERIALIZABLE; the holds of one turn are one call (one
 * statement for a hold alone), and so are the settlements, at READ COMMITTED, whose row locks
 * and unique keys need no more (see reserve and settle). Each is retried on a serialization
 * failure, deadlock or key collision, so what SQLite's single writer guarantees holds across
 * instances: no overdraft (a debit only where the balance covers it, and CHECK balance ≥ 0), no
 * double credit (jobs.job_id is unique and settle writes nothing when it exists), a worker's
 * receipt numbers unique (PRIMARY KEY (worker_id, seq)), and each job's books checked, and then
 * re-read from the rows just written, inside the settling call. The calls a request makes take
 * few round trips (a share of its turn's hold call, of its turn's settlement call, and of its
 * turn's standing update's two) on statements prepared once per connection: the database is what
 * every instance shares.
 * Holds carry the instance that took them: at start an instance refunds only its own (a
 * restart) and expired ones; a killed instance's holds are refunded by the others' expiry sweep.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { MAX_JOB_NANOTONS } from '../protocol/pricing.js';
import { BooksError, checkAmount, checkBooks, MAX_ACCOUNT_NANOTONS } from './books-check.js';
import { PG_COORDINATOR_MIGRATIONS } from './pg-migrations.js';
import { buildReceipt, type ReceiptSigning } from './receipts.js';
import { encodeSettledJob, readSettledJobs, type KeptSettlements } from './settled-job-codec.js';
import { applyWorkerEvent, newWorkerRecord, reinstatedRecord, type ReputationEvent, type SpeedSample } from './reputation.js';
import { receiptVerdict, RECEIPT_WINDOW, type ClientReceipt, type ReceiptPause, type ReceiptVerdict } from './client-receipts.js';
import { RESEND_BATCH, workerRecordFromRow, type AccountTotal, type AsyncCoordinatorStore, type AsyncReceiptBuilder, type Dispute, type InstanceWork, type JobOutcome, type JobReceiptFrame, type KeyBinding, type SettledJob, type WorkerCredit, type WorkerEvent, type WorkerRecord, type WorkerRow } from './store.js';
import type { Migration } from '../node-kit/sqlite.js';

/** Options of {@link openPgStore}. */
export interface PgStoreOptions {
  /** postgres://user@host:port/db (or a socket directory as `host`). */
  url: string;
  /** Names this instance on the holds it takes (default: random, one per start). */
  instanceId?: string;
  /** Connections in the pool (default 8). */
  poolSize?: number;
}

/** Serialization failure, deadlock, unique violation from a concurrent insert: run the transaction again. */
const RETRYABLE = new Set(['40001', '40P01', '23505']);
const MAX_TRIES = 100;
/** Tries of an idempotent statement whose connection was lost, before the caller is told the store is away. */
const MAX_LOST_TRIES = 3;
/** A call of one of the settlement functions (pg-migrations.ts) with `count` parameters. */
const callOf = (name: string, count: number) => `SELECT ${name}(${Array.from({ length: count }, (_, i) => `$${i + 1}`).join(', ')}) AS results`;
const SETTLE_SQL = callOf('silkworm_settle_batch', 19);
const SETTLE_LATE_SQL = callOf('silkworm_settle_batch_late', 21);
/** What silkworm_settle raises when the books refuse a settlement (a BooksError here). */
const BOOKS_REFUSED = 'SW001';

type Sql = (text: string, values?: readonly unknown[]) => Promise<pg.QueryResult>;

/**
 * Every parameterized statement is prepared once per connection under a name, so PostgreSQL
 * parses and plans it once rather than on every call. The texts are this file's constants.
 */
const statementNames = new Map<string, string>();
function prepared(text: string, values: readonly unknown[] | undefined): pg.QueryConfig {
  if (!values) return { text };
  let name = statementNames.get(text);
  if (name === undefined) statementNames.set(text, (name = `silkworm_${statementNames.size + 1}`));
  return { name, text, values: values as unknown[] };
}

/**
 * A worker record's columns, named rather than `*`: a statement prepared on a connection fails
 * once its result's shape changes, as when a newer instance adds a column.
 */
const WORKER_COLUMNS = 'worker_id, identity_key, first_seen, reputation, strikes, clean_jobs, disputes, cutoffs, verify_failures, lost_jobs, ttft_ms, tokens_per_second, ejected_at';

/** A receipt row with its job's and credit's columns (unackedReceipts); the joins find none for a missing row. */
interface StoredReceipt {
  seq: string;
  /** As first sent (before schema version 2), or '' when built from the figures. */
  frame: string;
  job_id: string;
  cumulative: string;
  account_seq: string;
  model: string | null;
  outcome: JobOutcome | null;
  account: string | null;
  cost: string;
  earned: string;
  prompt_tokens: number;
  completion_tokens: number;
  claimed_prompt: number | null;
  claimed_completion: number | null;
  coefficient_milli: number;
}

/** Settlements, or holds, in one call at most (a batch holds its rows' locks until it commits). */
export const SETTLE_BATCH = 64;

/** One job's answer in silkworm_settle_batch: its receipts' figures (null: settled before), or why not. */
type SettleOutcome = { figures: { seq: number; cumulative: string; accountSeq: number }[] | null } | { refused: string } | { failed: string; code: string };

/** A worker event waiting for its batch (see PgStore.recordWorkerEvent). */
interface PendingWorkerEvent {
  workerId: string;
  event: ReputationEvent;
  now: number;
  speed?: SpeedSample;
}

/**
 * Calls made in the same turn of the event loop, run together (one statement for all of them
 * rather than one each); each caller gets its own answer, or the batch's error.
 */
class Batch<I, O> {
  private pending: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  /** When each run in flight began. */
  private readonly running = new Set<{ at: number }>();
  /** Set while what waits is due to run once the run in flight counts as stalled. */
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: {
      /** At most this many in one run; a full batch runs at once and the next begins. */
      max?: number;
      /**
       * One run at a time: what comes meanwhile waits for it, and runs next, together. For calls
       * that would queue behind each other's row locks and commits in the database anyway. A run
       * still unanswered after STALLED_MS no longer holds the next back (a connection that hangs
       * must not stop every later call).
       */
      oneAtATime?: boolean;
    } = {},
  ) {}

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      const size = this.pending.push({ item, resolve, reject });
      if (size >= (this.options.max ?? Infinity)) void this.flush();
      else if (size === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.options.oneAtATime && this.running.size > 0) {
      const stalledIn = Math.max(...[...this.running].map((run) => run.at)) + STALLED_MS - Date.now();
      if (stalledIn > 0) {
        // The run in flight runs what waits when it ends, or this timer once it counts as stalled.
        this.stallTimer ??= setTimeout(() => {
          this.stallTimer = undefined;
          void this.flush();
        }, stalledIn);
        return;
      }
    }
    const batch = this.pending.splice(0, this.options.max ?? Infinity);
    if (batch.length === 0) return; // run full already
    const run = { at: Date.now() };
    this.running.add(run);
    try {
      const results = await this.run(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i] as O));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.running.delete(run);
      if (this.options.oneAtATime && this.pending.length > 0) void this.flush();
    }
  }
}

/** How long a run of a one-at-a-time batch may go unanswered before the next runs beside it. */
export const STALLED_MS = 1_000;

/**
 * The connection broke during a call: the server ended it (57P01–57P03: shut down, crashed, not
 * yet accepting), a connection error (class 08), or the socket closed under pg.
 */
function connectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return /^57P0[123]$|^08|^ECONNRESET$|^ECONNREFUSED$|^EPIPE$/.test(code);
  return error instanceof Error && /Connection terminated/.test(error.message);
}

/**
 * PostgreSQL cannot be reached at all just now: the connection was lost, or none could be made
 * (refused, unresolvable, unreachable, timed out), or the server takes no more connections.
 * A call that fails so is worth making again later; a refusal by the database is not.
 */
export function storeUnreachable(error: unknown): boolean {
  return connectionLost(error) || neverReached(error);
}

/**
 * The call wrote nothing: no connection could be made (refused, unresolvable, unreachable, timed
 * out, too many connections, or the server still starting), or the one it had was lost before it
 * sent anything that could commit (NothingWritten). A connection lost while a write or a COMMIT
 * was under way may have committed it.
 */
export function neverReached(error: unknown): boolean {
  if (error instanceof NothingWritten) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|53300|57P03)$/.test(code)) return true;
  return error instanceof Error && /timeout exceeded when trying to connect/.test(error.message);
}

/**
 * A call whose connection was lost before it sent anything that could commit: during a read that
 * comes before its writes, or inside its transaction before the COMMIT (PostgreSQL rolls back a
 * transaction whose connection ends). A pooled connection the server dropped while it sat idle
 * fails so on the call's first statement. Nothing of the call was written, so it may be made
 * again as it was (neverReached).
 */
export class NothingWritten extends Error {
  /** The lost connection's code, if it had one. */
  readonly code: unknown;

  constructor(lost: unknown) {
    super(lost instanceof Error ? lost.message : String(lost), { cause: lost });
    this.name = 'NothingWritten';
    this.code = (lost as { code?: unknown } | undefined)?.code;
  }
}

/** `error` as NothingWritten where it says the store could not be reached; as it was otherwise (a refusal by the database). */
function nothingWritten(error: unknown): unknown {
  return storeUnreachable(error) && !(error instanceof NothingWritten) ? new NothingWritten(error) : error;
}

/** Full jitter, capped: contenders spread out instead of colliding again. */
function backOff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
}

/** How many events a worker's record has seen: each adds one to exactly one of these counters. */
function eventsOf(record: WorkerRecord): number {
  return record.cleanJobs + record.disputes + record.cutoffs + record.verifyFailures + record.lostJobs;
}

/** Opens the pool and migrates the schema (once, whichever instance comes first). */
export async function openPgStore(options: PgStoreOptions): Promise<PgStore> {
  // A connection not made within 5 s counts as PostgreSQL unreachable (storeUnreachable), rather
  // than waiting for the system's TCP timeout, minutes where packets are dropped.
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 8, connectionTimeoutMillis: 5_000 });
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migratePg(pool, PG_COORDINATOR_MIGRATIONS);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PgStore(pool, options.instanceId ?? randomUUID());
}

/**
 * One of the pool's connections, for a run of statements; `release` gives it back. While it is
 * out, an error it emits (the server went away between two statements) is heard here: the pool
 * listens only to idle connections, and an 'error' no one hears ends the process. The statement
 * under way, or the next, fails with it anyway.
 */
async function checkOut(pool: pg.Pool): Promise<{ client: pg.PoolClient; release: () => void }> {
  const client = await pool.connect();
  const heard = (): void => undefined;
  client.on('error', heard);
  return {
    client,
    release: () => {
      client.off('error', heard);
      client.release();
    },
  };
}

/** Applies every migration above the database's version under an advisory lock; refuses a newer schema. */
export async function migratePg(pool: pg.Pool, migrations: readonly Migration[]): Promise<number> {
  const { client, release } = await checkOut(pool);
  try {
    // One key for the coordinator schema: instances starting together take turns.
    await client.query('SELECT pg_advisory_lock(7365126)');
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const current = Number((await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version')).rows[0]?.v ?? 0);
    if (current > migrations.length) throw new Error(`The coordinator store is at schema version ${current}, newer than this build knows (${migrations.length}). Update Silkworm.`);
    for (const migration of migrations.slice(current)) {
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
    return migrations.length;
  } finally {
    await client.query('SELECT pg_advisory_unlock(7365126)').catch(() => undefined);
    release();
  }
}

/** BIGINT columns arrive as strings (pg's default keeps them exact); money becomes bigint here. */
function big(value: unknown): bigint {
  return BigInt(value as string | number);
}

/** A CoordinatorStore on a PostgreSQL pool. */
export class PgStore implements AsyncCoordinatorStore {
  constructor(
    private readonly pool: pg.Pool,
    /** The instance named on the holds it takes. */
    readonly instanceId: string,
  ) {}

  /** Runs `work` in one transaction (SERIALIZABLE unless said), again from the start when PostgreSQL asks. */
  private async transaction<T>(work: (sql: Sql) => Promise<T>, isolation: 'SERIALIZABLE' | 'READ COMMITTED' = 'SERIALIZABLE'): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { client, release } = await checkOut(this.pool).catch((error: unknown) => {
        throw nothingWritten(error);
      });
      let committing = false;
      try {
        await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        const value = await work((text, values) => client.query(prepared(text, values)));
        committing = true;
        await client.query('COMMIT');
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: unknown }).code;
        // Lost before the COMMIT was sent, the transaction was rolled back: nothing written.
        if (typeof code !== 'string' || !RETRYABLE.has(code) || attempt >= MAX_TRIES) throw committing ? error : nothingWritten(error);
        await backOff(attempt);
      } finally {
        release();
      }
    }
  }

  private query(text: string, values?: readonly unknown[]): Promise<pg.QueryResult> {
    return this.pool.query(prepared(text, values));
  }

  /**
   * One statement as its own transaction (one round trip), again from the start when PostgreSQL
   * asks; and, when `idempotent`, also when the connection was lost during the call (it may have
   * committed or not: only a statement that writes nothing the second time may run again).
   */
  private async statement(text: string, values: readonly unknown[], idempotent = false): Promise<pg.QueryResult> {
    for (let attempt = 1, lost = 0; ; attempt++) {
      try {
        return await this.query(text, values);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        // A few tries on a new connection get past one the server dropped (it restarted); past
        // those it is away, and the caller hears so at once (billing keeps the settlement).
        const again = (typeof code === 'string' && RETRYABLE.has(code)) || (idempotent && connectionLost(error) && ++lost < MAX_LOST_TRIES);
        if (!again || attempt >= MAX_TRIES) throw error;
        await backOff(attempt);
      }
    }
  }

  async balance(clientId: string): Promise<bigint> {
    const row = (await this.query('SELECT balance FROM clients WHERE id = $1', [clientId])).rows[0] as { balance: string } | undefined;
    return row ? big(row.balance) : 0n;
  }

  async deposit(clientId: string, amount: bigint, reference: string): Promise<boolean> {
    if (amount <= 0n) throw new RangeError('A deposit must be positive.');
    checkAmount('deposit', amount, MAX_ACCOUNT_NANOTONS);
    return this.transaction(async (sql) => {
      if ((await sql('INSERT INTO deposits (reference, client_id, amount) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [reference, clientId, amount.toString()])).rowCount === 0) return false;
      await sql('INSERT INTO clients (id, balance) VALUES ($1, 0) ON CONFLICT DO NOTHING', [clientId]);
      const balance = big((await sql('SELECT balance FROM clients WHERE id = $1 FOR UPDATE', [clientId])).rows[0].balance);
      checkAmount(`balance of ${clientId}`, balance + amount, MAX_ACCOUNT_NANOTONS);
      await sql('UPDATE clients SET balance = balance + $1 WHERE id = $2', [amount.toString(), clientId]);
      return true;
    });
  }

  /**
   * One statement, so one round trip: the debit only where the balance covers it, and the hold
   * keyed by the job id. The row lock on the balance and the unique job id keep it exact without
   * a SERIALIZABLE transaction: a concurrent debit waits and re-checks the new balance, and a
   * second hold for the same job fails on the key (then, run again, it reads as a duplicate).
   * The holds asked for in one turn share one call (holds, below).
   */
  async reserve(clientId: string, jobId: string, amount: bigint, expiresAt: number): Promise<'held' | 'short' | 'duplicate'> {
    checkAmount(`hold of ${jobId}`, amount, MAX_JOB_NANOTONS);
    return this.holds.add({ clientId, jobId, amount, expiresAt });
  }

  /**
   * One hold alone is the statement itself; several go in one call of silkworm_reserve_batch
   * (pg-migrations.ts, version 3, as version 5 redefined it), which locks their clients' rows first, by id, and then runs
   * that statement for each in order: one round trip and one commit for them all.
   */
  private readonly holds = new Batch<{ clientId: string; jobId: string; amount: bigint; expiresAt: number }, 'held' | 'short' | 'duplicate'>(async (items) => {
    if (items.length === 1) {
      const { clientId, jobId, amount, expiresAt } = items[0]!;
      const row = (
        await this.statement(
          `WITH used AS (SELECT 1 FROM jobs WHERE job_id = $2 UNION ALL SELECT 1 FROM holds WHERE job_id = $2 UNION ALL SELECT 1 FROM refunded_holds WHERE job_id = $2 LIMIT 1),
           debit AS (UPDATE clients SET balance = balance - $3 WHERE id = $1 AND balance >= $3 AND NOT EXISTS (SELECT 1 FROM used) RETURNING id),
           hold AS (INSERT INTO holds (job_id, client_id, amount, expires_at, owner) SELECT $2, $1, $3, $4, $5 FROM debit RETURNING job_id)
           SELECT EXISTS (SELECT 1 FROM used) AS duplicate, EXISTS (SELECT 1 FROM hold) AS held`,
          [clientId, jobId, amount.toString(), expiresAt, this.instanceId],
        )
      ).rows[0] as { duplicate: boolean; held: boolean };
      return [row.duplicate ? 'duplicate' : row.held ? 'held' : 'short'];
    }
    const results = (
      await this.statement('SELECT silkworm_reserve_batch($1, $2, $3, $4, $5) AS results', [
        items.map((h) => h.clientId),
        items.map((h) => h.jobId),
        items.map((h) => h.amount.toString()),
        items.map((h) => h.expiresAt),
        this.instanceId,
      ])
    ).rows[0].results as ('held' | 'short' | 'duplicate')[];
    if (results.length !== items.length) throw new Error(`A batch of ${items.length} holds was answered for ${results.length}.`);
    return results;
  }, { max: SETTLE_BATCH, oneAtATime: true });

  async jobIdUsed(jobId: string): Promise<boolean> {
    return jobUsed((text, values) => this.query(text, values), jobId);
  }

  /**
   * One round trip, shared with the other settlements asked for in the same turn (settlements,
   * below): a call of silkworm_settle (pg-migrations.ts, version 2) for each. It deletes the
   * hold, writes the job, its credits, the account totals and each worker's numbered receipt (the
   * figures only the settlement knows: its account's total and number after the credit), refunds
   * the rest of the hold, and checks the books again from the rows it wrote. A check that fails
   * raises, and nothing of that job is written. The books' rules but the hold are checked here
   * before the call; the charge against the hold inside it.
   *
   * The receipts' frames are built once the call has returned, from the figures it returns (the
   * builder signs each account's new total); a resend builds them again from the stored figures
   * (unackedReceipts), and Ed25519 signatures are deterministic, so they are the same.
   *
   * READ COMMITTED (the default), because nothing here rests on a snapshot: the job id is unique
   * (a second settlement inserts nothing and returns; one that waited for the hold's row lock
   * while another instance settled the job finds the hold gone and the job there), the hold row
   * is deleted once, account totals and the client's refund are increments made under the row's
   * lock (a concurrent settlement waits for it, then builds on it), and a worker's receipt number
   * is a primary key (two settlements that picked the same number: the second fails and runs
   * again). Under SERIALIZABLE, instances settling for one client at once failed each other on
   * its balance row and ran again (218 times in one bench run, against 26 receipt-number
   * collisions then, and one an instance since batches lock accounts first). A batch takes its
   * rows' locks first, in one order (silkworm_settle_batch), so batches wait for each other
   * rather than deadlock, and read receipt numbers after the wait.
   */
  async settle(job: SettledJob, receiptOrSigning: AsyncReceiptBuilder | ReceiptSigning): Promise<JobReceiptFrame[] | undefined> {
    checkBooks(job, undefined);
    const { credits } = job;
    const settled = await this.settlements.add(job);
    if ('refused' in settled) throw new BooksError(settled.refused);
    if ('failed' in settled) throw Object.assign(new Error(settled.failed), { code: settled.code });
    const { figures } = settled;
    if (figures === null) return undefined; // settled before: nothing credited twice
    const receipt: AsyncReceiptBuilder = typeof receiptOrSigning === 'function' ? receiptOrSigning : (credit, total, seq) => buildReceipt(receiptOrSigning, job, credit, total, seq);
    const frames: JobReceiptFrame[] = [];
    try {
      for (let i = 0; i < credits.length; i++) {
        const c = credits[i]!;
        const f = figures[i]!;
        frames.push(await receipt(c, { account: c.account, cumulative: big(f.cumulative), seq: f.accountSeq }, f.seq));
      }
    } catch (error) {
      // On the books already: the receipts are stored, and go out when the worker asks again.
      throw new Error(`Job ${job.jobId} was settled, but its receipts could not be built: ${error instanceof Error ? error.message : String(error)}`);
    }
    return frames;
  }

  /**
   * The settlements asked for in one turn, in one call of silkworm_settle_batch (pg-migrations.ts,
   * version 3; silkworm_settle_batch_late, version 4, when one of them is late): one round trip
   * and one commit for all of them, each job still its own subtransaction, refused or failed alone. A call that must run again (a deadlock, a key
   * collision) runs whole again, and so does one whose connection was lost: a job it settled
   * after all writes nothing the second time and reads as settled before (its receipts go out
   * when its worker next asks for them), where a settlement given up would leave the worker
   * unpaid. One that fails otherwise fails each of its settlements.
   */
  private readonly settlements = new Batch<SettledJob, SettleOutcome>(async (jobs) => {
    const credits = jobs.flatMap((job) => job.credits);
    let end = 0;
    const late = jobs.some((j) => j.late === true);
    const values = [
      jobs.map((j) => j.jobId),
      jobs.map((j) => j.clientId),
      jobs.map((j) => j.model),
      jobs.map((j) => j.charge.toString()),
      jobs.map((j) => j.commission.toString()),
      jobs.map((j) => j.outcome),
      jobs.map((j) => j.clientId !== 'unmetered'),
      jobs.map((j) => (end += j.credits.length)),
      Date.now(),
      MAX_ACCOUNT_NANOTONS.toString(),
      credits.map((c) => c.account),
      credits.map((c) => c.workerId),
      credits.map((c) => c.cost.toString()),
      credits.map((c) => c.earned.toString()),
      credits.map((c) => c.promptTokens),
      credits.map((c) => c.completionTokens),
      credits.map((c) => c.claimed?.promptTokens ?? null),
      credits.map((c) => c.claimed?.completionTokens ?? null),
      credits.map((c) => c.coefficientMilli),
    ];
    // A batch with a late settlement in it (SettledJob.late) first holds again what such a job's expired hold gave back.
    const [text, args] = late ? [SETTLE_LATE_SQL, [jobs.map((j) => j.late === true), this.instanceId, ...values]] : [SETTLE_SQL, values];
    const answer = await this.statement(text, args, true).catch((error: unknown) => {
      throw (error as { code?: unknown }).code === BOOKS_REFUSED ? new BooksError((error as Error).message) : error;
    });
    const results = answer.rows[0].results as SettleOutcome[];
    if (results.length !== jobs.length) throw new Error(`A batch of ${jobs.length} settlements was answered for ${results.length}.`);
    return results;
  }, { max: SETTLE_BATCH });

  async extendHold(jobId: string, expiresAt: number): Promise<boolean> {
    const answer = await this.statement('UPDATE holds SET expires_at = GREATEST(expires_at, $2) WHERE job_id = $1', [jobId, expiresAt], true);
    return (answer.rowCount ?? 0) > 0;
  }

  async release(jobId: string): Promise<void> {
    await this.transaction(async (sql) => void (await refundWhere(sql, 'job_id = $1', [jobId])));
  }

  async releaseExpiredHolds(now: number): Promise<string[]> {
    return this.transaction((sql) => refundWhere(sql, 'expires_at <= $1', [now]));
  }

  /** Refunds this instance's own holds (left by its previous run) and every expired one. */
  async releaseAllHolds(): Promise<string[]> {
    return this.transaction((sql) => refundWhere(sql, 'owner = $1 OR expires_at <= $2', [this.instanceId, Date.now()]));
  }

  /** One statement: this instance's rows not listed are deleted, the listed ones written over. */
  async checkpoint(jobs: readonly SettledJob[]): Promise<void> {
    await this.query(
      `WITH gone AS (DELETE FROM job_checkpoints WHERE owner = $1 AND NOT (job_id = ANY($2::text[])))
       INSERT INTO job_checkpoints (job_id, owner, job, at) SELECT u.job_id, $1, u.job, $4 FROM unnest($2::text[], $3::text[]) AS u(job_id, job)
       ON CONFLICT (job_id) DO UPDATE SET owner = excluded.owner, job = excluded.job, at = excluded.at`,
      [this.instanceId, jobs.map((j) => j.jobId), jobs.map((j) => encodeSettledJob(j)), Date.now()],
    );
  }

  async checkpoints(owner = this.instanceId): Promise<KeptSettlements> {
    return readSettledJobs((await this.query('SELECT job_id, job FROM job_checkpoints WHERE owner = $1 ORDER BY at, job_id', [owner])).rows as { job_id: string; job: string }[]);
  }

  async forgetCheckpoints(owner: string, jobIds: readonly string[]): Promise<void> {
    await this.statement('DELETE FROM job_checkpoints WHERE owner = $1 AND job_id = ANY($2::text[])', [owner, jobIds], true);
  }

  async instanceWork(): Promise<InstanceWork[]> {
    const rows = (
      await this.query(
        `SELECT owner, SUM(checkpoints) AS checkpoints, MAX(last_at) AS last_at, SUM(holds) AS holds, MAX(expire_at) AS expire_at FROM (
           SELECT owner, COUNT(*) AS checkpoints, MAX(at) AS last_at, 0 AS holds, NULL::bigint AS expire_at FROM job_checkpoints GROUP BY owner
           UNION ALL SELECT owner, 0, NULL, COUNT(*), MAX(expires_at) FROM holds GROUP BY owner
         ) AS work GROUP BY owner ORDER BY owner`,
      )
    ).rows as { owner: string; checkpoints: string; last_at: string | null; holds: string; expire_at: string | null }[];
    const at = (value: string | null) => (value === null ? null : Number(value));
    return rows.map((r) => ({ instance: r.owner, checkpoints: Number(r.checkpoints), lastCheckpointAt: at(r.last_at), holds: Number(r.holds), holdsExpireAt: at(r.expire_at) }));
  }

  async account(name: string): Promise<AccountTotal> {
    const row = (await this.query('SELECT cumulative, seq FROM accounts WHERE account = $1', [name])).rows[0] as { cumulative: string; seq: string } | undefined;
    return { account: name, cumulative: row ? big(row.cumulative) : 0n, seq: Number(row?.seq ?? 0) };
  }

  async unpushed(threshold: bigint): Promise<AccountTotal[]> {
    const rows = (await this.query('SELECT account, cumulative, seq FROM accounts WHERE cumulative - pushed >= $1 AND cumulative > pushed ORDER BY account', [threshold.toString()])).rows as { account: string; cumulative: string; seq: string }[];
    return rows.map((r) => ({ account: r.account, cumulative: big(r.cumulative), seq: Number(r.seq) }));
  }

  async markPushed(name: string, cumulative: bigint): Promise<void> {
    await this.query('UPDATE accounts SET pushed = GREATEST(pushed, $1) WHERE account = $2', [cumulative.toString(), name]);
  }

  /**
   * One statement: the id's row inserted for this key unless the id is taken, and the row as it
   * then stands. The id's primary key decides between instances binding it at once; the one that
   * loses reads the winner's row (and, with another key, is refused).
   */
  async bindWorkerKey(workerId: string, identityKey: string, now: number): Promise<KeyBinding> {
    const record = newWorkerRecord(workerId, identityKey, now);
    for (let attempt = 1; ; attempt++) {
      const rows = (
        await this.statement(
          `WITH inserted AS (
             INSERT INTO worker_keys (worker_id, identity_key, first_seen, reputation, strikes, clean_jobs, disputes, cutoffs, verify_failures, lost_jobs, ttft_ms, tokens_per_second, ejected_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (worker_id) DO NOTHING RETURNING worker_id)
           SELECT ${WORKER_COLUMNS}, EXISTS (SELECT 1 FROM inserted) AS inserted FROM worker_keys WHERE worker_id = $1 AND NOT EXISTS (SELECT 1 FROM inserted)
           UNION ALL SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, TRUE FROM inserted`,
          [record.workerId, record.identityKey, record.firstSeen, record.reputation, record.strikes, record.cleanJobs, record.disputes, record.cutoffs, record.verifyFailures, record.lostJobs, record.ttftMs, record.tokensPerSecond, record.ejectedAt],
        )
      ).rows as (WorkerRow & { inserted: boolean })[];
      const row = rows[0];
      if (row?.inserted) return { status: 'new', record };
      if (row) {
        if (row.identity_key !== identityKey) return { status: 'mismatch' };
        const known = workerRecordFromRow(row);
        return known.ejectedAt !== null ? { status: 'ejected', record: known } : { status: 'known', record: known };
      }
      // Taken by an instance that committed after this statement's snapshot: read it again.
      if (attempt >= MAX_TRIES) throw new Error(`Worker id ${workerId} could not be bound: it kept changing.`);
      await backOff(attempt);
    }
  }

  async workerRecord(workerId: string): Promise<WorkerRecord | undefined> {
    const row = (await this.query(`SELECT ${WORKER_COLUMNS} FROM worker_keys WHERE worker_id = $1`, [workerId])).rows[0] as WorkerRow | undefined;
    return row ? workerRecordFromRow(row) : undefined;
  }

  async reinstateWorker(workerId: string): Promise<WorkerRecord | undefined> {
    const before = await this.workerRecord(workerId);
    if (!before || before.ejectedAt === null) return undefined;
    const after = reinstatedRecord(before);
    // Only the row as read: an ejected identity serves no jobs, so nothing else moves it meanwhile.
    const { rowCount } = await this.query('UPDATE worker_keys SET ejected_at = NULL, strikes = 0, reputation = $3 WHERE worker_id = $1 AND identity_key = $2 AND ejected_at IS NOT NULL', [workerId, before.identityKey, after.reputation]);
    return rowCount === 1 ? after : undefined;
  }

  /**
   * Events that arrive together are applied together: one read of their workers' rows, each
   * worker's events folded in order, one write that lands a worker's new row only if no other
   * event reached it in between (every event adds one to exactly one of the record's counters,
   * so their sum numbers the events); a worker whose row moved is read and applied again. No
   * transaction: instances settling jobs of one worker at once each build on the other's result
   * instead of overwriting it.
   */
  recordWorkerEvent(workerId: string, event: ReputationEvent, now: number, speed?: SpeedSample): Promise<WorkerEvent | undefined> {
    return this.workerEvents.add({ workerId, event, now, ...(speed ? { speed } : {}) });
  }

  private readonly workerEvents = new Batch<PendingWorkerEvent, WorkerEvent | undefined>(async (items) => {
    const results = new Array<WorkerEvent | undefined>(items.length);
    let left = items.map((_, i) => i);
    // Until the first write is sent, a lost connection has written nothing (NothingWritten).
    let sent = false;
    for (let attempt = 1; left.length > 0; attempt++) {
      const ids = [...new Set(left.map((i) => items[i]!.workerId))];
      const read = this.query(`SELECT ${WORKER_COLUMNS} FROM worker_keys WHERE worker_id = ANY($1::text[])`, [ids]);
      const rows = (
        await read.catch((error: unknown) => {
          throw sent ? error : nothingWritten(error);
        })
      ).rows as WorkerRow[];
      const current = new Map(rows.map((row) => [row.worker_id, workerRecordFromRow(row)]));
      const eventsBefore = new Map([...current].map(([id, record]) => [id, eventsOf(record)]));
      for (const i of left) {
        const item = items[i]!;
        const before = current.get(item.workerId);
        if (!before) continue; // never bound: undefined
        const after = applyWorkerEvent(before, item.event, item.now, item.speed);
        results[i] = { before, after };
        current.set(item.workerId, after);
      }
      const changed = [...current.values()].filter((r) => eventsOf(r) !== eventsBefore.get(r.workerId));
      sent ||= changed.length > 0;
      const written = new Set(changed.length === 0 ? [] : await this.writeWorkerRecords(changed, eventsBefore));
      // Events of workers whose rows moved meanwhile are applied again, from the new rows.
      left = left.filter((i) => results[i] !== undefined && !written.has(items[i]!.workerId));
      for (const i of left) results[i] = undefined;
      if (left.length > 0) {
        if (attempt >= MAX_TRIES) throw new Error(`The records of ${left.length} worker events kept changing; they were not recorded.`);
        await backOff(attempt);
      }
    }
    return results;
  });

  /**
   * Writes each record whose row still holds as many events as `eventsBefore` says (no other
   * event landed since it was read); returns the ids written.
   */
  private async writeWorkerRecords(records: WorkerRecord[], eventsBefore: ReadonlyMap<string, number>): Promise<string[]> {
    const column = (value: (r: WorkerRecord) => unknown) => records.map(value);
    const rows = (
      await this.query(
        `UPDATE worker_keys AS k SET reputation = u.reputation, strikes = u.strikes, clean_jobs = u.clean_jobs, disputes = u.disputes, cutoffs = u.cutoffs,
           verify_failures = u.verify_failures, lost_jobs = u.lost_jobs, ttft_ms = u.ttft_ms, tokens_per_second = u.tokens_per_second, ejected_at = u.ejected_at
         FROM unnest($1::text[], $2::text[], $3::float8[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::float8[], $11::float8[], $12::bigint[], $13::bigint[])
           AS u(worker_id, identity_key, reputation, strikes, clean_jobs, disputes, cutoffs, verify_failures, lost_jobs, ttft_ms, tokens_per_second, ejected_at, events_before)
         WHERE k.worker_id = u.worker_id AND k.identity_key = u.identity_key AND k.clean_jobs + k.disputes + k.cutoffs + k.verify_failures + k.lost_jobs = u.events_before
         RETURNING k.worker_id`,
        [
          column((r) => r.workerId),
          column((r) => r.identityKey),
          column((r) => r.reputation),
          column((r) => r.strikes),
          column((r) => r.cleanJobs),
          column((r) => r.disputes),
          column((r) => r.cutoffs),
          column((r) => r.verifyFailures),
          column((r) => r.lostJobs),
          column((r) => r.ttftMs),
          column((r) => r.tokensPerSecond),
          column((r) => r.ejectedAt),
          column((r) => eventsBefore.get(r.workerId)),
        ],
      )
    ).rows as { worker_id: string }[];
    return rows.map((r) => r.worker_id);
  }

  /** In a transaction of its own, so that a connection lost before its COMMIT reads as nothing written (the standing keeps the dispute to make again). */
  async recordDispute(d: Dispute): Promise<void> {
    await this.transaction(async (sql) => {
      await sql('INSERT INTO disputes (at, job_id, worker_id, kind, claimed, counted) VALUES ($1, $2, $3, $4, $5, $6)', [d.at, d.jobId, d.workerId, d.kind, d.claimed, d.counted]);
    }, 'READ COMMITTED');
  }

  async disputes(workerId: string): Promise<Dispute[]> {
    const rows = (await this.query('SELECT at, job_id, worker_id, kind, claimed, counted FROM disputes WHERE worker_id = $1 ORDER BY id', [workerId])).rows as { at: string; job_id: string; worker_id: string; kind: string; claimed: string; counted: string }[];
    return rows.map((r) => ({ at: Number(r.at), jobId: r.job_id, workerId: r.worker_id, kind: r.kind, claimed: Number(r.claimed), counted: Number(r.counted) }));
  }

  /** One transaction, the client's row locked so that instances judging its receipts at once take turns. */
  async recordClientReceipt(r: ClientReceipt): Promise<ReceiptVerdict> {
    return this.transaction(async (sql) => {
      await sql('INSERT INTO receipt_standing (client_id) VALUES ($1) ON CONFLICT (client_id) DO NOTHING', [r.clientId]);
      const standing = (await sql('SELECT paused_at, counted_from FROM receipt_standing WHERE client_id = $1 FOR UPDATE', [r.clientId])).rows[0] as { paused_at: string | null; counted_from: string };
      const recorded = ((await sql('INSERT INTO client_receipts (job_id, client_id, disputed_by, at) VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO NOTHING', [r.jobId, r.clientId, r.disputedBy, r.at])).rowCount ?? 0) > 0;
      const rows = (await sql('SELECT disputed_by FROM client_receipts WHERE client_id = $1 AND at > $2 ORDER BY at DESC, job_id DESC LIMIT $3', [r.clientId, standing.counted_from, RECEIPT_WINDOW])).rows as { disputed_by: string | null }[];
      const verdict = receiptVerdict(recorded, standing.paused_at !== null, rows.map((row) => row.disputed_by));
      if (verdict.newlyPaused) await sql('UPDATE receipt_standing SET paused_at = $2, disputed = $3, workers = $4 WHERE client_id = $1', [r.clientId, r.at, verdict.disputed, verdict.workers]);
      return verdict;
    }, 'READ COMMITTED');
  }

  async receiptsPausedAt(clientId: string): Promise<number | undefined> {
    const row = (await this.query('SELECT paused_at FROM receipt_standing WHERE client_id = $1', [clientId])).rows[0] as { paused_at: string | null } | undefined;
    return row?.paused_at === undefined || row.paused_at === null ? undefined : Number(row.paused_at);
  }

  async receiptPauses(): Promise<ReceiptPause[]> {
    const rows = (await this.query('SELECT client_id, paused_at, disputed, workers FROM receipt_standing WHERE paused_at IS NOT NULL ORDER BY paused_at, client_id LIMIT 1000')).rows as { client_id: string; paused_at: string; disputed: string; workers: string }[];
    return rows.map((r) => ({ clientId: r.client_id, pausedAt: Number(r.paused_at), disputed: Number(r.disputed), workers: Number(r.workers) }));
  }

  async resumeReceipts(clientId: string, now: number): Promise<boolean> {
    return ((await this.statement('UPDATE receipt_standing SET paused_at = NULL, counted_from = $1 WHERE client_id = $2 AND paused_at IS NOT NULL', [now, clientId], true)).rowCount ?? 0) > 0;
  }

  /**
   * Receipts stored with their figures (schema version 2 on) are built here, their vouchers
   * signed with `signing` (none without it); older ones are read as they were sent.
   */
  async unackedReceipts(workerId: string, after = 0, signing?: ReceiptSigning): Promise<JobReceiptFrame[]> {
    const rows = (
      await this.query(
        `SELECT r.seq, r.frame, r.job_id, r.cumulative, r.account_seq, j.model, j.outcome, c.account, c.cost, c.earned,
           c.prompt_tokens, c.completion_tokens, c.claimed_prompt, c.claimed_completion, c.coefficient_milli
         FROM receipts r LEFT JOIN jobs j ON j.job_id = r.job_id LEFT JOIN job_credits c ON c.job_id = r.job_id AND c.worker_id = r.worker_id
         WHERE r.worker_id = $1 AND NOT r.acked AND r.seq > $2 ORDER BY r.seq LIMIT $3`,
        [workerId, after, RESEND_BATCH],
      )
    ).rows as StoredReceipt[];
    return rows.map((r) => {
      if (r.frame !== '') return JSON.parse(r.frame) as JobReceiptFrame;
      if (r.model === null || r.outcome === null || r.account === null) throw new BooksError(`receipt ${r.seq} of ${workerId}: its job ${r.job_id} or credit is missing.`);
      const credit: WorkerCredit = {
        account: r.account,
        workerId,
        cost: big(r.cost),
        earned: big(r.earned),
        promptTokens: r.prompt_tokens,
        completionTokens: r.completion_tokens,
        coefficientMilli: r.coefficient_milli,
        ...(r.claimed_prompt !== null && r.claimed_completion !== null ? { claimed: { promptTokens: r.claimed_prompt, completionTokens: r.claimed_completion } } : {}),
      };
      return buildReceipt(signing, { jobId: r.job_id, model: r.model, outcome: r.outcome }, credit, { account: r.account, cumulative: big(r.cumulative), seq: Number(r.account_seq) }, Number(r.seq));
    });
  }

  /** Acknowledgements that arrive together are written as one statement (each worker's highest). */
  ackReceipts(workerId: string, upTo: number): Promise<void> {
    return this.acks.add({ workerId, upTo });
  }

  private readonly acks = new Batch<{ workerId: string; upTo: number }, void>(async (items) => {
    const highest = new Map<string, number>();
    for (const { workerId, upTo } of items) highest.set(workerId, Math.max(highest.get(workerId) ?? 0, upTo));
    await this.query('UPDATE receipts AS r SET acked = TRUE FROM unnest($1::text[], $2::bigint[]) AS a(worker_id, up_to) WHERE r.worker_id = a.worker_id AND r.seq <= a.up_to AND NOT r.acked', [
      [...highest.keys()],
      [...highest.values()],
    ]);
    return items.map(() => undefined);
  });

  async getSetting(key: string): Promise<string | undefined> {
    const row = (await this.query('SELECT value FROM settings WHERE key = $1', [key])).rows[0] as { value: string } | undefined;
    return row?.value;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

async function jobUsed(sql: Sql, jobId: string): Promise<boolean> {
  return ((await sql(`SELECT 1 FROM jobs WHERE job_id = $1 UNION ALL SELECT 1 FROM holds WHERE job_id = $1 UNION ALL SELECT 1 FROM refunded_holds WHERE job_id = $1 LIMIT 1`, [jobId])).rowCount ?? 0) > 0;
}

/**
 * Refunds every hold matching `where` whole, and retires their job ids (refunded_holds: a job id
 * is held once, CoordinatorStore.reserve); returns the job ids.
 */
async function refundWhere(sql: Sql, where: string, values: readonly unknown[]): Promise<string[]> {
  const rows = (
    await sql(
      `WITH gone AS (DELETE FROM holds WHERE ${where} RETURNING job_id, client_id, amount),
       retired AS (INSERT INTO refunded_holds (job_id, client_id, amount, refunded_at) SELECT job_id, client_id, amount, $${values.length + 1} FROM gone ON CONFLICT (job_id) DO NOTHING)
       SELECT job_id, client_id, amount FROM gone`,
      [...values, Date.now()],
    )
  ).rows as { job_id: string; client_id: string; amount: string }[];
  const byClient = new Map<string, bigint>();
  for (const r of rows) byClient.set(r.client_id, (byClient.get(r.client_id) ?? 0n) + big(r.amount));
  // In a fixed order, so two sweeps never lock the same clients crosswise.
  for (const [client, amount] of [...byClient].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    await sql('UPDATE clients SET balance = balance + $1 WHERE id = $2', [amount.toString(), client]);
  }
  return rows.map((r) => r.job_id);
}
