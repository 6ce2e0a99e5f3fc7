/**
 * The coordinator store's schema as named, numbered migrations (network/node-kit/sqlite.ts runs
 * them). Never edit a shipped migration; add the next number. Money is INTEGER nanotons.
 */
import type { Migration } from '../node-kit/sqlite.js';

/** Every migration, in order. */
export const COORDINATOR_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'clients, deposits, holds, jobs, credits, accounts, settings',
    // IF NOT EXISTS: stores created before named migrations (PRAGMA user_version) adopt this step.
    sql: `
      CREATE TABLE IF NOT EXISTS clients (id TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));
      CREATE TABLE IF NOT EXISTS deposits (reference TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS holds (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, model TEXT NOT NULL, cost INTEGER NOT NULL, settled_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS job_credits (job_id TEXT NOT NULL, account TEXT NOT NULL, worker_id TEXT NOT NULL, earned INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, PRIMARY KEY (job_id, worker_id));
      CREATE TABLE IF NOT EXISTS accounts (account TEXT PRIMARY KEY, cumulative INTEGER NOT NULL, seq INTEGER NOT NULL, pushed INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `,
  },
  {
    version: 2,
    name: 'worker identity keys and reputation, disputes, receipts outbox, books columns, hold expiry',
    sql: `
      -- A worker id belongs to the first identity key that proved it (hello signature), for good.
      CREATE TABLE worker_keys (
        worker_id         TEXT PRIMARY KEY,
        identity_key      TEXT NOT NULL,
        first_seen        INTEGER NOT NULL,
        reputation        REAL NOT NULL,
        strikes           INTEGER NOT NULL DEFAULT 0,
        clean_jobs        INTEGER NOT NULL DEFAULT 0,
        disputes          INTEGER NOT NULL DEFAULT 0,
        cutoffs           INTEGER NOT NULL DEFAULT 0,
        verify_failures   INTEGER NOT NULL DEFAULT 0,
        lost_jobs         INTEGER NOT NULL DEFAULT 0,
        ttft_ms           REAL NOT NULL DEFAULT 0,
        tokens_per_second REAL NOT NULL DEFAULT 0,
        ejected_at        INTEGER
      );
      -- Claims the coordinator cut: what the worker said and what it counted or bounded.
      CREATE TABLE disputes (
        id        INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        job_id    TEXT NOT NULL,
        worker_id TEXT NOT NULL,
        kind      TEXT NOT NULL,
        claimed   INTEGER NOT NULL,
        counted   INTEGER NOT NULL
      );
      CREATE INDEX disputes_by_worker ON disputes (worker_id);
      -- Receipts are written with the settlement and kept until the worker acknowledges them.
      CREATE TABLE receipts (
        worker_id TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        job_id    TEXT NOT NULL,
        frame     TEXT NOT NULL,
        acked     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (worker_id, seq)
      );
      CREATE INDEX receipts_unacked ON receipts (worker_id, seq) WHERE acked = 0;
      -- The books of each job: charge = Σ credit cost = Σ earned + commission ≤ held.
      ALTER TABLE jobs ADD COLUMN commission INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN outcome TEXT NOT NULL DEFAULT 'done';
      ALTER TABLE job_credits ADD COLUMN cost INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE job_credits ADD COLUMN claimed_prompt INTEGER;
      ALTER TABLE job_credits ADD COLUMN claimed_completion INTEGER;
      ALTER TABLE job_credits ADD COLUMN coefficient_milli INTEGER NOT NULL DEFAULT 1000;
      -- A hold lives until its job's deadline; expired ones are refunded by a sweep and at start.
      ALTER TABLE holds ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX holds_by_expiry ON holds (expires_at);
      CREATE INDEX job_credits_by_account ON job_credits (account, earned);
      -- Jobs settled before this step: what the client paid beyond the credits was the commission,
      -- charged against a hold at least as large.
      UPDATE jobs SET commission = cost - IFNULL((SELECT SUM(earned) FROM job_credits c WHERE c.job_id = jobs.job_id), 0), held = cost;
      UPDATE job_credits SET cost = earned;
      UPDATE job_credits SET cost = earned + (SELECT commission FROM jobs WHERE jobs.job_id = job_credits.job_id)
        WHERE rowid IN (SELECT MIN(rowid) FROM job_credits GROUP BY job_id);
    `,
  },
  {
    version: 3,
    name: 'covering indexes for the books audit',
    // The audit (audit.ts) reads a million jobs in seconds with these: each job's books by one
    // ordered walk of jobs_books beside job_credits_books, each client's charges from
    // jobs_by_client, with no table lookups and no sorting; jobs charged past their hold from a
    // partial index that sound books keep empty.
    sql: `
      CREATE INDEX jobs_books ON jobs (job_id, cost, commission);
      CREATE INDEX job_credits_books ON job_credits (job_id, cost, earned);
      CREATE INDEX jobs_by_client ON jobs (client_id, cost);
      CREATE INDEX jobs_over_hold ON jobs (job_id) WHERE client_id != 'unmetered' AND cost > held;
    `,
  },
  {
    version: 4,
    name: 'a job id whose hold was given back whole is never held again',
    // A hold refunded whole (released, expired, or left by a previous run) leaves its job id
    // here, so a client cannot take that id again: a settlement kept while the store was away
    // could otherwise land on the new job's hold (store.ts, reserve).
    sql: `
      CREATE TABLE refunded_holds (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount INTEGER NOT NULL, refunded_at INTEGER NOT NULL);
    `,
  },
  {
    version: 5,
    name: 'the books of jobs in flight, checkpointed for a coordinator that dies mid-job',
    // Replaced whole every few seconds by the jobs then in flight (store.ts, checkpoint); the
    // next start settles what it finds before refunding the rest of their holds.
    sql: `
      CREATE TABLE job_checkpoints (job_id TEXT PRIMARY KEY, job TEXT NOT NULL, at INTEGER NOT NULL);
    `,
  },
  {
    version: 6,
    name: 'client receipts judged against the workers that disputed them, and paused receipts',
    // One row per sealed job whose client posted a receipt, naming the worker that disputed it
    // (client-receipts.ts); receipt_standing holds each paused client, and when the operator last
    // resumed it (its window counts receipts after that).
    sql: `
      CREATE TABLE client_receipts (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, disputed_by TEXT, at INTEGER NOT NULL);
      CREATE INDEX client_receipts_by_client ON client_receipts (client_id, at);
      CREATE TABLE receipt_standing (client_id TEXT PRIMARY KEY, paused_at INTEGER, counted_from INTEGER NOT NULL DEFAULT 0, disputed INTEGER NOT NULL DEFAULT 0, workers INTEGER NOT NULL DEFAULT 0);
    `,
  },
];
