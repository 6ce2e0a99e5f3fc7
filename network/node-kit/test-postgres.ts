/**
 * A PostgreSQL cluster for one test file: started before its tests and stopped after them, or
 * skipped (with the reason printed) where the binaries are missing. Each test takes a fresh
 * database of its own.
 */
import { after, before } from 'node:test';
import { createDatabase, missingBinary, startPostgres, type TestEngine } from './test-engines.js';

/** Registers the file's hooks; `skip` is the reason to skip (or false), `database` a fresh database's URL. */
export function testPostgres(what: string): { skip: string | false; database: (prefix: string) => Promise<string> } {
  const skip = missingBinary('postgres') ?? false;
  if (skip) console.log(`skipped: ${what} — ${skip}`);
  let server: TestEngine | undefined;
  let databases = 0;
  before(async () => {
    if (!skip) server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });
  return {
    skip,
    database: (prefix) => {
      if (!server) throw new Error('PostgreSQL is not running (skipped, or asked for before the tests started).');
      return createDatabase(server.url, `${prefix}_${++databases}`);
    },
  };
}
