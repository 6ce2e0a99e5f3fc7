/**
 * The worker ledger's schema, as numbered migrations. Each runs once, in its own transaction,
 * and is recorded in `schema_version`; never edit a shipped migration, add the next number.
 *
 * Money is INTEGER nanotons (SQLite's 64-bit signed integer, read back as bigint because the
 * connection runs with safe integers): 2^63 - 1 nanotons is ~9.2 billion TON, more than all
 * TON in existence. SUM() over INTEGER raises on overflow instead of rounding.
 */

import type { Migration } from '../../network/node-kit/sqlite.js';

/** Every migration, in order. Version numbers are 1, 2, 3… without gaps. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, daily rollup, vouchers, payouts, chain cursor, anomalies',
    sql: `
      -- One row per job the coordinator credited (usage included: it is 1:1 with the job).
      CREATE TABLE jobs (
        job_id            TEXT PRIMARY KEY,
        model             TEXT NOT NULL,
        finished_at       INTEGER NOT NULL,           -- unix ms
        day               TEXT NOT NULL,              -- owner's local calendar day, YYYY-MM-DD
        duration_ms       INTEGER NOT NULL DEFAULT 0, -- GPU busy time, for the electricity estimate
        prompt_tokens     INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        earned_nanotons   INTEGER NOT NULL CHECK (earned_nanotons >= 0),
        voucher_seq       INTEGER,                    -- the voucher that covers it (NULL: pending)
        paid_tx           TEXT                        -- the payout transaction that paid it
      );
      -- Live rate (last hour) and CSV order; covering, so the sum never touches the table.
      CREATE INDEX jobs_by_time ON jobs (finished_at, earned_nanotons);
      -- Small in steady state: only jobs not yet covered by a voucher / not yet paid.
      CREATE INDEX jobs_unvouched ON jobs (earned_nanotons) WHERE voucher_seq IS NULL;
      CREATE INDEX jobs_unpaid ON jobs (voucher_seq) WHERE paid_tx IS NULL;

      -- Per-day, per-model totals, maintained by the trigger below in the job's own
      -- transaction, so summaries read a few hundred rows instead of a million.
      CREATE TABLE daily_earnings (
        day               TEXT NOT NULL,
        model             TEXT NOT NULL,
        jobs              INTEGER NOT NULL,
        prompt_tokens     INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        earned_nanotons   INTEGER NOT NULL,
        busy_ms           INTEGER NOT NULL,
        PRIMARY KEY (day, model)
      ) WITHOUT ROWID;

      CREATE TRIGGER jobs_rollup AFTER INSERT ON jobs BEGIN
        INSERT INTO daily_earnings (day, model, jobs, prompt_tokens, completion_tokens, earned_nanotons, busy_ms)
        VALUES (NEW.day, NEW.model, 1, NEW.prompt_tokens, NEW.completion_tokens, NEW.earned_nanotons, NEW.duration_ms)
        ON CONFLICT (day, model) DO UPDATE SET
          jobs = jobs + 1,
          prompt_tokens = prompt_tokens + excluded.prompt_tokens,
          completion_tokens = completion_tokens + excluded.completion_tokens,
          earned_nanotons = earned_nanotons + excluded.earned_nanotons,
          busy_ms = busy_ms + excluded.busy_ms;
      END;

      -- Accepted vouchers only (refused ones become anomalies).
      CREATE TABLE vouchers (
        seq                  INTEGER PRIMARY KEY,
        cumulative_nanotons  INTEGER NOT NULL,
        vault                TEXT NOT NULL,
        worker               TEXT NOT NULL,
        signature            TEXT NOT NULL UNIQUE,
        coordinator_key      TEXT NOT NULL,
        received_at          INTEGER NOT NULL,
        paid_tx              TEXT
      );

      -- Every incoming payout-shaped message the chain watcher saw, applied or flagged.
      CREATE TABLE payouts (
        tx_hash              TEXT PRIMARY KEY,        -- hex; idempotency key
        lt                   INTEGER NOT NULL,
        utime                INTEGER NOT NULL,        -- unix s
        sender               TEXT NOT NULL,
        amount_nanotons      INTEGER NOT NULL,        -- the message value: bounded by real TON supply
        -- Body fields are whatever the sender wrote (Coins up to 2^120, uint64), so decimal TEXT.
        cumulative_nanotons  TEXT NOT NULL,
        seq                  TEXT NOT NULL,
        query_id             TEXT NOT NULL,
        status               TEXT NOT NULL CHECK (status IN ('applied', 'flagged')),
        flag_code            TEXT,
        recorded_at          INTEGER NOT NULL
      );
      CREATE INDEX payouts_applied ON payouts (lt) WHERE status = 'applied';

      -- Where the chain watcher stopped, per followed address.
      CREATE TABLE chain_cursor (
        address  TEXT PRIMARY KEY,
        lt       INTEGER NOT NULL,
        hash     TEXT NOT NULL
      );

      -- Things the owner should know about, never applied to balances.
      CREATE TABLE anomalies (
        id       INTEGER PRIMARY KEY,
        at       INTEGER NOT NULL,
        kind     TEXT NOT NULL CHECK (kind IN ('job', 'voucher', 'payout')),
        code     TEXT NOT NULL,
        ref      TEXT NOT NULL,
        message  TEXT NOT NULL,
        detail   TEXT NOT NULL DEFAULT '{}',
        UNIQUE (kind, code, ref)
      );
    `,
  },
  {
    version: 2,
    name: 'payout due and deposit, voucher chain id, vouchers by total',
    sql: `
      -- What a payout added to the payout account's paid total, and what the account kept of it
      -- for its storage rent (NULL on rows from before: their amount was the due, no deposit).
      ALTER TABLE payouts ADD COLUMN due_nanotons INTEGER;
      ALTER TABLE payouts ADD COLUMN deposit_nanotons INTEGER;
      -- The chain global id the voucher was signed for (NULL: signed before vouchers named one).
      ALTER TABLE vouchers ADD COLUMN global_id INTEGER;
      -- A payout up to total C covers the vouchers up to C: found by total.
      CREATE INDEX vouchers_by_total ON vouchers (cumulative_nanotons);
    `,
  },
];
