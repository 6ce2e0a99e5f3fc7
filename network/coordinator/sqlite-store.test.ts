/** The embedded SQLite store's own guarantees (WAL, adopting old files); the shared contract is in store-contract.test.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BooksError, openSqliteStore } from './sqlite-store.js';
import { StoreUnavailableError } from './store.js';
import { credit, job, receipt } from './store-contract.js';

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

test('a database that cannot be written (full, read-only) fails each write as unavailable and unwritten, reads go on, and writes work again after', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
    try {
      store.deposit('c', 1000n, 'd');
      const db = (store as unknown as { db: Database.Database }).db;
      // Full: SQLite's page limit at the file's size, so a write that needs one page more fails.
      db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true }))}`);
      let held = 0;
      const full = (() => {
        try {
          for (; ; held++) store.reserve('c', `job-${held}-${'x'.repeat(200)}`, 1n, Date.now() + 60_000);
        } catch (error) {
          return error;
        }
      })();
      assert.ok(full instanceof StoreUnavailableError, String(full));
      assert.equal(full.unwritten, true);
      assert.match(full.message, /SQLITE_FULL/);
      assert.equal(store.balance('c'), 1000n - BigInt(held), 'the hold that failed took nothing');
      // The books' own refusals are not the disk's: they pass through as they were.
      assert.throws(() => store.settle(job('unheld', [credit('A', 'w', 5n, 4n)]), receipt), BooksError);
      // Read-only (a file system remounted read-only): every write fails alike, reads answer.
      db.pragma('max_page_count = 1073741823');
      db.pragma('query_only = ON');
      assert.throws(() => store.deposit('c', 5n, 'd2'), (error: unknown) => error instanceof StoreUnavailableError && error.unwritten && /SQLITE_READONLY/.test(error.message));
      assert.throws(() => store.group(() => store.release('job-0-' + 'x'.repeat(200))), StoreUnavailableError);
      assert.equal(store.balance('c'), 1000n - BigInt(held));
      db.pragma('query_only = OFF');
      assert.equal(store.reserve('c', 'after', 1n, Date.now() + 60_000), 'held');
      assert.equal(store.deposit('c', 5n, 'd2'), true);
    } finally {
      store.close();
    }
  }));

test('a group of calls in which the disk failed is undone whole and fails as unavailable, so every call of it is made again', () =>
  withStore((dir) => {
    const store = openSqliteStore(dir);
    try {
      store.deposit('c', 1000n, 'd');
      for (const id of ['g-1', 'g-2']) assert.equal(store.reserve('c', id, 100n, Date.now() + 60_000), 'held');
      const db = (store as unknown as { db: Database.Database }).db;
      const outcomes: unknown[] = [];
      // As billing groups the settlements of one turn: each call's error caught on its own.
      assert.throws(
        () =>
          store.group(() => {
            for (const id of ['g-1', 'g-2']) {
              try {
                outcomes.push(store.settle(job(id, [credit('A', 'w', 30n, 27n)]), receipt)?.length);
              } catch (error) {
                outcomes.push(error instanceof StoreUnavailableError ? 'unavailable' : error);
              }
              db.pragma('query_only = ON'); // the disk stops taking writes after the first
            }
          }),
        (error: unknown) => error instanceof StoreUnavailableError && error.unwritten && /SQLITE_READONLY/.test(error.message),
      );
      assert.deepEqual(outcomes, [1, 'unavailable']);
      db.pragma('query_only = OFF');
      assert.equal(store.account('A').cumulative, 0n, 'the first settlement was undone with the group');
      assert.equal(store.balance('c'), 800n);
      // Made again, both land, once.
      store.group(() => {
        for (const id of ['g-1', 'g-2']) assert.equal(store.settle(job(id, [credit('A', 'w', 30n, 27n)]), receipt)?.length, 1);
      });
      assert.equal(store.account('A').cumulative, 54n);
      assert.equal(store.balance('c'), 940n);
    } finally {
      store.close();
    }
  }));
