// The worker ledger: migrations, idempotent credits, voucher intake and payout matching.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyPairFromSeed } from '@ton/crypto';
import { randomBytes } from 'node:crypto';
import { MIGRATIONS } from './migrations.js';
import { CreditQueue } from './credit-queue.js';
import { migrate, openLedgerDb, schemaVersion } from './db.js';
import type { IncomingPayout } from './ledger.js';
import { job, ledgerWorld, openTestLedger, randomAddress } from './testing/ledger-fixtures.js';

const BIG = (1n << 62n) + 7n; // beyond 2^53: a float anywhere would lose the 7

function withTempDir<T>(run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'silkworm-ledger-'));
  try {
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('database', () => {
  test('a new file gets WAL, synchronous=FULL and every migration, once', () => {
    withTempDir((dir) => {
      const db = openLedgerDb(join(dir, 'ledger.db'));
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2n); // 2 = FULL
      assert.equal(schemaVersion(db), MIGRATIONS.length);
      db.close();
      const again = openLedgerDb(join(dir, 'ledger.db'));
      assert.equal((again.prepare('SELECT COUNT(*) AS n FROM schema_version').get() as { n: bigint }).n, BigInt(MIGRATIONS.length));
      again.close();
    });
  });

  test('a failing migration leaves nothing behind, and a newer schema is refused', () => {
    const db = openLedgerDb(':memory:');
    const broken = [...MIGRATIONS, { version: 2, name: 'broken', sql: 'CREATE TABLE extra (x INTEGER); SELECT * FROM no_such_table;' }];
    assert.throws(() => migrate(db, broken), /no_such_table/);
    assert.equal(schemaVersion(db), 1);
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").get(), undefined);
    db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (5, ?, 0)').run('future');
    assert.throws(() => migrate(db, MIGRATIONS), /newer than this build knows/);
    db.close();
  });
});

describe('job credits', () => {
  test('idempotent by job id; a different credit under a known id is flagged, not applied', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    assert.equal(ledger.recordJob(job('a', BIG)), 'recorded');
    assert.equal(ledger.recordJob(job('a', BIG)), 'duplicate');
    assert.equal(ledger.recordJob(job('a', 5n)), 'conflict');
    assert.equal(ledger.recordJob(job('b', 3n, { model: 'other' })), 'recorded');
    assert.equal(ledger.job('a')?.earnedNanotons, BIG);
    assert.equal(ledger.balances().earnedNanotons, BIG + 3n);
    assert.deepEqual(ledger.anomalies().map((a) => [a.kind, a.code, a.ref]), [['job', 'job_conflict', 'a']]);
    const [day] = ledger.totals.days('2026-03-14', '2026-03-14');
    assert.deepEqual(day, { day: '2026-03-14', jobs: 2, promptTokens: 20, completionTokens: 40, earnedNanotons: BIG + 3n, busyMs: 0 });
    ledger.close();
  });

  test('bad input is refused before it reaches the database', () => {
    const ledger = openTestLedger(ledgerWorld());
    assert.throws(() => ledger.recordJob({ ...job('x', 1n), earnedNanotons: 1 as unknown as bigint }), /bigint/);
    assert.throws(() => ledger.recordJob(job('x', -1n)), /bigint/);
    assert.throws(() => ledger.recordJob(job('x', 1n << 63n)), /2\^63/);
    assert.throws(() => ledger.recordJob(job('', 1n)), /jobId/);
    assert.throws(() => ledger.recordJob(job('x', 1n, { promptTokens: 1.5 })), /promptTokens/);
    assert.equal(ledger.balances().earnedNanotons, 0n);
    ledger.close();
  });

  test('a batch commits together', () => {
    const ledger = openTestLedger(ledgerWorld());
    assert.deepEqual(ledger.recordJobs([job('a', 1n), job('b', 2n), job('a', 1n)]), ['recorded', 'recorded', 'duplicate']);
    assert.throws(() => ledger.recordJobs([job('c', 4n), job('d', -1n)]));
    assert.equal(ledger.job('c'), undefined, 'the failed batch left nothing');
    assert.equal(ledger.balances().earnedNanotons, 3n);
    ledger.close();
  });
});

describe('group commit', () => {
  test('a burst of credits shares one commit; each caller hears back after it', async () => {
    const commits: number[] = [];
    const queue = new CreditQueue((jobs) => {
      commits.push(jobs.length);
      return jobs.map(() => 'recorded' as const);
    });
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => queue.credit(job(`q${i}`, 1n))));
    assert.equal(statuses.length, 50);
    assert.deepEqual(commits, [50]);
    await assert.rejects(queue.credit(job('bad', -1n)), RangeError);
    assert.deepEqual(commits, [50], 'a malformed credit never reaches a commit');
  });

  test('through the ledger: durable, idempotent, and a failed batch rejects every caller in it', async () => {
    const ledger = openTestLedger(ledgerWorld());
    const statuses = await Promise.all([ledger.creditJob(job('a', 5n)), ledger.creditJob(job('b', 6n)), ledger.creditJob(job('a', 5n))]);
    assert.deepEqual(statuses, ['recorded', 'recorded', 'duplicate']);
    assert.equal(ledger.balances().earnedNanotons, 11n);
    const pending = ledger.creditJob(job('c', 7n));
    ledger.close(); // flushes what is queued before closing
    assert.equal(await pending, 'recorded');
    const failing = new CreditQueue(() => {
      throw new Error('disk full');
    });
    const results = await Promise.allSettled([failing.credit(job('x', 1n)), failing.credit(job('y', 1n))]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  });
});

describe('vouchers', () => {
  test('a valid voucher is stored and covers the pending jobs', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 100n));
    ledger.recordJob(job('b', 50n));
    assert.equal(ledger.balances().pendingNanotons, 150n);
    const result = ledger.recordVoucher(world.issue(150n, 1));
    assert.deepEqual(result, { status: 'accepted', seq: 1, cumulativeNanotons: 150n, deltaNanotons: 150n, jobsCovered: 2 });
    assert.equal(ledger.job('a')?.voucherSeq, 1);
    const balances = ledger.balances();
    assert.equal(balances.pendingNanotons, 0n);
    assert.equal(balances.claimableNanotons, 150n);
    // A JSON string works too; naming the jobs checks the delta against their credits.
    ledger.recordJob(job('c', 7n));
    assert.equal(ledger.recordVoucher(JSON.stringify(world.issue(160n, 2)), { jobIds: ['c'] }).status, 'accepted');
    assert.deepEqual(ledger.anomalies().map((a) => a.code), ['delta_mismatch']);
    ledger.close();
  });

  test('forged, foreign, replayed and rolled-back vouchers are refused and flagged', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    const first = world.issue(1_000n, 3);
    assert.equal(ledger.recordVoucher(first).status, 'accepted');
    const stranger = keyPairFromSeed(randomBytes(32));
    const forged = { ...world.issue(9_000n, 4, { key: stranger }), coordinatorPublicKey: world.identity.coordinatorPublicKey };
    const tampered = { ...world.issue(2_000n, 4), cumulativeNanotons: '2000000' };
    const cases: [string, unknown, string][] = [
      ['forged signature', forged, 'bad_signature'],
      ['tampered total', tampered, 'bad_signature'],
      ['another coordinator', world.issue(9_000n, 4, { key: stranger }), 'wrong_key'],
      ['another vault', world.issue(9_000n, 4, { vault: randomAddress() }), 'wrong_vault'],
      ['another worker', world.issue(9_000n, 4, { worker: randomAddress() }), 'foreign_worker'],
      ['replayed', first, 'duplicate'],
      ['rolled back', world.issue(999n, 4), 'rollback'],
      ['older seq', world.issue(1_000n, 2), 'seq_not_increasing'],
      ['garbage', '{"vault":', 'malformed'],
    ];
    for (const [name, input, code] of cases) {
      const result = ledger.recordVoucher(input);
      assert.equal(result.status, 'refused', name);
      assert.equal(result.status === 'refused' && result.code, code, name);
    }
    assert.equal(ledger.latestVoucher()?.seq, 3);
    assert.equal(ledger.balances().vouchedNanotons, 1_000n);
    const flagged = ledger.anomalies({ kind: 'voucher' }).map((a) => a.code).sort();
    assert.deepEqual(flagged, cases.map(([, , code]) => code).sort());
    // The same bad voucher again does not pile up flags.
    ledger.recordVoucher(forged);
    assert.equal(ledger.anomalies({ kind: 'voucher' }).length, cases.length);
    assert.equal(ledger.recordVoucher(world.issue(1_000n, 4)).status, 'accepted', 'same total, later seq is fine');
    ledger.close();
  });
});

describe('payouts', () => {
  function payout(world: ReturnType<typeof ledgerWorld>, fields: Partial<IncomingPayout> & { seq: bigint; cumulativeNanotons: bigint; amountNanotons: bigint }): IncomingPayout {
    return { txHash: randomBytes(32).toString('hex'), lt: 1000n + fields.seq, utime: 1_800_000_000, sender: world.vault.toString(), queryId: 0n, ...fields };
  }

  test('a matching payout marks vouchers and jobs paid, exactly, once', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', BIG));
    ledger.recordVoucher(world.issue(BIG, 1));
    ledger.recordJob(job('b', 3n));
    ledger.recordVoucher(world.issue(BIG + 3n, 2));
    const first = payout(world, { seq: 1n, cumulativeNanotons: BIG, amountNanotons: BIG });
    assert.deepEqual(ledger.recordPayout(first), { status: 'applied', txHash: first.txHash, amountNanotons: BIG, seq: 1, jobsPaid: 1, vouchersPaid: 1 });
    assert.deepEqual(ledger.recordPayout(first), { status: 'already_recorded', txHash: first.txHash });
    assert.equal(ledger.job('a')?.paidTx, first.txHash);
    assert.equal(ledger.job('b')?.paidTx, null);
    assert.equal(ledger.balances().claimableNanotons, 3n);
    const second = payout(world, { seq: 2n, cumulativeNanotons: BIG + 3n, amountNanotons: 3n });
    assert.equal(ledger.recordPayout(second).status, 'applied');
    const balances = ledger.balances();
    assert.equal(balances.paidNanotons, BIG + 3n);
    assert.equal(balances.claimableNanotons, 0n);
    assert.equal(ledger.job('b')?.paidTx, second.txHash);
    assert.deepEqual(ledger.anomalies(), []);
    ledger.close();
  });

  test('unknown sender, amount off, duplicate and unknown voucher are flagged, not applied', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 500n));
    ledger.recordVoucher(world.issue(500n, 1));
    ledger.recordJob(job('b', 200n));
    ledger.recordVoucher(world.issue(700n, 2));
    const cases: [string, IncomingPayout, string][] = [
      ['unknown sender', payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n, sender: randomAddress().toString() }), 'unknown_sender'],
      ['amount off', payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 499n }), 'amount_off'],
      ['no such voucher', payout(world, { seq: 9n, cumulativeNanotons: 900n, amountNanotons: 900n }), 'unknown_voucher'],
      ['total differs from the voucher', payout(world, { seq: 1n, cumulativeNanotons: 501n, amountNanotons: 501n }), 'unknown_voucher'],
    ];
    for (const [name, incoming, code] of cases) {
      const result = ledger.recordPayout(incoming);
      assert.equal(result.status === 'flagged' && result.code, code, name);
    }
    assert.equal(ledger.balances().paidNanotons, 0n);
    assert.equal(ledger.recordPayout(payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n })).status, 'applied');
    const again = ledger.recordPayout(payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n }));
    assert.equal(again.status === 'flagged' && again.code, 'duplicate', 'another tx paying the same voucher');
    const balances = ledger.balances();
    assert.equal(balances.paidNanotons, 500n);
    assert.equal(balances.claimableNanotons, 200n);
    assert.equal(balances.flaggedNanotons, 500n + 499n + 900n + 501n + 500n);
    assert.equal(ledger.job('b')?.paidTx, null);
    assert.deepEqual(ledger.anomalies({ kind: 'payout' }).map((a) => a.code).sort(), ['amount_off', 'duplicate', 'unknown_sender', 'unknown_voucher', 'unknown_voucher']);
    assert.equal(ledger.listPayouts().filter((p) => p.status === 'applied').length, 1);
    ledger.close();
  });

  test('a chain batch and its cursor commit together or not at all', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 500n));
    ledger.recordVoucher(world.issue(500n, 1));
    const address = world.worker.toString();
    const good = payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n });
    const impossible = payout(world, { seq: 2n, cumulativeNanotons: 1n, amountNanotons: 1n << 64n });
    assert.throws(() => ledger.applyChainBatch(address, [good, impossible], { lt: 77n, hash: 'AB' }), RangeError);
    assert.equal(ledger.getCursor(address), null);
    assert.equal(ledger.balances().paidNanotons, 0n, 'the good payout rolled back with the batch');
    ledger.applyChainBatch(address, [good], { lt: 77n, hash: 'AB' });
    assert.deepEqual(ledger.getCursor(address), { lt: 77n, hash: 'ab' });
    assert.equal(ledger.balances().paidNanotons, 500n);
    ledger.close();
  });
});
