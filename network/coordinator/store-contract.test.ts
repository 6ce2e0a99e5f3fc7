/**
 * The store contract against each engine: SQLite (embedded default) and a real PostgreSQL
 * started for this file (skipped, with the reason, only where its binaries are missing).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testPostgres } from '../node-kit/test-postgres.js';
import { openPgStoreSync } from './pg-store-bridge.js';
import { openSqliteStore } from './sqlite-store.js';
import { storeContract } from './store-contract.js';

storeContract({
  name: 'sqlite',
  skip: false,
  async prepare() {
    const dir = await mkdtemp(join(tmpdir(), 'silkworm-store-'));
    return { open: async () => openSqliteStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
});

const postgres = testPostgres('PostgreSQL store contract');

storeContract({
  name: 'postgres',
  skip: postgres.skip,
  async prepare() {
    // A fresh database per test; the same instance id on every open, as a restarted instance.
    const url = await postgres.database('contract');
    return { open: () => openPgStoreSync({ url, instanceId: 'instance-a', poolSize: 2 }), cleanup: async () => undefined };
  },
});
