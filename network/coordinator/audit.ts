/**
 * The books' invariants, checked over a coordinator's whole store (`silkworm coordinator
 * audit`): each is one SQL query that returns the rows breaking it, so an operator sees exactly
 * what is wrong. Reads only; safe beside a running coordinator (WAL readers do not block it).
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
  sql: string;
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

/** Audits the store in `dataDir`; `paidOnChain` (from the vault) adds the chain rule. */
export async function auditCoordinator(dataDir: string, options: { now?: number; paidOnChain?: (account: string) => Promise<bigint> } = {}): Promise<AuditReport> {
  const db = new Database(join(dataDir, 'coordinator.sqlite'), { readonly: true, fileMustExist: true });
  try {
    db.defaultSafeIntegers(true);
    // A store not yet migrated to version 3 (its coordinator still runs the previous build) lacks
    // the audit's indexes: the same queries then run without them, only slower.
    const indexes = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).pluck().all() as string[]);
    const withIndexes = (sql: string) => sql.replace(/ INDEXED BY (\w+)/g, (clause, name: string) => (indexes.has(name) ? clause : ''));
    const count = (table: string) => Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: bigint }).n);
    const checked = { jobs: count('jobs'), accounts: count('accounts'), clients: count('clients'), holds: count('holds') };
    const findings: AuditFinding[] = [];
    const now = options.now ?? Date.now();
    // One read transaction: every rule sees the same snapshot.
    db.exec('BEGIN');
    for (const rule of RULES) {
      const statement = db.prepare(withIndexes(rule.sql));
      const rows = (rule.sql.includes('@now') ? statement.all({ now }) : statement.all()) as Record<string, unknown>[];
      if (rows.length > 0) findings.push({ rule: rule.rule, description: rule.description, count: rows.length, rows: rows.slice(0, SHOWN_ROWS) });
    }
    const accounts = options.paidOnChain ? (db.prepare(`SELECT account, cumulative FROM accounts WHERE account NOT LIKE 'worker:%'`).all() as { account: string; cumulative: bigint }[]) : [];
    db.exec('COMMIT');
    if (options.paidOnChain) {
      const over: Record<string, unknown>[] = [];
      for (const { account, cumulative } of accounts) {
        const paid = await options.paidOnChain(account);
        if (paid > cumulative) over.push({ account, cumulative, paid_on_chain: paid });
      }
      if (over.length > 0) findings.push({ rule: 'paid_within_credit', description: 'paid on chain ≤ credited, per account', count: over.length, rows: over.slice(0, SHOWN_ROWS) });
    }
    return { ok: findings.length === 0, checked, findings };
  } finally {
    db.close();
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
