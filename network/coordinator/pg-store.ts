/**
 * The coordinator store on PostgreSQL (`--store postgres://…`), shared by several coordinator
 * instances. Every transaction that moves money runs SERIALIZABLE and is retried on a
 * serialization failure or deadlock, so what SQLite's single writer guarantees holds across
 * instances: no overdraft (the balance row is read FOR UPDATE and has CHECK balance ≥ 0), no
 * double credit (jobs.job_id is unique and settle writes nothing when it exists), a worker's
 * receipt numbers unique (PRIMARY KEY (worker_id, seq)), and each job's books checked, and then
 * re-read from the rows just written, inside the settling transaction.
 * Holds carry the instance that took them: at start an instance refunds only its own (a
 * restart) and expired ones; a killed instance's holds are refunded by the others' expiry sweep.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { MAX_JOB_NANOTONS } from '../protocol/pricing.js';
import { BooksError, checkAmount, checkBooks, MAX_ACCOUNT_NANOTONS } from './books-check.js';
import { PG_COORDINATOR_MIGRATIONS } from './pg-migrations.js';
import { applyWorkerEvent, newWorkerRecord, type ReputationEvent, type SpeedSample } from './reputation.js';
import { workerRecordFromRow, type AccountTotal, type AsyncCoordinatorStore, type AsyncReceiptBuilder, type Dispute, type JobReceiptFrame, type KeyBinding, type SettledJob, type WorkerEvent, type WorkerRecord, type WorkerRow } from './store.js';
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

type Sql = (text: string, values?: readonly unknown[]) => Promise<pg.QueryResult>;

/** Opens the pool and migrates the schema (once, whichever instance comes first). */
export async function openPgStore(options: PgStoreOptions): Promise<PgStore> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 8 });
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

/** Applies every migration above the database's version under an advisory lock; refuses a newer schema. */
export async function migratePg(pool: pg.Pool, migrations: readonly Migration[]): Promise<number> {
  const client = await pool.connect();
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
    client.release();
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

  /** Runs `work` in one SERIALIZABLE transaction, again from the start when PostgreSQL asks. */
  private async transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        const value = await work((text, values) => client.query(text, values as unknown[] | undefined));
        await client.query('COMMIT');
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: unknown }).code;
        if (typeof code !== 'string' || !RETRYABLE.has(code) || attempt >= MAX_TRIES) throw error;
        // Full jitter, capped: contenders spread out instead of colliding again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
      } finally {
        client.release();
      }
    }
  }

  private query(text: string, values?: readonly unknown[]): Promise<pg.QueryResult> {
    return this.pool.query(text, values as unknown[] | undefined);
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

  async reserve(clientId: string, jobId: string, amount: bigint, expiresAt: number): Promise<'held' | 'short' | 'duplicate'> {
    checkAmount(`hold of ${jobId}`, amount, MAX_JOB_NANOTONS);
    return this.transaction(async (sql) => {
      if (await jobUsed(sql, jobId)) return 'duplicate';
      const row = (await sql('SELECT balance FROM clients WHERE id = $1 FOR UPDATE', [clientId])).rows[0] as { balance: string } | undefined;
      if (!row || big(row.balance) < amount) return 'short';
      await sql('UPDATE clients SET balance = balance - $1 WHERE id = $2', [amount.toString(), clientId]);
      await sql('INSERT INTO holds (job_id, client_id, amount, expires_at, owner) VALUES ($1, $2, $3, $4, $5)', [jobId, clientId, amount.toString(), expiresAt, this.instanceId]);
      return 'held';
    });
  }

  async jobIdUsed(jobId: string): Promise<boolean> {
    return jobUsed((text, values) => this.query(text, values), jobId);
  }

  async settle(job: SettledJob, receipt: AsyncReceiptBuilder): Promise<JobReceiptFrame[] | undefined> {
    return this.transaction(async (sql) => {
      if ((await sql('SELECT 1 FROM jobs WHERE job_id = $1', [job.jobId])).rowCount) return undefined;
      const holdRow = (await sql('SELECT amount FROM holds WHERE job_id = $1 FOR UPDATE', [job.jobId])).rows[0] as { amount: string } | undefined;
      const hold = holdRow ? big(holdRow.amount) : undefined;
      checkBooks(job, job.clientId === 'unmetered' ? undefined : (hold ?? 0n));
      const inserted = await sql('INSERT INTO jobs (job_id, client_id, model, cost, commission, held, outcome, settled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING', [
        job.jobId,
        job.clientId,
        job.model,
        job.charge.toString(),
        job.commission.toString(),
        (hold ?? 0n).toString(),
        job.outcome,
        Date.now(),
      ]);
      if (inserted.rowCount === 0) return undefined;
      await refund(sql, job.jobId, job.charge);
      const frames: JobReceiptFrame[] = [];
      for (const c of job.credits) {
        await sql(
          'INSERT INTO job_credits (job_id, account, worker_id, cost, earned, prompt_tokens, completion_tokens, claimed_prompt, claimed_completion, coefficient_milli) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
          [job.jobId, c.account, c.workerId, c.cost.toString(), c.earned.toString(), c.promptTokens, c.completionTokens, c.claimed?.promptTokens ?? null, c.claimed?.completionTokens ?? null, c.coefficientMilli],
        );
        const before = (await sql('SELECT cumulative FROM accounts WHERE account = $1 FOR UPDATE', [c.account])).rows[0] as { cumulative: string } | undefined;
        checkAmount(`account ${c.account}`, (before ? big(before.cumulative) : 0n) + c.earned, MAX_ACCOUNT_NANOTONS);
        const after = (
          await sql(
            `INSERT INTO accounts (account, cumulative, seq) VALUES ($1, $2, 1)
             ON CONFLICT (account) DO UPDATE SET cumulative = accounts.cumulative + excluded.cumulative, seq = accounts.seq + 1
             RETURNING cumulative, seq`,
            [c.account, c.earned.toString()],
          )
        ).rows[0] as { cumulative: string; seq: string };
        const seq = Number((await sql('SELECT COALESCE(MAX(seq), 0) AS seq FROM receipts WHERE worker_id = $1', [c.workerId])).rows[0].seq) + 1;
        const frame = await receipt(c, { account: c.account, cumulative: big(after.cumulative), seq: Number(after.seq) }, seq);
        await sql('INSERT INTO receipts (worker_id, seq, job_id, frame) VALUES ($1, $2, $3, $4)', [c.workerId, seq, job.jobId, JSON.stringify(frame)]);
        frames.push(frame);
      }
      // The books again, from the rows this transaction wrote: what was stored is what was checked.
      const sums = (await sql('SELECT COALESCE(SUM(cost), 0) AS cost, COALESCE(SUM(earned), 0) AS earned FROM job_credits WHERE job_id = $1', [job.jobId])).rows[0] as { cost: string; earned: string };
      if (big(sums.cost) !== job.charge || big(sums.earned) + job.commission !== job.charge) throw new BooksError(`job ${job.jobId}: stored credits ${sums.cost}/${sums.earned} do not match charge ${job.charge} and commission ${job.commission}.`);
      return frames;
    });
  }

  async release(jobId: string): Promise<void> {
    await this.transaction(async (sql) => void (await refund(sql, jobId, 0n)));
  }

  async releaseExpiredHolds(now: number): Promise<string[]> {
    return this.transaction((sql) => refundWhere(sql, 'expires_at <= $1', [now]));
  }

  /** Refunds this instance's own holds (left by its previous run) and every expired one. */
  async releaseAllHolds(): Promise<string[]> {
    return this.transaction((sql) => refundWhere(sql, 'owner = $1 OR expires_at <= $2', [this.instanceId, Date.now()]));
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

  async bindWorkerKey(workerId: string, identityKey: string, now: number): Promise<KeyBinding> {
    return this.transaction(async (sql) => {
      const row = (await sql('SELECT * FROM worker_keys WHERE worker_id = $1', [workerId])).rows[0] as WorkerRow | undefined;
      if (!row) {
        const record = newWorkerRecord(workerId, identityKey, now);
        await sql(
          `INSERT INTO worker_keys (worker_id, identity_key, first_seen, reputation, strikes, clean_jobs, disputes, cutoffs, verify_failures, lost_jobs, ttft_ms, tokens_per_second, ejected_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          [record.workerId, record.identityKey, record.firstSeen, record.reputation, record.strikes, record.cleanJobs, record.disputes, record.cutoffs, record.verifyFailures, record.lostJobs, record.ttftMs, record.tokensPerSecond, record.ejectedAt],
        );
        return { status: 'new', record };
      }
      if (row.identity_key !== identityKey) return { status: 'mismatch' };
      const record = workerRecordFromRow(row);
      return record.ejectedAt !== null ? { status: 'ejected', record } : { status: 'known', record };
    });
  }

  async workerRecord(workerId: string): Promise<WorkerRecord | undefined> {
    const row = (await this.query('SELECT * FROM worker_keys WHERE worker_id = $1', [workerId])).rows[0] as WorkerRow | undefined;
    return row ? workerRecordFromRow(row) : undefined;
  }

  async recordWorkerEvent(workerId: string, event: ReputationEvent, now: number, speed?: SpeedSample): Promise<WorkerEvent | undefined> {
    // The row is read FOR UPDATE and written in one transaction: an instance settling a job of
    // this worker at the same moment waits, then applies its event to this one's result.
    return this.transaction(async (sql) => {
      const row = (await sql('SELECT * FROM worker_keys WHERE worker_id = $1 FOR UPDATE', [workerId])).rows[0] as WorkerRow | undefined;
      if (!row) return undefined;
      const before = workerRecordFromRow(row);
      const after = applyWorkerEvent(before, event, now, speed);
      await sql(
        `UPDATE worker_keys SET reputation = $3, strikes = $4, clean_jobs = $5, disputes = $6, cutoffs = $7, verify_failures = $8, lost_jobs = $9,
           ttft_ms = $10, tokens_per_second = $11, ejected_at = $12 WHERE worker_id = $1 AND identity_key = $2`,
        [after.workerId, after.identityKey, after.reputation, after.strikes, after.cleanJobs, after.disputes, after.cutoffs, after.verifyFailures, after.lostJobs, after.ttftMs, after.tokensPerSecond, after.ejectedAt],
      );
      return { before, after };
    });
  }

  async recordDispute(d: Dispute): Promise<void> {
    await this.query('INSERT INTO disputes (at, job_id, worker_id, kind, claimed, counted) VALUES ($1, $2, $3, $4, $5, $6)', [d.at, d.jobId, d.workerId, d.kind, d.claimed, d.counted]);
  }

  async disputes(workerId: string): Promise<Dispute[]> {
    const rows = (await this.query('SELECT * FROM disputes WHERE worker_id = $1 ORDER BY id', [workerId])).rows as { at: string; job_id: string; worker_id: string; kind: string; claimed: string; counted: string }[];
    return rows.map((r) => ({ at: Number(r.at), jobId: r.job_id, workerId: r.worker_id, kind: r.kind, claimed: Number(r.claimed), counted: Number(r.counted) }));
  }

  async unackedReceipts(workerId: string, after = 0): Promise<JobReceiptFrame[]> {
    const rows = (await this.query('SELECT frame FROM receipts WHERE worker_id = $1 AND NOT acked AND seq > $2 ORDER BY seq', [workerId, after])).rows as { frame: string }[];
    return rows.map((r) => JSON.parse(r.frame) as JobReceiptFrame);
  }

  async ackReceipts(workerId: string, upTo: number): Promise<void> {
    await this.query('UPDATE receipts SET acked = TRUE WHERE worker_id = $1 AND seq <= $2 AND NOT acked', [workerId, upTo]);
  }

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
  return ((await sql('SELECT 1 FROM jobs WHERE job_id = $1 UNION ALL SELECT 1 FROM holds WHERE job_id = $1 LIMIT 1', [jobId])).rowCount ?? 0) > 0;
}

/** Refunds a hold but `keep`; returns what was held (undefined when there was no hold). */
async function refund(sql: Sql, jobId: string, keep: bigint): Promise<bigint | undefined> {
  const row = (await sql('DELETE FROM holds WHERE job_id = $1 RETURNING client_id, amount', [jobId])).rows[0] as { client_id: string; amount: string } | undefined;
  if (!row) return undefined;
  const amount = big(row.amount);
  const back = amount > keep ? amount - keep : 0n;
  await sql('UPDATE clients SET balance = balance + $1 WHERE id = $2', [back.toString(), row.client_id]);
  return amount;
}

/** Refunds every hold matching `where` whole; returns their job ids. */
async function refundWhere(sql: Sql, where: string, values: readonly unknown[]): Promise<string[]> {
  const rows = (await sql(`DELETE FROM holds WHERE ${where} RETURNING job_id, client_id, amount`, values)).rows as { job_id: string; client_id: string; amount: string }[];
  const byClient = new Map<string, bigint>();
  for (const r of rows) byClient.set(r.client_id, (byClient.get(r.client_id) ?? 0n) + big(r.amount));
  // In a fixed order, so two sweeps never lock the same clients crosswise.
  for (const [client, amount] of [...byClient].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    await sql('UPDATE clients SET balance = balance + $1 WHERE id = $2', [amount.toString(), client]);
  }
  return rows.map((r) => r.job_id);
}
