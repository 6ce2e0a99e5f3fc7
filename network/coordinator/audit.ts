/**
 * The books' invariants, checked over a coordinator's whole store (`silkworm coordinator
 * audit`): each is one SQL query that returns the rows breaking it, so an operator sees exactly
 * what is wrong. Reads only, in one snapshot; safe beside running coordinators (WAL readers do
 * not block SQLite's writer; on PostgreSQL, shared by several instances, one REPEATABLE READ
 * READ ONLY transaction, which blocks no writer either).
 *
 *   job_balanced          every job: charge = Σ credit costs = Σ credits + commission
 *   charge_within_hold    every metered job: charge ≤ what was held for it
 *   account_matches       every earnings account: cumulative = Σ of its credits
 *   pushed_within_credit  every account: pushed ≤ credited (a voucher is signed for every credit)
 *   client_conserved      every client: deposits = balance + holds + charges
 *   hold_expired          no hold outlives its job's deadline (a live job never does)
 *   paid_within_credit    with a chain: every account was paid on chain no more than it was credited
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';
import { redactStoreUrl, type StoreSpec } from './open-store.js';

/** One broken rule and the rows that break it (at most 50 shown). */
export interface AuditFinding {
  rule: string;
  description: string;
  count: number;
  rows: Record<string, unknown>[];
}

/** What an audit found. */
export interface AuditReport {
  ok: boolean;
  checked: { jobs: number; accounts: number; clients: number; holds: number };
  findings: AuditFinding[];
}

interface Rule {
  rule: string;
  description: string;
  /** SQLite's text; PostgreSQL runs it without the index hints, IFNULL as COALESCE, @now as $1. */
  sql: string;
  /** PostgreSQL's text, where the translation above is not enough. */
  pgSql?: string;
}

const RULES: readonly Rule[] = [
  {
    rule: 'job_balanced',
    description: 'charge = Σ credit costs = Σ credits + commission, per job',
    // Walks jobs_books in job id order, summing each job's credits from job_credits_books
    // (migration 3): both covering, so no table lookups and no sort. A job without credits sums to 0.
    sql: `SELECT j.job_id, j.cost AS charge, j.commission, IFNULL(SUM(c.cost), 0) AS credit_costs, IFNULL(SUM(c.earned), 0) AS credits
          FROM jobs j INDEXED BY jobs_books LEFT JOIN job_credits c INDEXED BY job_credits_books ON c.job_id = j.job_id
          GROUP BY j.job_id
          HAVING j.cost != credit_costs OR j.cost != credits + j.commission OR j.commission < 0`,
    // PostgreSQL names no output column in HAVING.
    pgSql: `SELECT j.job_id, j.cost AS charge, j.commission, COALESCE(SUM(c.cost), 0) AS credit_costs, COALESCE(SUM(c.earned), 0) AS credits
          FROM jobs j LEFT JOIN job_credits c ON c.job_id = j.job_id
          GROUP BY j.job_id
          HAVING j.cost != COALESCE(SUM(c.cost), 0) OR j.cost != COALESCE(SUM(c.earned), 0) + j.commission OR j.commission < 0`,
  },
  {
    rule: 'charge_within_hold',
    description: 'charge ≤ hold, per metered job',
    // From the partial index jobs_over_hold (migration 3), empty in sound books.
    sql: `SELECT job_id, client_id, cost AS charge, held FROM jobs INDEXED BY jobs_over_hold WHERE client_id != 'unmetered' AND cost > held`,
  },
  {
    rule: 'account_matches',
    description: 'account cumulative = Σ of its credits',
    // Σ per account once (job_credits_by_account, covering), then matched both ways.
    sql: `WITH c AS MATERIALIZED (SELECT account, SUM(earned) AS earned FROM job_credits GROUP BY account)
          SELECT a.account, a.cumulative, IFNULL(c.earned, 0) AS credits
          FROM accounts a LEFT JOIN c ON c.account = a.account
          WHERE a.cumulative != IFNULL(c.earned, 0)
          UNION ALL
          SELECT c.account, NULL, c.earned FROM c LEFT JOIN accounts a ON a.account = c.account WHERE a.account IS NULL`,
  },
  {
    rule: 'pushed_within_credit',
    description: 'pushed ≤ credited (= vouchered), per account',
    sql: `SELECT account, cumulative, pushed FROM accounts WHERE pushed > cumulative OR pushed < 0`,
  },
  {
    rule: 'client_conserved',
    description: 'deposits = balance + holds + charges, per client',
    // Each sum once (charges from jobs_by_client, covering, in client order); the clients are
    // those of any table, unmetered jobs aside, taken from the sums rather than the rows.
    sql: `WITH d AS MATERIALIZED (SELECT client_id, SUM(amount) AS v FROM deposits GROUP BY client_id),
          h AS MATERIALIZED (SELECT client_id, SUM(amount) AS v FROM holds GROUP BY client_id),
          j AS MATERIALIZED (SELECT client_id, SUM(cost) AS v FROM jobs INDEXED BY jobs_by_client GROUP BY client_id),
          ids AS (SELECT id FROM clients UNION SELECT client_id FROM d UNION SELECT client_id FROM h UNION SELECT client_id FROM j WHERE client_id != 'unmetered')
          SELECT ids.id AS client, IFNULL(d.v, 0) AS deposits, IFNULL(c.balance, 0) AS balance, IFNULL(h.v, 0) AS holds, IFNULL(j.v, 0) AS charges
          FROM ids LEFT JOIN clients c ON c.id = ids.id LEFT JOIN d ON d.client_id = ids.id LEFT JOIN h ON h.client_id = ids.id LEFT JOIN j ON j.client_id = ids.id
          WHERE IFNULL(d.v, 0) != IFNULL(c.balance, 0) + IFNULL(h.v, 0) + IFNULL(j.v, 0)`,
  },
  {
    rule: 'hold_expired',
    description: 'no hold past its job’s deadline',
    sql: `SELECT job_id, client_id, amount, expires_at FROM holds WHERE expires_at <= @now`,
  },
];

const SHOWN_ROWS = 50;

/** What the rules read, in one snapshot. */
interface Snapshot {
  checked: AuditReport['checked'];
  /** The rows breaking each rule, in RULES' order. */
  broken: Record<string, unknown>[][];
  /** Every account with a payout address, and its total (when asked for). */
  accounts: { account: string; cumulative: bigint }[];
}

/** Options of {@link auditCoordinator}. */
export interface AuditOptions {
  /** The shared store (a postgres:// URL) instead of the SQLite file in the data folder. */
  store?: StoreSpec;
  /** What "now" is for hold_expired (ms; default the clock). */
  now?: number;
  /** What the vault paid an account on chain: adds the chain rule. */
  paidOnChain?: (account: string) => Promise<bigint>;
}

const COUNTED = ['jobs', 'accounts', 'clients', 'holds'] as const;
const PAYOUT_ACCOUNTS = `SELECT account, cumulative FROM accounts WHERE account NOT LIKE 'worker:%'`;

/** Audits the store in `dataDir` (or `options.store`); `paidOnChain` (from the vault) adds the chain rule. */
export async function auditCoordinator(dataDir: string, options: AuditOptions = {}): Promise<AuditReport> {
  const now = options.now ?? Date.now();
  const wantAccounts = options.paidOnChain !== undefined;
  const read = options.store === undefined ? readSqlite(dataDir, now, wantAccounts) : await readPostgres(options.store, now, wantAccounts);
  const findings: AuditFinding[] = [];
  RULES.forEach((rule, i) => {
    const rows = read.broken[i]!;
    if (rows.length > 0) findings.push({ rule: rule.rule, description: rule.description, count: rows.length, rows: rows.slice(0, SHOWN_ROWS) });
  });
  if (options.paidOnChain) {
    const over: Record<string, unknown>[] = [];
    for (const { account, cumulative } of read.accounts) {
      const paid = await options.paidOnChain(account);
      if (paid > cumulative) over.push({ account, cumulative, paid_on_chain: paid });
    }
    if (over.length > 0) findings.push({ rule: 'paid_within_credit', description: 'paid on chain ≤ credited, per account', count: over.length, rows: over.slice(0, SHOWN_ROWS) });
  }
  return { ok: findings.length === 0, checked: read.checked, findings };
}

function readSqlite(dataDir: string, now: number, wantAccounts: boolean): Snapshot {
  const db = new Database(join(dataDir, 'coordinator.sqlite'), { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    // A store not yet migrated to version 3 (its coordinator still runs the previous build) lacks
    // the audit's indexes: the same queries then run without them, only slower.
    const indexes = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).pluck().all() as string[]);
    const withIndexes = (sql: string) => sql.replace(/ INDEXED BY (\w+)/g, (clause, name: string) => (indexes.has(name) ? clause : ''));
    // One read transaction: every rule sees the same snapshot.
    db.exec('BEGIN');
    const count = (table: string) => Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: bigint }).n);
    const checked = Object.fromEntries(COUNTED.map((t) => [t, count(t)])) as AuditReport['checked'];
    const broken = RULES.map((rule) => {
      const statement = db.prepare(withIndexes(rule.sql));
      return (rule.sql.includes('@now') ? statement.all({ now }) : statement.all()) as Record<string, unknown>[];
    });
    const accounts = wantAccounts ? (db.prepare(PAYOUT_ACCOUNTS).all() as { account: string; cumulative: bigint }[]) : [];
    db.exec('COMMIT');
    return { checked, broken, accounts };
  } finally {
    db.close();
  }
}

/** BIGINT and NUMERIC (what SUM of BIGINT gives) as bigint, as SQLite's safe integers read. */
const bigintTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC ? (text: string) => BigInt(text) : pg.types.getTypeParser(oid, format))) as pg.CustomTypesConfig['getTypeParser'],
};

async function readPostgres(url: string, now: number, wantAccounts: boolean): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: url, types: bigintTypes, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    // One snapshot for every rule, however many instances write meanwhile.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const counts = (await client.query(`SELECT ${COUNTED.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(', ')}`)).rows[0] as Record<(typeof COUNTED)[number], bigint>;
      const checked = Object.fromEntries(COUNTED.map((t) => [t, Number(counts[t])])) as AuditReport['checked'];
      const broken: Record<string, unknown>[][] = [];
      for (const rule of RULES) {
        const text = rule.pgSql ?? rule.sql.replace(/ INDEXED BY \w+/g, '').replace(/IFNULL\(/g, 'COALESCE(').replace('@now', '$1');
        broken.push((await client.query(text, rule.sql.includes('@now') ? [now] : [])).rows as Record<string, unknown>[]);
      }
      const accounts = wantAccounts ? ((await client.query(PAYOUT_ACCOUNTS)).rows as { account: string; cumulative: bigint }[]) : [];
      return { checked, broken, accounts };
    } finally {
      await client.query('COMMIT');
    }
  } catch (error) {
    // An empty database, or another one: say so rather than name a missing table.
    if ((error as { code?: unknown }).code === '42P01') throw new Error(`${redactStoreUrl(url)} holds no coordinator books (${(error as Error).message}).`);
    throw error;
  } finally {
    await client.end();
  }
}

/** The report as text for an operator (bigints as plain numbers). */
export function formatAudit(report: AuditReport): string {
  const lines = [`checked ${report.checked.jobs} jobs, ${report.checked.accounts} accounts, ${report.checked.clients} clients, ${report.checked.holds} holds`];
  if (report.ok) lines.push('ok: every invariant holds');
  for (const f of report.findings) {
    lines.push(`FAIL ${f.rule} (${f.description}): ${f.count} row(s)`);
    for (const row of f.rows) lines.push(`  ${JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  }
  return lines.join('\n');
}
