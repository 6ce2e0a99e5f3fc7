/**
 * The store contract against each engine: SQLite (embedded default) and a real PostgreSQL
 * started for this file (skipped, with the reason, only where its binaries are missing).
 */
import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, missingBinary, startPostgres, type TestEngine } from '../node-kit/test-engines.js';
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

const pgMissing = missingBinary('postgres');
if (pgMissing) console.log(`skipped: PostgreSQL store contract — ${pgMissing}`);
let server: TestEngine | undefined;
let databases = 0;
before(async () => {
  if (!pgMissing) server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

storeContract({
  name: 'postgres',
  skip: pgMissing ?? false,
  async prepare() {
    // A fresh database per test; the same instance id on every open, as a restarted instance.
    const url = await createDatabase(server!.url, `contract_${++databases}`);
    return { open: () => openPgStoreSync({ url, instanceId: 'instance-a', poolSize: 2 }), cleanup: async () => undefined };
  },
});
