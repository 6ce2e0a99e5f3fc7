/** The audit bench's fast builder writes exactly the rows the real store and Billing write. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { replayBooks, writeBooksBulk, type BooksSpec } from './coordinator-books.js';
import { auditCoordinator } from '../network/coordinator/audit.js';

/** Every row of every books table, in primary-key order (settled_at aside: the store stamps it with the clock). */
function dump(dir: string): Record<string, unknown[]> {
  const db = new Database(join(dir, 'coordinator.sqlite'), { readonly: true });
  db.defaultSafeIntegers(true);
  try {
    const all = (sql: string) => db.prepare(sql).all();
    return {
      clients: all('SELECT * FROM clients ORDER BY id'),
      deposits: all('SELECT * FROM deposits ORDER BY reference'),
      holds: all('SELECT * FROM holds ORDER BY job_id'),
      jobs: all('SELECT job_id, client_id, model, cost, commission, held, outcome FROM jobs ORDER BY job_id'),
      job_credits: all('SELECT * FROM job_credits ORDER BY job_id, worker_id'),
      accounts: all('SELECT * FROM accounts ORDER BY account'),
      receipts: all('SELECT * FROM receipts ORDER BY worker_id, seq'),
      disputes: all('SELECT * FROM disputes ORDER BY id'),
    };
  } finally {
    db.close();
  }
}

test('bulk-written books equal the books the store writes, and pass the audit', async () => {
  const real = await mkdtemp(join(tmpdir(), 'silkworm-books-real-'));
  const bulk = await mkdtemp(join(tmpdir(), 'silkworm-books-bulk-'));
  try {
    const spec: BooksSpec = { jobs: 400, clients: 12, workers: 40, openHolds: 5, start: Date.now() - 400 * 31_000, seed: 7 };
    replayBooks(real, spec);
    const written = writeBooksBulk(bulk, spec);
    const expected = dump(real);
    const actual = dump(bulk);
    assert.deepEqual(written, { jobs: 400, credits: expected.job_credits!.length });
    for (const table of Object.keys(expected)) assert.deepEqual(actual[table], expected[table], table);
    // The history has what the audit looks at: unmetered jobs, two-worker jobs, claims, pushes, acks, open holds.
    assert.ok(expected.jobs!.some((j) => (j as { client_id: string }).client_id === 'unmetered'));
    assert.ok(expected.job_credits!.length > 400);
    assert.ok(expected.job_credits!.some((c) => (c as { claimed_completion: unknown }).claimed_completion !== null));
    assert.ok(expected.accounts!.some((a) => (a as { pushed: bigint }).pushed > 0n));
    assert.ok(expected.receipts!.some((r) => (r as { acked: bigint }).acked === 1n));
    assert.equal(expected.holds!.length, 5);
    const report = await auditCoordinator(bulk);
    assert.deepEqual(report.findings, []);
    assert.deepEqual(report.checked, { jobs: 400, accounts: expected.accounts!.length, clients: 12, holds: 5 });
  } finally {
    await rm(real, { recursive: true, force: true });
    await rm(bulk, { recursive: true, force: true });
  }
});
