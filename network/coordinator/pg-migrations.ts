/**
 * The coordinator store's schema on PostgreSQL, as named, numbered migrations (pg-store.ts runs
 * them under an advisory lock, so instances starting together migrate once). The tables mirror
 * the SQLite schema (migrations.ts) at its latest version. Money is BIGINT nanotons.
 * Never edit a shipped migration; add the next number.
 */
import type { Migration } from '../node-kit/sqlite.js';

/** Every migration, in order. */
export const PG_COORDINATOR_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'clients, deposits, holds, jobs, credits, accounts, settings, worker keys, disputes, receipts outbox',
    sql: `
      CREATE TABLE clients (id TEXT PRIMARY KEY, balance BIGINT NOT NULL CHECK (balance >= 0));
      CREATE TABLE deposits (reference TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount BIGINT NOT NULL);
      -- owner: the coordinator instance that took the hold (a restart refunds its own at once).
      CREATE TABLE holds (
        job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount BIGINT NOT NULL CHECK (amount >= 0),
        expires_at BIGINT NOT NULL DEFAULT 0, owner TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX holds_by_owner ON holds (owner);
      CREATE INDEX holds_by_expiry ON holds (expires_at);
      CREATE TABLE jobs (
        job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, model TEXT NOT NULL, cost BIGINT NOT NULL,
        commission BIGINT NOT NULL, held BIGINT NOT NULL, outcome TEXT NOT NULL, settled_at BIGINT NOT NULL
      );
      CREATE INDEX jobs_by_client ON jobs (client_id, cost);
      CREATE TABLE job_credits (
        job_id TEXT NOT NULL, account TEXT NOT NULL, worker_id TEXT NOT NULL, cost BIGINT NOT NULL, earned BIGINT NOT NULL,
        prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, claimed_prompt INTEGER, claimed_completion INTEGER,
        coefficient_milli INTEGER NOT NULL, PRIMARY KEY (job_id, worker_id)
      );
      CREATE INDEX job_credits_by_account ON job_credits (account, earned);
      CREATE TABLE accounts (account TEXT PRIMARY KEY, cumulative BIGINT NOT NULL, seq BIGINT NOT NULL, pushed BIGINT NOT NULL DEFAULT 0);
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      -- A worker id belongs to the first identity key that proved it (hello signature), for good.
      CREATE TABLE worker_keys (
        worker_id TEXT PRIMARY KEY, identity_key TEXT NOT NULL, first_seen BIGINT NOT NULL,
        reputation DOUBLE PRECISION NOT NULL, strikes BIGINT NOT NULL DEFAULT 0, clean_jobs BIGINT NOT NULL DEFAULT 0,
        disputes BIGINT NOT NULL DEFAULT 0, cutoffs BIGINT NOT NULL DEFAULT 0, verify_failures BIGINT NOT NULL DEFAULT 0,
        lost_jobs BIGINT NOT NULL DEFAULT 0, ttft_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
        tokens_per_second DOUBLE PRECISION NOT NULL DEFAULT 0, ejected_at BIGINT
      );
      CREATE TABLE disputes (
        id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, job_id TEXT NOT NULL, worker_id TEXT NOT NULL,
        kind TEXT NOT NULL, claimed BIGINT NOT NULL, counted BIGINT NOT NULL
      );
      CREATE INDEX disputes_by_worker ON disputes (worker_id);
      -- Receipts are written with the settlement and kept until the worker acknowledges them;
      -- the key makes a worker's receipt numbers unique whichever instance settled.
      CREATE TABLE receipts (
        worker_id TEXT NOT NULL, seq BIGINT NOT NULL, job_id TEXT NOT NULL, frame TEXT NOT NULL,
        acked BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (worker_id, seq)
      );
      CREATE INDEX receipts_unacked ON receipts (worker_id, seq) WHERE NOT acked;
    `,
  },
];
