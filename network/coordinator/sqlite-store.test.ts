/** The embedded SQLite store's own guarantees (WAL, adopting old files); the shared contract is in store-contract.test.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from './sqlite-store.js';

async function withStore(run: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-store-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('every connection runs with WAL and synchronous=FULL', () =>
  withStore((dir) => {
    openSqliteStore(dir).close();
    const db = new Database(join(dir, 'coordinator.sqlite'));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  }));

test('a store created before named migrations adopts them without losing data', () =>
  withStore((dir) => {
    const legacy = new Database(join(dir, 'coordinator.sqlite'));
    legacy.exec(`CREATE TABLE clients (id TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));
      CREATE TABLE deposits (reference TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount INTEGER NOT NULL);
      CREATE TABLE holds (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, amount INTEGER NOT NULL);
      CREATE TABLE jobs (job_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, model TEXT NOT NULL, cost INTEGER NOT NULL, settled_at INTEGER NOT NULL);
      CREATE TABLE job_credits (job_id TEXT NOT NULL, account TEXT NOT NULL, worker_id TEXT NOT NULL, earned INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, PRIMARY KEY (job_id, worker_id));
      CREATE TABLE accounts (account TEXT PRIMARY KEY, cumulative INTEGER NOT NULL, seq INTEGER NOT NULL, pushed INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO clients VALUES ('c', 77);
      PRAGMA user_version = 1;`);
    legacy.close();
    const store = openSqliteStore(dir);
    assert.equal(store.balance('c'), 77n);
    assert.equal(store.reserve('c', 'j', 7n, Date.now() + 1000), 'held');
    store.close();
  }));
