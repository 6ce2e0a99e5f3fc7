// Child process of the crash test (crash.test.ts): credits jobs through the real JobStore in a
// tight loop and prints "ack <jobId>" after each commit, until the test SIGKILLs it. Plain .mjs
// so it starts fast; it imports the ledger modules the test transpiled into MODULES_DIR.
// It boots, then waits for "go <replayIds>" on stdin before touching the database, so the
// test can start the next writer while the current one runs (there is still one writer at a time).
// argv: MODULES_DIR DB_PATH RUN_ID
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { creditFor } from './crash-credit.mjs';

const [modulesDir, dbPath, runId] = process.argv.slice(2);
const load = (name) => import(pathToFileURL(join(modulesDir, name)).href);
const { openLedgerDb } = await load('db.js');
const { JobStore } = await load('jobs.js');

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const go = (await lines.next()).value ?? '';
if (!go.startsWith('go')) process.exit(0); // the test ended without needing this writer
const replay = go.slice(3).split(',').filter(Boolean);

const db = openLedgerDb(dbPath);
// Reported so the test can prove every writer ran with the settings crash safety rests on.
writeSync(1, `durability ${db.pragma('journal_mode', { simple: true })} ${db.pragma('synchronous', { simple: true })}\n`);
const jobs = new JobStore(db, (ms) => new Date(ms).toISOString().slice(0, 10));
// Acknowledged credits sent again must be duplicates, never second credits.
for (const id of replay) {
  const status = jobs.recordJob(creditFor(id));
  if (status !== 'duplicate') {
    writeSync(2, `replayed credit ${id} was ${status}, expected duplicate\n`);
    process.exit(3);
  }
}
writeSync(1, 'ready\n');
// Even runs: recordJob, one credit per transaction. Odd runs write the way group commit does:
// recordJobs, a batch of 1-20 credits per transaction, all acknowledged after it commits.
if (Number(runId.slice(1)) % 2 === 0) {
  for (let i = 0; ; i++) {
    const id = `${runId}-${i}`;
    if (jobs.recordJob(creditFor(id)) === 'recorded') writeSync(1, `ack ${id}\n`);
  }
}
for (let i = 0; ; ) {
  const ids = Array.from({ length: 1 + (i % 20) }, (_, k) => `${runId}-${i + k}`);
  i += ids.length;
  const statuses = jobs.recordJobs(ids.map(creditFor));
  const fresh = ids.filter((_, k) => statuses[k] === 'recorded');
  if (fresh.length) writeSync(1, fresh.map((id) => `ack ${id}\n`).join(''));
}
