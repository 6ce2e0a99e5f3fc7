/**
 * Opens the worker ledger's SQLite database through the shared durable opener (WAL,
 * synchronous=FULL, safe integers, named migrations; network/node-kit/sqlite.ts). Kept free of
 * @ton imports so the crash test's child process loads only this, migrations.ts and jobs.ts.
 */
import { migrate as migrateDb, openDurableDb, schemaVersion, type DurableDb, type Migration } from '../../network/node-kit/sqlite.js';
import { MIGRATIONS } from './migrations.js';

export { schemaVersion };

/** A ledger connection (better-sqlite3, safe-integer mode). */
export type LedgerDb = DurableDb;

/** Options of {@link openLedgerDb}. */
export interface OpenLedgerDbOptions {
  /** Migrations to apply (tests inject broken ones); default: MIGRATIONS. */
  migrations?: readonly Migration[];
  /** How long a write waits for a lock held by another connection. */
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) and migrates the ledger at `path` (':memory:' for tests). */
export function openLedgerDb(path: string, options: OpenLedgerDbOptions = {}): LedgerDb {
  return openDurableDb(path, { migrations: options.migrations ?? MIGRATIONS, what: 'ledger', ...(options.busyTimeoutMs !== undefined ? { busyTimeoutMs: options.busyTimeoutMs } : {}) });
}

/** Applies every migration above the current version, each in its own transaction. */
export function migrate(db: LedgerDb, migrations: readonly Migration[]): number {
  return migrateDb(db, migrations, 'ledger');
}
