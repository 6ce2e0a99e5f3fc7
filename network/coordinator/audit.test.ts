/**
 * The audit finds exactly the rows that break each rule of the books, and nothing in sound books,
 * on both stores: the SQLite file of one coordinator and the PostgreSQL database several share
 * (the same books written through each store, broken by the same SQL, found alike). The
 * PostgreSQL half needs `postgres` (skipped, with the reason, where it is missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openSqliteStore } from './sqlite-store.js';
import { openPgStore } from './pg-store.js';
import { auditCoordinator, type AuditReport } from './audit.js';
import type { EitherStore, SettledJob, WorkerCredit } from './store.js';
import { receipt } from './store-contract.js';
import { testPostgres } from '../node-kit/test-postgres.js';

function credit(account: string, workerId: string, cost: bigint, earned: bigint): WorkerCredit {
  return { account, workerId, cost, earned, promptTokens: 5, completionTokens: 10, coefficientMilli: 1000 };
}

function job(jobId: string, clientId: string, credits: WorkerCredit[]): SettledJob {
  const charge = credits.reduce((s, c) => s + c.cost, 0n);
  return { jobId, clientId, model: 'm', outcome: 'done', charge, commission: charge - credits.reduce((s, c) => s + c.earned, 0n), credits };
}

const NOW = 1_700_000_000_000;

/** Sound books: two clients, metered and unmetered jobs, a two-worker job, an open hold. */
async function writeSoundBooks(store: EitherStore): Promise<void> {
  await store.deposit('alice', 10_000n, 'd1');
  await store.deposit('alice', 5_000n, 'd2');
  await store.deposit('bob', 3_000n, 'd3');
  for (const [id, client] of [['j1', 'alice'], ['j2', 'alice'], ['j3', 'bob'], ['j4', 'bob']] as const) await store.reserve(client, id, 1_000n, NOW + 60_000);
  await store.settle(job('j1', 'alice', [credit('A', 'w1', 200n, 180n)]), receipt);
  await store.settle(job('j2', 'alice', [credit('A', 'w1', 100n, 90n), credit('B', 'w2', 300n, 270n)]), receipt);
  await store.settle(job('j3', 'bob', [credit('B', 'w2', 50n, 45n)]), receipt);
  await store.settle(job('u1', 'unmetered', [credit('C', 'w3', 70n, 63n)]), receipt);
  await store.markPushed('A', 270n);
}

/** Sound books in one engine's store, to break with raw SQL (the store itself refuses to write such books) and audit. */
interface Books {
  tamper(sql: string): Promise<void>;
  audit(): Promise<AuditReport>;
  remove(): Promise<void>;
}

const postgres = testPostgres('the audit on PostgreSQL');

const ENGINES: { name: string; skip: string | false; books: () => Promise<Books> }[] = [
  {
    name: 'SQLite',
    skip: false,
    books: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'silkworm-audit-'));
      const store = openSqliteStore(dir);
      await writeSoundBooks(store);
      store.close();
      return {
        tamper: async (sql) => {
          const db = new Database(join(dir, 'coordinator.sqlite'));
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
        audit: () => auditCoordinator(dir, { now: NOW }),
        remove: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'PostgreSQL',
    skip: postgres.skip,
    books: async () => {
      const url = await postgres.database('audit');
      const store = await openPgStore({ url, instanceId: 'audit' });
      try {
        await writeSoundBooks(store);
      } finally {
        await store.close();
      }
      return {
        tamper: async (sql) => {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            await client.query(sql);
          } finally {
            await client.end();
          }
        },
        audit: () => auditCoordinator('', { store: url, now: NOW }),
        remove: async () => undefined,
      };
    },
  },
];

/** Findings as { rule: rows } with rows in a stable order (the rules promise no order). */
function found(report: AuditReport): Record<string, unknown[]> {
  const key = (row: unknown) => JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return Object.fromEntries(report.findings.map((f) => {
    assert.equal(f.count, f.rows.length);
    return [f.rule, [...f.rows].sort((x, y) => key(x).localeCompare(key(y)))];
  }));
}

for (const engine of ENGINES) {
  /** A test on sound books of this engine; `run` breaks them and audits. */
  const booksTest = (name: string, run: (books: Books) => Promise<void>) =>
    test(`${engine.name}: ${name}`, { skip: engine.skip }, async () => {
      const books = await engine.books();
      try {
        await run(books);
      } finally {
        await books.remove();
      }
    });

  booksTest('sound books pass every rule', async (books) => {
    const report = await books.audit();
    assert.deepEqual(report.findings, []);
    assert.equal(report.ok, true);
    assert.deepEqual(report.checked, { jobs: 4, accounts: 3, clients: 2, holds: 1 });
  });

  booksTest('job_balanced: a charge off its credits, a commission off its split, a job without credits, a negative commission', async (books) => {
    await books.tamper(`
      UPDATE jobs SET cost = cost + 1 WHERE job_id = 'j1';
      UPDATE jobs SET commission = commission + 1 WHERE job_id = 'j2';
      UPDATE job_credits SET cost = cost - 5, earned = earned + 5 WHERE job_id = 'j3';
      UPDATE jobs SET commission = -5 WHERE job_id = 'j3';
      INSERT INTO jobs (job_id, client_id, model, cost, commission, held, outcome, settled_at) VALUES ('j9', 'unmetered', 'm', 7, 0, 0, 'done', 1);
      INSERT INTO jobs (job_id, client_id, model, cost, commission, held, outcome, settled_at) VALUES ('j0', 'unmetered', 'm', 0, 0, 0, 'done', 1);`);
    const report = found(await books.audit());
    assert.deepEqual(report.job_balanced, [
      { job_id: 'j1', charge: 201n, commission: 20n, credit_costs: 200n, credits: 180n },
      { job_id: 'j2', charge: 400n, commission: 41n, credit_costs: 400n, credits: 360n },
      { job_id: 'j3', charge: 50n, commission: -5n, credit_costs: 45n, credits: 50n },
      { job_id: 'j9', charge: 7n, commission: 0n, credit_costs: 0n, credits: 0n },
    ]);
  });

  booksTest('charge_within_hold: a metered job charged past its hold; unmetered jobs have none', async (books) => {
    await books.tamper(`UPDATE jobs SET held = 199 WHERE job_id = 'j1'; UPDATE jobs SET held = 0 WHERE job_id = 'u1';`);
    assert.deepEqual(found(await books.audit()), {
      charge_within_hold: [{ job_id: 'j1', client_id: 'alice', charge: 200n, held: 199n }],
    });
  });

  booksTest('account_matches: a total off its credits, and credits to an account that does not exist', async (books) => {
    await books.tamper(`UPDATE accounts SET cumulative = cumulative + 3, pushed = 0 WHERE account = 'A'; DELETE FROM accounts WHERE account = 'C';`);
    assert.deepEqual(found(await books.audit()), {
      account_matches: [
        { account: 'A', cumulative: 273n, credits: 270n },
        { account: 'C', cumulative: null, credits: 63n },
      ],
    });
  });

  booksTest('pushed_within_credit: pushed past the total, or negative', async (books) => {
    await books.tamper(`UPDATE accounts SET pushed = 271 WHERE account = 'A'; UPDATE accounts SET pushed = -1 WHERE account = 'B';`);
    assert.deepEqual(found(await books.audit()), {
      pushed_within_credit: [
        { account: 'A', cumulative: 270n, pushed: 271n },
        { account: 'B', cumulative: 315n, pushed: -1n },
      ],
    });
  });

  booksTest('client_conserved: a balance off, a client known only by a deposit, a hold or a job', async (books) => {
    await books.tamper(`
      UPDATE clients SET balance = balance + 1 WHERE id = 'alice';
      INSERT INTO deposits (reference, client_id, amount) VALUES ('d9', 'carol', 40);
      INSERT INTO holds (job_id, client_id, amount, expires_at) VALUES ('h9', 'dave', 30, ${NOW + 60_000});
      INSERT INTO jobs (job_id, client_id, model, cost, commission, held, outcome, settled_at) VALUES ('j8', 'erin', 'm', 5, 5, 5, 'done', 1);`);
    const report = found(await books.audit());
    assert.deepEqual(report.client_conserved, [
      { client: 'alice', deposits: 15_000n, balance: 14_401n, holds: 0n, charges: 600n },
      { client: 'carol', deposits: 40n, balance: 0n, holds: 0n, charges: 0n },
      { client: 'dave', deposits: 0n, balance: 0n, holds: 30n, charges: 0n },
      { client: 'erin', deposits: 0n, balance: 0n, holds: 0n, charges: 5n },
    ]);
  });

  booksTest('client_conserved counts a client named "unmetered" like any other, with the unmetered jobs charged to it', async (books) => {
    await books.tamper(`INSERT INTO clients (id, balance) VALUES ('unmetered', 0);`);
    assert.deepEqual(found(await books.audit()).client_conserved, [
      { client: 'unmetered', deposits: 0n, balance: 0n, holds: 0n, charges: 70n },
    ]);
  });

  booksTest('hold_expired: a hold at or past its deadline', async (books) => {
    await books.tamper(`UPDATE holds SET expires_at = ${NOW} WHERE job_id = 'j4';`);
    assert.deepEqual(found(await books.audit()), {
      hold_expired: [{ job_id: 'j4', client_id: 'bob', amount: 1000n, expires_at: BigInt(NOW) }],
    });
  });

// SQLite's own: the indexes migration 3 added for the audit.
  if (engine.name === 'SQLite')
    booksTest('a store from before the audit indexes (migration 3) is audited the same', async (books) => {
    await books.tamper(`DROP INDEX jobs_books; DROP INDEX job_credits_books; DROP INDEX jobs_by_client; DROP INDEX jobs_over_hold;
      UPDATE jobs SET cost = cost + 1 WHERE job_id = 'j1'; UPDATE clients SET balance = balance - 1 WHERE id = 'bob'; UPDATE jobs SET held = 1 WHERE job_id = 'j3';`);
    assert.deepEqual(found(await books.audit()), {
      job_balanced: [{ job_id: 'j1', charge: 201n, commission: 20n, credit_costs: 200n, credits: 180n }],
      charge_within_hold: [{ job_id: 'j3', client_id: 'bob', charge: 50n, held: 1n }],
      client_conserved: [
        { client: 'alice', deposits: 15_000n, balance: 14_400n, holds: 0n, charges: 601n },
        { client: 'bob', deposits: 3_000n, balance: 1_949n, holds: 1_000n, charges: 50n },
      ],
    });
  });
}
