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
  {
    version: 2,
    name: 'a settlement in one call: receipts keep their figures, and their frames are built when sent',
    // A receipt written from here on stores the figures only the settlement knows (its account's
    // total and number after the credit); the rest is the job's and the credit's rows. Its frame,
    // and the voucher in it, are built from them when sent (pg-store.ts): Ed25519 signatures are
    // deterministic, so every resend is the same. Rows written before keep the frame they were
    // sent. New rows store an empty frame rather than none: an instance of the previous build
    // still running during an upgrade fails to parse it and sends that worker nothing (it logs
    // the failure), where a NULL would reach the worker as a malformed frame.
    // The function's checks raise SW001 (the books' error); any raise rolls the whole call back.
    sql: `
      ALTER TABLE receipts ADD COLUMN cumulative BIGINT, ADD COLUMN account_seq BIGINT,
        ADD CONSTRAINT receipts_frame_or_figures CHECK (frame <> '' OR (cumulative IS NOT NULL AND account_seq IS NOT NULL));
      CREATE FUNCTION silkworm_settle(
        p_job TEXT, p_client TEXT, p_model TEXT, p_charge BIGINT, p_commission BIGINT, p_outcome TEXT, p_now BIGINT,
        p_metered BOOLEAN, p_max_account BIGINT, p_accounts TEXT[], p_workers TEXT[], p_costs BIGINT[], p_earned BIGINT[],
        p_prompt INTEGER[], p_completion INTEGER[], p_claimed_prompt INTEGER[], p_claimed_completion INTEGER[], p_coefficient INTEGER[]
      ) RETURNS JSON LANGUAGE plpgsql AS $settle$
      DECLARE
        v_inserted BIGINT;
        v_hold_client TEXT;
        v_hold_amount BIGINT;
        v_credits BIGINT;
        v_costs NUMERIC;
        v_earned NUMERIC;
        v_receipts_stored BIGINT;
        v_beyond TEXT;
        v_figures JSON;
      BEGIN
        -- One statement for the hold, the job, its credits, the account totals and the receipts.
        WITH hold AS (DELETE FROM holds WHERE job_id = p_job RETURNING client_id, amount),
        job AS (
          INSERT INTO jobs (job_id, client_id, model, cost, commission, held, outcome, settled_at)
          SELECT p_job, p_client, p_model, p_charge, p_commission, COALESCE((SELECT amount FROM hold), 0), p_outcome, p_now
          ON CONFLICT DO NOTHING RETURNING job_id),
        credit AS (
          SELECT * FROM unnest(p_accounts, p_workers, p_costs, p_earned, p_prompt, p_completion, p_claimed_prompt, p_claimed_completion, p_coefficient)
            WITH ORDINALITY AS u(account, worker_id, cost, earned, prompt_tokens, completion_tokens, claimed_prompt, claimed_completion, coefficient_milli, ord)
          WHERE EXISTS (SELECT 1 FROM job)),
        credited AS (
          INSERT INTO job_credits (job_id, account, worker_id, cost, earned, prompt_tokens, completion_tokens, claimed_prompt, claimed_completion, coefficient_milli)
          SELECT p_job, account, worker_id, cost, earned, prompt_tokens, completion_tokens, claimed_prompt, claimed_completion, coefficient_milli FROM credit
          RETURNING cost, earned),
        total AS (
          -- In account order, so two settlements crediting the same accounts lock them in the same order.
          INSERT INTO accounts (account, cumulative, seq)
          SELECT account, SUM(earned), COUNT(*) FROM credit GROUP BY account ORDER BY account
          ON CONFLICT (account) DO UPDATE SET cumulative = accounts.cumulative + excluded.cumulative, seq = accounts.seq + excluded.seq
          RETURNING account, cumulative, seq),
        -- Each credit's receipt, numbered after its worker's last, with its account's total and
        -- number as if the job's credits were made one after another, in order.
        receipt AS (
          SELECT credit.ord, credit.worker_id,
            (SELECT COALESCE(MAX(r.seq), 0) + 1 FROM receipts r WHERE r.worker_id = credit.worker_id) AS seq,
            total.cumulative - COALESCE(SUM(credit.earned) OVER later, 0) AS cumulative,
            total.seq - COUNT(*) OVER later AS account_seq
          FROM credit JOIN total ON total.account = credit.account
          WINDOW later AS (PARTITION BY credit.account ORDER BY credit.ord DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)),
        stored AS (INSERT INTO receipts (worker_id, seq, job_id, frame, cumulative, account_seq) SELECT worker_id, seq, p_job, '', cumulative, account_seq FROM receipt RETURNING 1)
        SELECT (SELECT COUNT(*) FROM job), (SELECT client_id FROM hold), (SELECT amount FROM hold),
          (SELECT COUNT(*) FROM credited), (SELECT COALESCE(SUM(cost), 0) FROM credited), (SELECT COALESCE(SUM(earned), 0) FROM credited),
          (SELECT COUNT(*) FROM stored), (SELECT format('%s out of bounds: %s', account, cumulative) FROM total WHERE cumulative > p_max_account ORDER BY account LIMIT 1),
          (SELECT COALESCE(json_agg(json_build_object('seq', seq, 'cumulative', cumulative::text, 'accountSeq', account_seq) ORDER BY ord), '[]') FROM receipt)
        INTO v_inserted, v_hold_client, v_hold_amount, v_credits, v_costs, v_earned, v_receipts_stored, v_beyond, v_figures;
        IF v_inserted = 0 THEN
          -- Settled before (or meanwhile, by another instance): a settled job has no hold left.
          IF v_hold_amount IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'SW001', MESSAGE = format('job %s: settled, yet a hold of %s was left.', p_job, v_hold_amount);
          END IF;
          RETURN NULL;
        END IF;
        IF p_metered AND p_charge > COALESCE(v_hold_amount, 0) THEN
          RAISE EXCEPTION USING ERRCODE = 'SW001', MESSAGE = format('job %s: charge %s exceeds its hold %s.', p_job, p_charge, COALESCE(v_hold_amount, 0));
        END IF;
        IF v_beyond IS NOT NULL THEN
          RAISE EXCEPTION USING ERRCODE = 'SW001', MESSAGE = format('account %s (allowed 0..%s).', v_beyond, p_max_account);
        END IF;
        -- The books again, from the rows written: what was stored is what was checked.
        IF v_credits <> cardinality(p_workers) OR v_receipts_stored <> v_credits THEN
          RAISE EXCEPTION USING ERRCODE = 'SW001', MESSAGE = format('job %s: %s credits and %s receipts stored of %s.', p_job, v_credits, v_receipts_stored, cardinality(p_workers));
        END IF;
        IF v_costs <> p_charge OR v_earned + p_commission <> p_charge THEN
          RAISE EXCEPTION USING ERRCODE = 'SW001', MESSAGE = format('job %s: stored credits %s/%s do not match charge %s and commission %s.', p_job, v_costs, v_earned, p_charge, p_commission);
        END IF;
        -- What the hold had above the charge goes back to the client, whose row is locked last.
        IF v_hold_client IS NOT NULL THEN
          UPDATE clients SET balance = balance + GREATEST(v_hold_amount - p_charge, 0) WHERE id = v_hold_client;
          IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'SW001', MESSAGE = format('job %s: the refund of its hold found no client %s.', p_job, v_hold_client);
          END IF;
        END IF;
        RETURN v_figures;
      END
      $settle$;
    `,
  },
  {
    version: 3,
    name: 'the settlements, and the holds, of one turn in one call, their rows locked in one order',
    // silkworm_settle for each job in turn, in one transaction: one round trip, one commit (and
    // one flush of the log) for a batch. Each job is a subtransaction: one the books refuse
    // (SW001), or that fails otherwise, is undone alone and reported in its place; a deadlock, a
    // serialization failure or a key collision fails the whole call, which the store runs again.
    // A batch holds its locks until its commit, so a batch of several jobs takes every row lock
    // they need first, in one order for every settlement (holds by job, accounts by name as
    // silkworm_settle orders them, clients by id in byte order as the expiry sweep does; one
    // job's own statement takes them in that order), and two batches crediting the same
    // accounts, or refunding the same clients, in other orders wait for each other rather than
    // deadlock. Then each job's statement runs with a snapshot taken after those waits, so a
    // worker's next receipt number is read after the settlements that held its account were
    // committed, and does not collide with theirs. An account a job credits is created at 0
    // before the job runs (ON CONFLICT … WHERE FALSE locks an existing row without writing it);
    // a job undone leaves that row at 0, as unpaid.
    // silkworm_reserve_batch takes the holds of one turn the same way: the clients' rows locked
    // first, by id in byte order, then each hold as the single statement takes it (pg-store.ts), in order, so
    // a second hold on one client sees the first one's debit. It answers 'held', 'short' or
    // 'duplicate' for each; an error fails the whole call (a hold taken meanwhile by another
    // instance for the same job collides on the key, and the call runs again).
    sql: `
      CREATE FUNCTION silkworm_settle_batch(
        p_jobs TEXT[], p_clients TEXT[], p_models TEXT[], p_charges BIGINT[], p_commissions BIGINT[], p_outcomes TEXT[], p_metered BOOLEAN[],
        p_credits_end INTEGER[], p_now BIGINT, p_max_account BIGINT, p_accounts TEXT[], p_workers TEXT[], p_costs BIGINT[], p_earned BIGINT[],
        p_prompt INTEGER[], p_completion INTEGER[], p_claimed_prompt INTEGER[], p_claimed_completion INTEGER[], p_coefficient INTEGER[]
      ) RETURNS JSON LANGUAGE plpgsql AS $batch$
      DECLARE
        v_results JSON[] := ARRAY[]::JSON[];
        v_from INTEGER := 1;
        v_to INTEGER;
      BEGIN
        IF cardinality(p_credits_end) <> cardinality(p_jobs) OR COALESCE(p_credits_end[cardinality(p_credits_end)], 0) <> cardinality(p_workers) THEN
          RAISE EXCEPTION USING ERRCODE = 'SW001', MESSAGE = format('a batch of %s jobs whose credits end at %s, of %s credits.', cardinality(p_jobs), p_credits_end, cardinality(p_workers));
        END IF;
        -- One job's own statement takes its locks in this order already; unmetered jobs have no hold.
        IF cardinality(p_jobs) > 1 THEN
          IF TRUE = ANY(p_metered) THEN
            PERFORM 1 FROM holds WHERE job_id = ANY(p_jobs) ORDER BY job_id FOR UPDATE;
          END IF;
          INSERT INTO accounts (account, cumulative, seq) SELECT DISTINCT account, 0, 0 FROM unnest(p_accounts) AS u(account) ORDER BY account
            ON CONFLICT (account) DO UPDATE SET seq = accounts.seq WHERE FALSE;
          IF TRUE = ANY(p_metered) THEN
            PERFORM 1 FROM clients WHERE id IN (SELECT client_id FROM holds WHERE job_id = ANY(p_jobs)) ORDER BY id COLLATE "C" FOR UPDATE;
          END IF;
        END IF;
        FOR i IN 1 .. cardinality(p_jobs) LOOP
          v_to := p_credits_end[i];
          BEGIN
            v_results := v_results || json_build_object('figures', silkworm_settle(
              p_jobs[i], p_clients[i], p_models[i], p_charges[i], p_commissions[i], p_outcomes[i], p_now, p_metered[i], p_max_account,
              p_accounts[v_from:v_to], p_workers[v_from:v_to], p_costs[v_from:v_to], p_earned[v_from:v_to], p_prompt[v_from:v_to],
              p_completion[v_from:v_to], p_claimed_prompt[v_from:v_to], p_claimed_completion[v_from:v_to], p_coefficient[v_from:v_to]));
          EXCEPTION
            WHEN SQLSTATE 'SW001' THEN
              v_results := v_results || json_build_object('refused', SQLERRM);
            WHEN OTHERS THEN
              IF SQLSTATE IN ('40001', '40P01', '23505') THEN
                RAISE;
              END IF;
              v_results := v_results || json_build_object('failed', SQLERRM, 'code', SQLSTATE);
          END;
          v_from := v_to + 1;
        END LOOP;
        RETURN array_to_json(v_results);
      END
      $batch$;
      CREATE FUNCTION silkworm_reserve_batch(p_clients TEXT[], p_jobs TEXT[], p_amounts BIGINT[], p_expires BIGINT[], p_owner TEXT)
      RETURNS TEXT[] LANGUAGE plpgsql AS $reserve$
      DECLARE
        v_results TEXT[] := ARRAY[]::TEXT[];
        v_duplicate BOOLEAN;
        v_held BOOLEAN;
      BEGIN
        PERFORM 1 FROM clients WHERE id = ANY(p_clients) ORDER BY id COLLATE "C" FOR UPDATE;
        FOR i IN 1 .. cardinality(p_jobs) LOOP
          WITH used AS (SELECT 1 FROM jobs WHERE job_id = p_jobs[i] UNION ALL SELECT 1 FROM holds WHERE job_id = p_jobs[i] LIMIT 1),
          debit AS (UPDATE clients SET balance = balance - p_amounts[i] WHERE id = p_clients[i] AND balance >= p_amounts[i] AND NOT EXISTS (SELECT 1 FROM used) RETURNING id),
          hold AS (INSERT INTO holds (job_id, client_id, amount, expires_at, owner) SELECT p_jobs[i], p_clients[i], p_amounts[i], p_expires[i], p_owner FROM debit RETURNING job_id)
          SELECT EXISTS (SELECT 1 FROM used), EXISTS (SELECT 1 FROM hold) INTO v_duplicate, v_held;
          v_results := v_results || CASE WHEN v_duplicate THEN 'duplicate' WHEN v_held THEN 'held' ELSE 'short' END;
        END LOOP;
        RETURN v_results;
      END
      $reserve$;
    `,
  },
  {
    version: 4,
    name: 'a late settlement holds its charge again when its hold expired while the store was away',
    // silkworm_settle_batch, first holding again, from the client's balance, the charge of each
    // late settlement (one an instance kept while the database could not be reached) whose hold is
    // gone and whose job was never settled: its hold expired meanwhile, and an expiry sweep
    // refunded it. Where the balance no longer covers the charge nothing is held, and
    // silkworm_settle refuses the job as one beyond its hold. The hold row is locked first, so a
    // sweep refunding it at that moment is waited for and then seen as gone; each statement of the
    // function reads what was committed before it began. A hold taken again is settled in the
    // same transaction, so it never outlives it. The function of version 3 stays as it was, for
    // an instance of the previous build still running during an upgrade.
    sql: `
      CREATE FUNCTION silkworm_settle_batch_late(
        p_late BOOLEAN[], p_owner TEXT,
        p_jobs TEXT[], p_clients TEXT[], p_models TEXT[], p_charges BIGINT[], p_commissions BIGINT[], p_outcomes TEXT[], p_metered BOOLEAN[],
        p_credits_end INTEGER[], p_now BIGINT, p_max_account BIGINT, p_accounts TEXT[], p_workers TEXT[], p_costs BIGINT[], p_earned BIGINT[],
        p_prompt INTEGER[], p_completion INTEGER[], p_claimed_prompt INTEGER[], p_claimed_completion INTEGER[], p_coefficient INTEGER[]
      ) RETURNS JSON LANGUAGE plpgsql AS $late$
      BEGIN
        IF cardinality(p_late) <> cardinality(p_jobs) THEN
          RAISE EXCEPTION USING ERRCODE = 'SW001', MESSAGE = format('a batch of %s jobs with %s late flags.', cardinality(p_jobs), cardinality(p_late));
        END IF;
        FOR i IN 1 .. cardinality(p_jobs) LOOP
          IF p_late[i] AND p_metered[i] THEN
            PERFORM 1 FROM holds WHERE job_id = p_jobs[i] FOR UPDATE;
            IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM jobs WHERE job_id = p_jobs[i]) THEN
              UPDATE clients SET balance = balance - p_charges[i] WHERE id = p_clients[i] AND balance >= p_charges[i];
              IF FOUND THEN
                INSERT INTO holds (job_id, client_id, amount, expires_at, owner) VALUES (p_jobs[i], p_clients[i], p_charges[i], p_now, p_owner);
              END IF;
            END IF;
          END IF;
        END LOOP;
        RETURN silkworm_settle_batch(p_jobs, p_clients, p_models, p_charges, p_commissions, p_outcomes, p_metered, p_credits_end, p_now,
          p_max_account, p_accounts, p_workers, p_costs, p_earned, p_prompt, p_completion, p_claimed_prompt, p_claimed_completion, p_coefficient);
      END
      $late$;
    `,
  },
  {
    version: 5,
    name: 'a job id whose hold was given back whole is never held again',
    // A hold refunded whole (released, expired, or left by an instance's previous run) leaves its
    // job id in refunded_holds, and a hold is taken only for a job id in none of jobs, holds and
    // refunded_holds. Otherwise a client could take the id of a job whose hold expired during an
    // outage, and the settlement an instance kept for the first job would land on the second
    // job's hold. silkworm_reserve_batch is redefined with that check; an instance of the
    // previous build still running during an upgrade calls the new one.
    sql: `
      CREATE TABLE refunded_holds (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount BIGINT NOT NULL, refunded_at BIGINT NOT NULL);
      CREATE OR REPLACE FUNCTION silkworm_reserve_batch(p_clients TEXT[], p_jobs TEXT[], p_amounts BIGINT[], p_expires BIGINT[], p_owner TEXT)
      RETURNS TEXT[] LANGUAGE plpgsql AS $reserve$
      DECLARE
        v_results TEXT[] := ARRAY[]::TEXT[];
        v_duplicate BOOLEAN;
        v_held BOOLEAN;
      BEGIN
        PERFORM 1 FROM clients WHERE id = ANY(p_clients) ORDER BY id COLLATE "C" FOR UPDATE;
        FOR i IN 1 .. cardinality(p_jobs) LOOP
          WITH used AS (
            SELECT 1 FROM jobs WHERE job_id = p_jobs[i] UNION ALL SELECT 1 FROM holds WHERE job_id = p_jobs[i]
            UNION ALL SELECT 1 FROM refunded_holds WHERE job_id = p_jobs[i] LIMIT 1
          ),
          debit AS (UPDATE clients SET balance = balance - p_amounts[i] WHERE id = p_clients[i] AND balance >= p_amounts[i] AND NOT EXISTS (SELECT 1 FROM used) RETURNING id),
          hold AS (INSERT INTO holds (job_id, client_id, amount, expires_at, owner) SELECT p_jobs[i], p_clients[i], p_amounts[i], p_expires[i], p_owner FROM debit RETURNING job_id)
          SELECT EXISTS (SELECT 1 FROM used), EXISTS (SELECT 1 FROM hold) INTO v_duplicate, v_held;
          v_results := v_results || CASE WHEN v_duplicate THEN 'duplicate' WHEN v_held THEN 'held' ELSE 'short' END;
        END LOOP;
        RETURN v_results;
      END
      $reserve$;
    `,
  },
  {
    version: 6,
    name: 'the books of jobs in flight, checkpointed for an instance that dies mid-job',
    // Each instance replaces its own rows (owner) every few seconds with the jobs it then has in
    // flight (store.ts, checkpoint); its next start settles what it finds before refunding the
    // rest of their holds. An instance that never comes back leaves its rows; their holds are
    // refunded whole by the others' expiry sweeps, as before.
    sql: `
      CREATE TABLE job_checkpoints (job_id TEXT PRIMARY KEY, owner TEXT NOT NULL, job TEXT NOT NULL, at BIGINT NOT NULL);
      CREATE INDEX job_checkpoints_by_owner ON job_checkpoints (owner);
    `,
  },
  {
    version: 7,
    name: 'client receipts judged against the workers that disputed them, and paused receipts',
    // One row per sealed job whose client posted a receipt, naming the worker that disputed it
    // (client-receipts.ts); receipt_standing, one row per client that posted one, is locked while
    // a receipt is judged, and holds its pause and when the operator last resumed it.
    sql: `
      CREATE TABLE client_receipts (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, disputed_by TEXT, at BIGINT NOT NULL);
      CREATE INDEX client_receipts_by_client ON client_receipts (client_id, at);
      CREATE TABLE receipt_standing (client_id TEXT PRIMARY KEY, paused_at BIGINT, counted_from BIGINT NOT NULL DEFAULT 0, disputed BIGINT NOT NULL DEFAULT 0, workers BIGINT NOT NULL DEFAULT 0);
    `,
  },
];
