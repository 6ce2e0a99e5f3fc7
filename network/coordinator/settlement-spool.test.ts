/**
 * The file of settlements kept while the shared store is away: what goes in comes back exactly
 * (amounts as bigint, marked late), survives reopening, and a row that cannot be read back is
 * reported and left in place rather than dropped. The same for writes to workers' standing,
 * where one begun when the instance stopped is dropped rather than made twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SettlementSpool, SPOOL_FILE, type StandingWrite } from './settlement-spool.js';
import type { SettledJob } from './store.js';

const kept = (jobId: string): SettledJob => ({
  jobId,
  clientId: 'client-1',
  model: 'm',
  outcome: 'done',
  charge: 123_456_789_012_345_678n,
  commission: 12_345_678_901_234_568n,
  credits: [
    { account: 'worker:w1', workerId: 'w1', cost: 123_456_789_012_345_678n, earned: 111_111_110_111_111_110n, promptTokens: 10, completionTokens: 20, coefficientMilli: 1000, claimed: { promptTokens: 10, completionTokens: 25 } },
  ],
});

/** A row's text as the spool writes it, with `over` changed. */
const stored = (job: SettledJob, over: Record<string, unknown> = {}) => JSON.stringify({ ...job, late: true, ...over }, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));

test('kept settlements come back exactly, marked late, after reopening; dropped ones do not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-spool-'));
  try {
    const spool = SettlementSpool.open(dir);
    spool.keep(kept('job-a'));
    spool.keep(kept('job-b'));
    spool.keep({ ...kept('job-c'), clientId: 'unmetered', credits: [], charge: 0n, commission: 0n });
    spool.drop('job-b');
    spool.close();

    const again = SettlementSpool.open(dir);
    const { jobs, unreadable } = again.load();
    assert.deepEqual(unreadable, []);
    assert.deepEqual(jobs, [
      { ...kept('job-a'), late: true },
      { ...kept('job-c'), clientId: 'unmetered', credits: [], charge: 0n, commission: 0n, late: true },
    ]);
    again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a row that cannot be read back is reported with its job id and left in the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-spool-'));
  try {
    const spool = SettlementSpool.open(dir);
    spool.keep(kept('job-good'));
    spool.close();
    const raw = new Database(join(dir, SPOOL_FILE));
    raw.prepare('INSERT INTO kept (job_id, job, kept_at) VALUES (?, ?, ?)').run('job-torn', '{"jobId":"job-to', 1);
    raw.prepare('INSERT INTO kept (job_id, job, kept_at) VALUES (?, ?, ?)').run('job-negative', stored(kept('job-negative'), { charge: '-5' }), 2);
    raw.prepare('INSERT INTO kept (job_id, job, kept_at) VALUES (?, ?, ?)').run('job-other', stored(kept('job-elsewhere')), 3);
    raw.close();

    const again = SettlementSpool.open(dir);
    const { jobs, unreadable } = again.load();
    assert.deepEqual(
      jobs.map((j) => j.jobId),
      ['job-good'],
    );
    assert.deepEqual(
      unreadable.map((u) => u.jobId),
      ['job-torn', 'job-negative', 'job-other'],
    );
    assert.match(unreadable[0]!.why, /JSON/);
    assert.match(unreadable[1]!.why, /charge/);
    assert.match(unreadable[2]!.why, /names job job-elsewhere/);
    assert.equal(again.load().unreadable.length, 3, 'still there for the operator');
    again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('kept standing writes come back as written; those begun when the run stopped are dropped, not made twice; unreadable ones stay', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-spool-'));
  try {
    const spool = SettlementSpool.open(dir);
    const event: StandingWrite = { kind: 'event', workerId: 'w1', event: 'clean', at: 1_700_000_000_000, speed: { ttftMs: 12.5, tokensPerSecond: 40 } };
    const strike: StandingWrite = { kind: 'event', workerId: 'w2', event: 'verify_failed', at: 1_700_000_000_001 };
    const dispute: StandingWrite = { kind: 'dispute', dispute: { jobId: 'job-1', workerId: 'w1', kind: 'completion_tokens', claimed: 50, counted: 40, at: 1_700_000_000_002 } };
    const landed: StandingWrite = { kind: 'event', workerId: 'w3', event: 'lost', at: 1 };
    const receipt: StandingWrite = { kind: 'receipt', receipt: { jobId: 'job-2', clientId: 'c1', disputedBy: null, at: 1_700_000_000_003 } };
    const [a, b, c, d, e] = [event, strike, dispute, landed, receipt].map((w) => spool.keepStanding(w)) as [number, number, number, number, number];
    assert.equal(spool.standingWrites(), 5);
    // A round: all four begun; d landed, a's try never reached the database; b and c were under way when the instance stopped.
    spool.beginStanding([a, b, c, d]);
    spool.endStanding([d], [a]);
    spool.close();

    const raw = new Database(join(dir, SPOOL_FILE));
    raw.prepare('INSERT INTO kept_standing (write, kept_at) VALUES (?, ?)').run('{"kind":"eve', 5);
    raw.prepare('INSERT INTO kept_standing (write, kept_at) VALUES (?, ?)').run(JSON.stringify({ ...strike, event: 'bribed' }), 6);
    raw.close();

    const again = SettlementSpool.open(dir);
    const found = again.takeUpStanding();
    assert.deepEqual(found.writes, [{ id: a, write: event }, { id: e, write: receipt }], 'e was kept and never tried');
    assert.equal(found.begun, 2, 'b and c may have been recorded: dropped');
    assert.equal(found.unreadable.length, 2);
    assert.match(found.unreadable[0]!.why, /JSON/);
    assert.match(found.unreadable[1]!.why, /event/);
    assert.equal(again.standingWrites(), 4, 'the two to make again and the two unreadable stay');
    assert.deepEqual(again.takeUpStanding().begun, 0);
    again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
