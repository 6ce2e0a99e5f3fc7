/**
 * Opens the worker ledger's SQLite database: WAL, synchronous=FULL (a credit acknowledged is a
 * credit on disk), safe integers (every INTEGER comes back as bigint, so nanotons are exact),
 * then applies the numbered migrations that are missing. Kept free of @ton imports so the
 * crash test's child process loads only this, migrations.ts and jobs.ts.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

/** A ledger connection (better-sqlite3, safe-integer mode). */
export type LedgerDb = Database.Database;

/** Options of {@link openLedgerDb}. */
export interface OpenLedgerDbOptions {
  /** Migrations to apply (tests inject broken ones); default: MIGRATIONS. */
  migrations?: readonly Migration[];
  /** How long a write waits for a lock held by another connection. */
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) and migrates the ledger at `path` (':memory:' for tests). */
export function openLedgerDb(path: string, options: OpenLedgerDbOptions = {}): LedgerDb {
  const db = new Database(path);
  try {
    db.defaultSafeIntegers(true);
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('journal_mode = WAL');
    // FULL: in WAL mode every commit is fsynced, so an acknowledged credit survives power loss.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, options.migrations ?? MIGRATIONS);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The highest migration applied to `db` (0 for a fresh file). */
export function schemaVersion(db: LedgerDb): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: bigint | null };
  return Number(row.v ?? 0n);
}

/** Applies every migration above the current version, each in its own transaction. */
export function migrate(db: LedgerDb, migrations: readonly Migration[]): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`Migration ${index} is numbered ${migration.version}; expected ${index + 1}.`);
  });
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(`The ledger is at schema version ${current}, newer than this app knows (${migrations.length}). Update the app.`);
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
