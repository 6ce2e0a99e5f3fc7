/**
 * Picks the coordinator's store from `--store`: the embedded SQLite file in the data folder by
 * default (one instance), or a PostgreSQL database shared by several instances.
 */
import { openPgStoreSync } from './pg-store-bridge.js';
import { openSqliteStore } from './sqlite-store.js';
import type { CoordinatorStore } from './store.js';

/** Where the store lives: `sqlite` (default) or a postgres:// / postgresql:// URL. */
export type StoreSpec = string | undefined;

/** Checks a `--store` value; the message says what is accepted. */
export function parseStoreSpec(value: string | undefined): { ok: true; value: StoreSpec } | { ok: false; message: string } {
  if (value === undefined || value === 'sqlite') return { ok: true, value: undefined };
  if (/^postgres(ql)?:\/\//.test(value)) return { ok: true, value };
  return { ok: false, message: `expected 'sqlite' or a postgres://user@host:port/db URL, got '${value}'.` };
}

/**
 * Opens the store. `instanceId` names this instance on the holds it takes in a shared store,
 * so its restart refunds its own holds and never another live instance's.
 */
export async function openCoordinatorStore(spec: StoreSpec, dataDir: string, instanceId: string): Promise<CoordinatorStore> {
  if (spec === undefined) return openSqliteStore(dataDir);
  return openPgStoreSync({ url: spec, instanceId });
}

/** A URL fit for a log line: the password, if any, left out. */
export function redactStoreUrl(spec: StoreSpec): string {
  if (spec === undefined) return 'sqlite';
  try {
    const url = new URL(spec);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres (unparsable URL)';
  }
}
