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
    const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: 'broken', sql: 'CREATE TABLE extra (x INTEGER); SELECT * FROM no_such_table;' }];
    assert.throws(() => migrate(db, broken), /no_such_table/);
    assert.equal(schemaVersion(db), MIGRATIONS.length);
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").get(), undefined);
    db.prepare('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, 0)').run(MIGRATIONS.length + 3, 'future');
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
    // A receipt resent after a lost acknowledgement arrives later: still the same credit.
    assert.equal(ledger.recordJob({ ...job('a', BIG), finishedAt: job('a', BIG).finishedAt + 5_000, durationMs: 99 }), 'duplicate');
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
    // Each is flagged but the replay: the voucher held, sent again (a receipt resent after a reconnect), is no anomaly.
    const flagged = ledger.anomalies({ kind: 'voucher' }).map((a) => a.code).sort();
    assert.deepEqual(flagged, cases.map(([, , code]) => code).filter((code) => code !== 'duplicate').sort());
    // The same bad voucher again does not pile up flags.
    ledger.recordVoucher(forged);
    assert.equal(ledger.anomalies({ kind: 'voucher' }).length, cases.length - 1);
    assert.equal(ledger.recordVoucher(world.issue(1_000n, 4)).status, 'accepted', 'same total, later seq is fine');
    ledger.close();
  });
});

describe('vouchers across chains and vault moves', () => {
  test('a voucher for another chain is refused when the ledger knows its chain', () => {
    const world = ledgerWorld();
    world.identity.chainGlobalId = -3;
    const ledger = openTestLedger(world);
    const refused = ledger.recordVoucher(world.issue(10n, 1, { globalId: -239 }));
    assert.equal(refused.status === 'refused' && refused.code, 'wrong_chain');
    assert.equal(ledger.recordVoucher(world.issue(10n, 1)).status, 'accepted');
    ledger.close();
  });

  test('after a vault move the totals go on: the next vault\'s vouchers are accepted, never backwards', () => {
    withTempDir((dir) => {
      const path = join(dir, 'ledger.db');
      const before = ledgerWorld();
      const old = openTestLedger(before, path);
      old.recordJob(job('a', 500n));
      old.recordVoucher(before.issue(500n, 1));
      old.close();
      // The coordinator moved to a successor vault; the worker reopens its books with it.
      const after = ledgerWorld({ worker: before.worker, coordinator: before.coordinator });
      const moved = openTestLedger(after, path);
      moved.recordJob(job('b', 200n));
      const back = moved.recordVoucher(after.issue(400n, 2));
      assert.equal(back.status === 'refused' && back.code, 'rollback');
      const next = moved.recordVoucher(after.issue(700n, 2));
      assert.deepEqual(next.status === 'accepted' && [next.deltaNanotons, next.jobsCovered], [200n, 1]);
      moved.close();
    });
  });
});

describe('vouchers against the terms the vault on chain holds', () => {
  test('reopened knowing them: an unpaid voucher of our vault signed with another key is flagged and dropped, the predecessor\'s and paid ones stay, and one for another chain is refused', () => {
    withTempDir((dir) => {
      const path = join(dir, 'ledger.db');
      const before = ledgerWorld();
      const old = openTestLedger(before, path);
      old.recordJob(job('a', 500n));
      assert.equal(old.recordVoucher(before.issue(500n, 1), { jobIds: ['a'] }).status, 'accepted');
      old.close();
      // A successor vault holding a new key; the chain does not answer, so its terms are unknown.
      const held = keyPairFromSeed(randomBytes(32));
      const after = ledgerWorld({ worker: before.worker, coordinator: held });
      const moved = openTestLedger(after, path);
      moved.recordJob(job('b', 200n));
      assert.equal(moved.recordVoucher(after.issue(700n, 2), { jobIds: ['b'] }).status, 'accepted');
      const paid = { txHash: randomBytes(32).toString('hex'), lt: 2000n, utime: 1_800_000_000, sender: after.vault.toString(), queryId: 0n, seq: 2n, cumulativeNanotons: 700n, amountNanotons: 700n };
      assert.equal(moved.recordPayout(paid).status, 'applied');
      moved.close();
      // The coordinator starts again signing with another key, the vault still unknown.
      const other = ledgerWorld({ vault: after.vault, worker: before.worker });
      const unknown = openTestLedger(other, path);
      unknown.recordJob(job('c', 100n));
      assert.equal(unknown.recordVoucher(other.issue(800n, 3), { jobIds: ['c'] }).status, 'accepted');
      assert.equal(unknown.balances().claimableNanotons, 100n);
      unknown.close();
      const terms = { publicKey: held.publicKey.toString('hex').toUpperCase(), globalId: -3 };
      const known = openTestLedger({ ...other, identity: { ...other.identity, vaultTerms: terms } }, path);
      try {
        assert.deepEqual(known.anomalies().map((a) => [a.kind, a.code]), [['voucher', 'vault_key_mismatch']]);
        assert.equal(known.latestVoucher()?.seq, 2, 'the vault\'s own voucher is the latest again');
        assert.equal(known.job('a')?.voucherSeq, 1, 'the predecessor\'s voucher stays');
        assert.ok(known.job('b')?.paidTx, 'the paid one stays');
        assert.equal(known.job('c')?.voucherSeq, null);
        assert.equal(known.balances().claimableNanotons, 0n);
        assert.equal(known.balances().pendingNanotons, 100n);
        const again = known.recordVoucher(other.issue(900n, 4));
        assert.equal(again.status === 'refused' && again.code, 'vault_key_mismatch');
      } finally {
        known.close();
      }
      // Signed with the vault's key but for another chain (the welcome named none to check).
      const rightKey = openTestLedger({ ...after, identity: { ...after.identity, vaultTerms: terms } }, path);
      try {
        const wrongChain = rightKey.recordVoucher(after.issue(800n, 3, { globalId: -239 }));
        assert.equal(wrongChain.status === 'refused' && wrongChain.code, 'vault_chain_mismatch');
        assert.equal(rightKey.recordVoucher(after.issue(800n, 3)).status, 'accepted');
      } finally {
        rightKey.close();
      }
    });
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

  test('unknown sender, amount off and a payout overlapping what was paid are flagged, not applied', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 500n));
    ledger.recordVoucher(world.issue(500n, 1));
    ledger.recordJob(job('b', 200n));
    ledger.recordVoucher(world.issue(700n, 2));
    const cases: [string, IncomingPayout, string][] = [
      ['unknown sender', payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n, sender: randomAddress().toString() }), 'unknown_sender'],
      ['less arrived than the body says', payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 499n, dueNanotons: 500n }), 'amount_off'],
      ['a deposit above the due', payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 0n, dueNanotons: 500n, depositNanotons: 501n }), 'amount_off'],
      ['a due above the total', payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 600n, dueNanotons: 600n }), 'amount_off'],
    ];
    for (const [name, incoming, code] of cases) {
      const result = ledger.recordPayout(incoming);
      assert.equal(result.status === 'flagged' && result.code, code, name);
    }
    assert.equal(ledger.balances().paidNanotons, 0n);
    assert.equal(ledger.recordPayout(payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n })).status, 'applied');
    // Another transaction paying 0 → 500 again would be paid twice: it overlaps, it is flagged.
    const again = ledger.recordPayout(payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n }));
    assert.equal(again.status === 'flagged' && again.code, 'duplicate', 'another tx paying the same range');
    const balances = ledger.balances();
    assert.equal(balances.paidNanotons, 500n);
    assert.equal(balances.claimableNanotons, 200n);
    assert.equal(balances.flaggedNanotons, 500n + 499n + 0n + 600n + 500n);
    assert.equal(ledger.job('b')?.paidTx, null);
    assert.deepEqual(ledger.anomalies({ kind: 'payout' }).map((a) => a.code).sort(), ['amount_off', 'amount_off', 'amount_off', 'duplicate', 'unknown_sender']);
    assert.equal(ledger.listPayouts().filter((p) => p.status === 'applied').length, 1);
    ledger.close();
  });

  test('reconciled against totals: a missed voucher or a missed payout flags nothing later', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 500n));
    ledger.recordVoucher(world.issue(500n, 1));
    ledger.recordJob(job('b', 200n));
    // The voucher for 700 (seq 2) never arrived; the one for 900 did.
    ledger.recordJob(job('c', 200n));
    ledger.recordVoucher(world.issue(900n, 3));
    // A payout up to 700 (the voucher we missed) is still ours: it covers the vouchers up to 700.
    assert.equal(ledger.recordPayout(payout(world, { seq: 2n, cumulativeNanotons: 700n, amountNanotons: 700n })).status, 'applied');
    assert.equal(ledger.job('a')?.paidTx !== null && ledger.job('c')?.paidTx, null);
    // The watcher missed a payout 700 → 800; the next one, 800 → 900, is consistent all the same.
    const last = payout(world, { seq: 3n, cumulativeNanotons: 900n, amountNanotons: 100n });
    assert.deepEqual(ledger.recordPayout(last), { status: 'applied', txHash: last.txHash, amountNanotons: 100n, seq: 3, jobsPaid: 2, vouchersPaid: 1 });
    assert.deepEqual(ledger.anomalies(), []);
    const balances = ledger.balances();
    assert.equal(balances.paidNanotons, 900n, 'the payout account\'s paid total');
    assert.equal(balances.claimableNanotons, 0n);
    ledger.close();
  });

  test('a payout account payout: its deposit counts as paid; a claim may carry its unused gas on top', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 1_000n));
    ledger.recordVoucher(world.issue(1_000n, 1));
    const pushed = payout(world, { seq: 1n, cumulativeNanotons: 600n, amountNanotons: 590n, dueNanotons: 600n, depositNanotons: 10n });
    assert.equal(ledger.recordPayout(pushed).status, 'applied');
    const claimed = payout(world, { seq: 1n, cumulativeNanotons: 1_000n, amountNanotons: 400n + 37n, dueNanotons: 400n, depositNanotons: 0n });
    assert.equal(ledger.recordPayout(claimed).status, 'applied');
    assert.deepEqual(ledger.listPayouts().map((p) => [p.dueNanotons, p.depositNanotons]), [[600n, 10n], [400n, 0n]]);
    assert.equal(ledger.balances().paidNanotons, 1_000n);
    assert.equal(ledger.balances().claimableNanotons, 0n);
    ledger.close();
  });

  test('two PCs sharing one payout address show the same paid total and nothing flagged', () => {
    const shared = ledgerWorld();
    const pcA = openTestLedger(shared);
    const pcB = openTestLedger(ledgerWorld({ vault: shared.vault, worker: shared.worker, coordinator: shared.coordinator }));
    // The coordinator counts one account for the address: A earns 300, B 400, A 100 more.
    pcA.recordJob(job('a1', 300n));
    pcA.recordVoucher(shared.issue(300n, 1));
    pcB.recordJob(job('b1', 400n));
    pcB.recordVoucher(shared.issue(700n, 2));
    pcA.recordJob(job('a2', 100n));
    pcA.recordVoucher(shared.issue(800n, 3));
    // A push pays the account up to 700, then A cashes out up to 800; both PCs follow the address.
    const push = payout(shared, { seq: 2n, cumulativeNanotons: 700n, amountNanotons: 700n });
    const claim = payout(shared, { seq: 3n, cumulativeNanotons: 800n, amountNanotons: 100n });
    for (const ledger of [pcA, pcB]) {
      assert.deepEqual([ledger.recordPayout(push).status, ledger.recordPayout(claim).status], ['applied', 'applied']);
      assert.deepEqual(ledger.anomalies({ kind: 'payout' }), []);
      assert.equal(ledger.balances().paidNanotons, 800n);
      assert.equal(ledger.balances().claimableNanotons, 0n);
    }
    // Every job of each PC is paid, by the payout whose total first reached its voucher.
    assert.deepEqual([pcA.job('a1')?.paidTx, pcA.job('a2')?.paidTx], [push.txHash, claim.txHash]);
    assert.equal(pcB.job('b1')?.paidTx, push.txHash);
    pcA.close();
    pcB.close();
  });

  test('payouts flagged while the payout account was not known are judged again once it is: applied, and no flag left', () => {
    const world = ledgerWorld();
    const account = randomAddress();
    // Opened without its payout account (the look-up failed): payouts are expected from the vault.
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 500n));
    ledger.recordVoucher(world.issue(500n, 1));
    ledger.recordJob(job('b', 200n));
    ledger.recordVoucher(world.issue(700n, 2));
    const first = payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 490n, dueNanotons: 500n, depositNanotons: 10n, sender: account.toString() });
    const second = payout(world, { seq: 2n, cumulativeNanotons: 700n, amountNanotons: 200n, dueNanotons: 200n, depositNanotons: 0n, sender: account.toString() });
    const stranger = payout(world, { seq: 2n, lt: 1003n, cumulativeNanotons: 700n, amountNanotons: 5n, dueNanotons: 200n, depositNanotons: 0n, sender: randomAddress().toString() });
    assert.deepEqual([first, second, stranger].map((p) => { const r = ledger.recordPayout(p); return r.status === 'flagged' && r.code; }), ['unknown_sender', 'unknown_sender', 'unknown_sender']);
    ledger.setPayoutAccount(account.toString());
    assert.equal(ledger.identity.payoutAccount, account.toString());
    const balances = ledger.balances();
    assert.equal(balances.paidNanotons, 700n);
    assert.equal(balances.claimableNanotons, 0n);
    assert.equal(balances.flaggedNanotons, 5n, 'only the stranger\'s stays flagged');
    assert.deepEqual([ledger.job('a')?.paidTx, ledger.job('b')?.paidTx], [first.txHash, second.txHash]);
    assert.deepEqual(ledger.anomalies({ kind: 'payout' }).map((a) => [a.code, a.ref]), [['unknown_sender', stranger.txHash]]);
    assert.deepEqual(ledger.listPayouts().map((p) => p.status), ['applied', 'applied', 'flagged']);
    // Known already: nothing changes, and a payout seen again is already recorded.
    ledger.setPayoutAccount(account.toString());
    assert.equal(ledger.recordPayout(second).status, 'already_recorded');
    assert.equal(ledger.balances().paidNanotons, 700n);
    ledger.close();
  });

  test('books that flagged their payout account\'s payouts are mended when opened knowing it', () => {
    withTempDir((dir) => {
      const world = ledgerWorld();
      const account = randomAddress();
      const path = join(dir, 'books.sqlite');
      const before = openTestLedger(world, path);
      before.recordJob(job('a', 500n));
      before.recordVoucher(world.issue(500n, 1));
      const genuine = payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n, dueNanotons: 500n, depositNanotons: 0n, sender: account.toString() });
      assert.equal(before.recordPayout(genuine).status, 'flagged');
      before.close();
      const after = openTestLedger({ ...world, identity: { ...world.identity, payoutAccount: account.toString() } }, path);
      assert.equal(after.balances().paidNanotons, 500n);
      assert.equal(after.job('a')?.paidTx, genuine.txHash);
      assert.deepEqual(after.anomalies(), []);
      after.close();
    });
  });

  test('a chain batch and its cursor commit together or not at all', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 500n));
    ledger.recordVoucher(world.issue(500n, 1));
    const address = world.worker.toString();
    const good = payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n });
    assert.throws(() => ledger.applyChainBatch('not an address', [good], { lt: 77n, hash: 'AB' }));
    assert.equal(ledger.getCursor(address), null);
    assert.equal(ledger.balances().paidNanotons, 0n, 'the good payout rolled back with the batch');
    ledger.applyChainBatch(address, [good], { lt: 77n, hash: 'AB' });
    assert.deepEqual(ledger.getCursor(address), { lt: 77n, hash: 'ab' });
    assert.equal(ledger.balances().paidNanotons, 500n);
    ledger.close();
  });

  test('a payout-shaped message with an impossible amount is flagged; the batch around it lands and the cursor moves', () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 500n));
    ledger.recordVoucher(world.issue(500n, 1));
    const address = world.worker.toString();
    // Anyone can send the payout address a body with a due or deposit of up to 2^120.
    const forged = payout(world, { seq: 1n, cumulativeNanotons: 1n << 100n, amountNanotons: 10n, dueNanotons: 1n << 100n, sender: randomAddress().toString() });
    const forgedDeposit = payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 10n, dueNanotons: 500n, depositNanotons: 1n << 64n, sender: randomAddress().toString() });
    // Our own payout account never sends one, but if it did the watcher must not stop either.
    const ours = payout(world, { seq: 1n, cumulativeNanotons: 1n << 100n, amountNanotons: 10n, dueNanotons: 1n << 100n });
    const impossibleValue = payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 1n << 64n, dueNanotons: 500n });
    const genuine = payout(world, { seq: 1n, cumulativeNanotons: 500n, amountNanotons: 500n, lt: 2000n });
    const results = ledger.applyChainBatch(address, [forged, forgedDeposit, ours, impossibleValue, genuine], { lt: 2000n, hash: 'CD' });
    assert.deepEqual(results.map((r) => (r.status === 'flagged' ? r.code : r.status)), ['unknown_sender', 'unknown_sender', 'amount_off', 'amount_off', 'applied']);
    assert.deepEqual(ledger.getCursor(address), { lt: 2000n, hash: 'cd' });
    const balances = ledger.balances();
    assert.equal(balances.paidNanotons, 500n);
    assert.equal(balances.claimableNanotons, 0n);
    assert.equal(balances.flaggedNanotons, 30n, 'what arrived in the flagged messages (a value past any real supply is not counted)');
    assert.equal(ledger.job('a')?.paidTx, genuine.txHash);
    const flags = ledger.anomalies({ kind: 'payout' });
    assert.deepEqual(flags.map((a) => a.code).sort(), ['amount_off', 'amount_off', 'unknown_sender', 'unknown_sender']);
    assert.ok(flags.some((a) => a.detail.dueNanotons === (1n << 100n).toString()), 'the flag keeps the figures as written');
    // A rescan changes nothing.
    const again = ledger.applyChainBatch(address, [forged, ours, genuine], { lt: 2000n, hash: 'CD' });
    assert.deepEqual(again.map((r) => r.status), ['already_recorded', 'already_recorded', 'already_recorded']);
    assert.equal(ledger.balances().paidNanotons, 500n);
    ledger.close();
  });
});
