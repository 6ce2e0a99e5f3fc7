/**
 * The one way Silkworm opens an SQLite database that holds money (the coordinator's store and
 * the worker's ledger): WAL, synchronous=FULL (an acknowledged commit survives power loss),
 * safe integers (every INTEGER reads back as bigint, so nanotons stay exact), and named,
 * numbered migrations recorded in `schema_version`, each in its own IMMEDIATE transaction.
 * A database newer than the code is refused rather than guessed at.
 */
import Database from 'better-sqlite3';
import { open } from 'node:fs/promises';

/** A connection opened by {@link openDurableDb}. */
export type DurableDb = Database.Database;

/** One schema step; never edit a shipped one, add the next number. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Options of {@link openDurableDb}. */
export interface OpenDurableDbOptions {
  migrations: readonly Migration[];
  /** Names the database in errors ("ledger", "coordinator store"). */
  what: string;
  /** How long a write waits for a lock held by another connection (default 5 s). */
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) and migrates the database at `path` (':memory:' for tests). */
export function openDurableDb(path: string, options: OpenDurableDbOptions): DurableDb {
  const db = new Database(path);
  try {
    db.defaultSafeIntegers(true);
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('journal_mode = WAL');
    // FULL: in WAL mode every commit is fsynced, so an acknowledged write survives power loss.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, options.migrations, options.what);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Runs `write` committing without waiting for the fsync (synchronous=NORMAL for this one call;
 * FULL again after). In WAL mode the commit stays atomic and survives a crash of the process, and
 * the next FULL commit makes it durable too; only a power cut may roll it back to an earlier,
 * consistent state. For writes that may be lost that way (acknowledgements, standing that a job
 * will move again), never for money: thousands of workers joining or acking at once would
 * otherwise block the event loop on one fsync each.
 */
export function withoutFsync<A extends unknown[], R>(db: DurableDb, write: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    // The setting cannot change inside a transaction: there, the outer commit decides.
    if (db.inTransaction) return write(...args);
    db.pragma('synchronous = NORMAL');
    try {
      return write(...args);
    } finally {
      db.pragma('synchronous = FULL');
    }
  };
}

/**
 * Makes every commit made so far on `db` durable without blocking the event loop: fsyncs its
 * write-ahead log on libuv's thread pool. For commits made by {@link withoutFsync} whose results
 * must not be acknowledged before they are on disk. A commit already checkpointed into the main
 * file was synced by the checkpoint (SQLite syncs the log before it copies and the file after);
 * one still in the log is synced here. Rejects when the disk reports an error.
 */
export async function syncLog(db: DurableDb): Promise<void> {
  if (db.memory) return;
  let file;
  try {
    file = await open(`${db.name}-wal`, 'r');
  } catch (error) {
    // No log file: every commit went into the main file; sync that instead.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    file = await open(db.name, 'r');
  }
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

/** The durability settings a connection actually runs with (tests assert them). */
export function durability(db: DurableDb): { journalMode: string; synchronous: number } {
  return {
    journalMode: String(db.pragma('journal_mode', { simple: true })),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
  };
}

/** The highest migration applied to `db` (0 for a fresh file). */
export function schemaVersion(db: DurableDb): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: bigint | number | null };
  return Number(row.v ?? 0);
}

/** Applies every migration above the current version, each in its own transaction. */
export function migrate(db: DurableDb, migrations: readonly Migration[], what = 'database'): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`Migration ${index} is numbered ${migration.version}; expected ${index + 1}.`);
  });
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(`The ${what} is at schema version ${current}, newer than this build knows (${migrations.length}). Update Silkworm.`);
  }
  const record = db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of migrations.slice(current)) {
    // IMMEDIATE: take the write lock first, so two processes never run the same step.
    db.transaction(() => {
      if (schemaVersion(db) >= migration.version) return;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }).immediate();
  }
  return schemaVersion(db);
}
