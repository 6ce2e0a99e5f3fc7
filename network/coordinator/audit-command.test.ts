/**
 * The audit command: exit status 0 on sound books, 1 with the rows when a rule (the chain one
 * included) breaks; `--store postgres://…` audits the database several instances share. The
 * PostgreSQL test needs `postgres` (skipped, with the reason, where it is missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from './sqlite-store.js';
import { auditCoordinator, formatAudit } from './audit.js';
import { runAuditCommand } from './audit-command.js';
import pg from 'pg';
import { openPgStore } from './pg-store.js';
import { testPostgres } from '../node-kit/test-postgres.js';
import type { JobReceiptFrame, ReceiptBuilder } from './store.js';

const receipt: ReceiptBuilder = (c, total, seq): JobReceiptFrame => ({
  type: 'job.receipt', seq, jobId: 'j', model: 'm', usage: { promptTokens: 1, completionTokens: 1 }, coefficientMilli: 1000,
  costNanotons: c.cost.toString(), earnedNanotons: c.earned.toString(), account: total.account, cumulativeNanotons: total.cumulative.toString(),
});

async function soundStore(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-audit-'));
  const store = openSqliteStore(dir);
  store.deposit('c', 10_000n, 'd1');
  for (let i = 0; i < 20; i++) {
    store.reserve('c', `j${i}`, 300n, Date.now() + 60_000);
    store.settle({ jobId: `j${i}`, clientId: 'c', model: 'm', outcome: 'done', charge: 200n, commission: 20n, credits: [{ account: `A${i % 3}`, workerId: `w${i % 3}`, cost: 200n, earned: 180n, promptTokens: 1, completionTokens: 1, coefficientMilli: 1000 }] }, receipt);
  }
  store.reserve('c', 'live', 100n, Date.now() + 60_000);
  store.markPushed('A0', 500n);
  store.close();
  return dir;
}

test('a sound store passes every rule', async () => {
  const dir = await soundStore();
  try {
    const report = await auditCoordinator(dir);
    assert.deepEqual(report.findings, []);
    assert.equal(report.ok, true);
    assert.deepEqual(report.checked, { jobs: 20, accounts: 3, clients: 1, holds: 1 });
    assert.match(formatAudit(report), /ok: every invariant holds/);
    const printed: string[] = [];
    assert.equal(await runAuditCommand(['--data', dir], (text) => printed.push(text)), 0);
    assert.match(printed.join('\n'), /checked 20 jobs, 3 accounts, 1 clients, 1 holds\nok: every invariant holds/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('each broken rule is reported with its rows, and the command exits 1', async () => {
  const dir = await soundStore();
  try {
    const db = new Database(join(dir, 'coordinator.sqlite'));
    db.exec(`UPDATE jobs SET commission = commission + 1 WHERE job_id = 'j1';
      UPDATE jobs SET held = 10 WHERE job_id = 'j2';
      UPDATE accounts SET cumulative = cumulative + 7 WHERE account = 'A1';
      UPDATE accounts SET pushed = cumulative + 1 WHERE account = 'A2';
      UPDATE clients SET balance = balance + 3 WHERE id = 'c';
      UPDATE holds SET expires_at = 1 WHERE job_id = 'live';`);
    db.close();
    const paid = new Map([['A0', 10_000n]]);
    const report = await auditCoordinator(dir, { paidOnChain: async (a) => paid.get(a) ?? 0n });
    assert.equal(report.ok, false);
    const rules = Object.fromEntries(report.findings.map((f) => [f.rule, f.rows]));
    assert.deepEqual(Object.keys(rules).sort(), ['account_matches', 'charge_within_hold', 'client_conserved', 'hold_expired', 'job_balanced', 'paid_within_credit', 'pushed_within_credit']);
    assert.equal(rules.job_balanced?.[0]?.job_id, 'j1');
    assert.equal(rules.charge_within_hold?.[0]?.job_id, 'j2');
    assert.equal(rules.account_matches?.[0]?.account, 'A1');
    assert.equal(rules.hold_expired?.[0]?.job_id, 'live');
    assert.equal(rules.paid_within_credit?.[0]?.account, 'A0');
    // (Printed into a buffer: a test log that says FAIL for a passing test misleads whoever reads it.)
    const printed: string[] = [];
    assert.equal(await runAuditCommand(['--data', dir], (text) => printed.push(text)), 1);
    assert.match(printed.join('\n'), /FAIL job_balanced .*: 1 row\(s\)\n {2}\{"job_id":"j1"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const postgres = testPostgres('the audit command on PostgreSQL');

test('--store audits the PostgreSQL books several instances share: 0 when sound, 1 with the rows, a clear error for a database without books', { skip: postgres.skip }, async () => {
  const url = await postgres.database('audit_command');
  const store = await openPgStore({ url, instanceId: 'a' });
  try {
    await store.deposit('c', 10_000n, 'd1');
    for (let i = 0; i < 5; i++) {
      await store.reserve('c', `j${i}`, 300n, Date.now() + 60_000);
      await store.settle({ jobId: `j${i}`, clientId: 'c', model: 'm', outcome: 'done', charge: 200n, commission: 20n, credits: [{ account: `A${i % 2}`, workerId: `w${i % 2}`, cost: 200n, earned: 180n, promptTokens: 1, completionTokens: 1, coefficientMilli: 1000 }] }, receipt);
    }
  } finally {
    await store.close();
  }
  const printed: string[] = [];
  assert.equal(await runAuditCommand(['--store', url], (text) => printed.push(text)), 0);
  assert.match(printed.join('\n'), /checked 5 jobs, 2 accounts, 1 clients, 0 holds\nok: every invariant holds/);

  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  try {
    await raw.query(`UPDATE accounts SET cumulative = cumulative + 7 WHERE account = 'A1'`);
  } finally {
    await raw.end();
  }
  printed.length = 0;
  assert.equal(await runAuditCommand(['--store', url, '--json'], (text) => printed.push(text)), 1);
  const report = JSON.parse(printed.join('\n')) as { findings: { rule: string; rows: Record<string, unknown>[] }[] };
  assert.deepEqual(report.findings.map((f) => [f.rule, f.rows]), [['account_matches', [{ account: 'A1', cumulative: '367', credits: '360' }]]]);

  const empty = await postgres.database('audit_empty');
  await assert.rejects(runAuditCommand(['--store', empty], () => undefined), /holds no coordinator books/);
  await assert.rejects(runAuditCommand(['--store', 'mysql://x'], () => undefined), /--store: expected 'sqlite' or a postgres/);
});
