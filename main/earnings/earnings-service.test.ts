// The earnings read models: periods by day and model, live rate, forecast net of electricity,
// CSV exports, and Cash out's refusals (the real claim runs in main/chain/chain-watcher.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toNano, type Sender } from '@ton/core';
import { job, ledgerWorld, openTestLedger, randomAddress, silentLogger } from '../ledger/testing/ledger-fixtures.js';
import type { Ledger } from '../ledger/ledger.js';
import { utcDay } from '../ledger/days.js';
import { csvField } from './csv.js';
import { CLAIM_PENDING_MS, EarningsService, type ContractOpener } from './earnings-service.js';

const NOW = Date.UTC(2026, 2, 14, 12); // Saturday 14 March 2026, 12:00 UTC
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function service(ledger: Ledger, extra: Partial<ConstructorParameters<typeof EarningsService>[0]> = {}): EarningsService {
  return new EarningsService({ ledger, now: () => NOW, dayOf: utcDay, logger: silentLogger, ...extra });
}

describe('summary', () => {
  test('today, 7 and 30 days by day and by model, and the live rate', () => {
    const ledger = openTestLedger(ledgerWorld());
    ledger.recordJobs([
      job('now-a', 300n, { finishedAt: NOW - 10 * 60_000, model: 'big', completionTokens: 100 }),
      job('now-b', 200n, { finishedAt: NOW - 2 * HOUR, model: 'small', completionTokens: 50 }),
      job('3d', 1_000n, { finishedAt: NOW - 3 * DAY, model: 'small' }),
      job('10d', 10_000n, { finishedAt: NOW - 10 * DAY, model: 'big' }),
      job('40d', 99_999n, { finishedAt: NOW - 40 * DAY, model: 'big' }),
    ]);
    const summary = service(ledger).summary();
    assert.equal(summary.today.from, '2026-03-14');
    assert.equal(summary.today.totals.earnedNanotons, 500n);
    assert.equal(summary.today.totals.completionTokens, 150);
    assert.deepEqual(summary.today.byModel.map((m) => [m.model, m.earnedNanotons]), [['big', 300n], ['small', 200n]]);
    assert.equal(summary.last7Days.from, '2026-03-08');
    assert.equal(summary.last7Days.byDay.length, 7);
    assert.equal(summary.last7Days.totals.earnedNanotons, 1_500n);
    assert.deepEqual(summary.last7Days.byDay.map((d) => d.earnedNanotons), [0n, 0n, 0n, 1_000n, 0n, 0n, 500n]);
    assert.equal(summary.last30Days.byDay.length, 30);
    assert.equal(summary.last30Days.totals.earnedNanotons, 11_500n, 'the 40-day-old job is outside');
    assert.equal(summary.last30Days.totals.jobs, 4);
    assert.deepEqual(summary.last30Days.byModel.map((m) => [m.model, m.earnedNanotons, m.jobs]), [['big', 10_300n, 2], ['small', 1_200n, 2]]);
    assert.equal(summary.liveNanotonsPerHour, 300n);
    assert.equal(summary.jobsLastHour, 1);
    assert.equal(summary.balances.pendingNanotons, 111_499n);
    ledger.close();
  });
});

describe('forecast', () => {
  test('projects the month from the last 7 full days, net of electricity, in exact nanotons', () => {
    const ledger = openTestLedger(ledgerWorld());
    // 1 TON and 1 h of GPU time on each day from 20 February to 13 March; 0.2 TON, 30 min today.
    for (let back = 22; back >= 1; back--) {
      ledger.recordJob(job(`d${back}`, toNano('1'), { finishedAt: NOW - back * DAY, durationMs: HOUR }));
    }
    ledger.recordJob(job('today', toNano('0.2'), { finishedAt: NOW - HOUR, durationMs: HOUR / 2 }));
    const forecast = service(ledger).forecast({ nanotonsPerKwh: toNano('0.05'), watts: 300, wattsSource: 'measured' });
    assert.equal(forecast.month, '2026-03');
    assert.equal(forecast.basisDays, 7);
    assert.equal(forecast.dailyAverageNanotons, toNano('1'));
    assert.equal(forecast.earnedSoFarNanotons, toNano('13.2'));
    // 13 TON so far + today at least the average (1) + 17 more days at 1 TON.
    assert.equal(forecast.projectedGrossNanotons, toNano('31'));
    assert.equal(forecast.projectedBusyMs, 31 * HOUR);
    // 31 h × 0.3 kW = 9.3 kWh × 0.05 TON = 0.465 TON.
    assert.equal(forecast.electricityNanotons, toNano('0.465'));
    assert.equal(forecast.projectedNetNanotons, toNano('30.535'));
    ledger.close();
  });

  test('a worker that started today is not averaged over empty days', () => {
    const ledger = openTestLedger(ledgerWorld());
    ledger.recordJob(job('first', 123n, { finishedAt: NOW - HOUR, durationMs: 1000 }));
    const forecast = service(ledger).forecast({ nanotonsPerKwh: 0n, watts: 150, wattsSource: 'estimated' });
    assert.equal(forecast.basisDays, 0);
    assert.equal(forecast.projectedGrossNanotons, 123n);
    assert.equal(forecast.electricityNanotons, 0n);
    assert.equal(forecast.wattsSource, 'estimated');
    ledger.close();
  });
});

describe('CSV export', () => {
  test('fields are escaped (RFC 4180) and guarded against spreadsheet formulas', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField('-1+1'), "'-1+1");
    assert.equal(csvField(12345678901234567890n), '12345678901234567890');
    assert.equal(csvField(null), '');
  });

  test('every job and payout, with exact amounts', async () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    ledger.recordJob(job('j,1', 1_000_000_001n, { model: 'model "x"', finishedAt: Date.UTC(2026, 2, 14, 9) }));
    ledger.recordVoucher(world.issue(1_000_000_001n, 1));
    ledger.recordJob(job('j2', 5n, { finishedAt: Date.UTC(2026, 2, 14, 10) }));
    ledger.recordPayout({ txHash: 'ab'.repeat(32), lt: 9n, utime: 1_800_000_000, sender: world.vault.toString(), amountNanotons: 1_000_000_001n, cumulativeNanotons: 1_000_000_001n, seq: 1n, queryId: 7n });
    const lines = [...service(ledger).csv('jobs')];
    assert.equal(lines.length, 3);
    assert.ok(lines.every((line) => line.endsWith('\r\n')));
    assert.equal(lines[0], 'job_id,finished_at,day,model,prompt_tokens,completion_tokens,duration_ms,earned_nanotons,earned_ton,status,voucher_seq,paid_tx\r\n');
    assert.equal(lines[1], `"j,1",2026-03-14T09:00:00.000Z,2026-03-14,"model ""x""",10,20,0,1000000001,1.000000001,paid,1,${'ab'.repeat(32)}\r\n`);
    assert.equal(lines[2], 'j2,2026-03-14T10:00:00.000Z,2026-03-14,llama-test,10,20,0,5,0.000000005,pending,,\r\n');
    const dir = mkdtempSync(join(tmpdir(), 'silkworm-csv-'));
    try {
      const path = join(dir, 'payouts.csv');
      await service(ledger).exportCsv('payouts', path);
      const rows = readFileSync(path, 'utf8').split('\r\n');
      assert.equal(rows[1], `${'ab'.repeat(32)},9,2027-01-15T08:00:00.000Z,${world.vault.toString()},1000000001,1.000000001,1000000001,1,7,applied,`);
      assert.equal(rows.length, 3, 'header, one payout, and the empty string after the last CRLF');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      ledger.close();
    }
  });
});

describe('Cash out', () => {
  const sender = (address = randomAddress()): Sender => ({ address, send: async () => undefined });

  test('refuses with a reason instead of sending a claim that cannot pay', async () => {
    const world = ledgerWorld();
    const ledger = openTestLedger(world);
    const sent: unknown[] = [];
    const client = { open: () => ({ sendClaim: async (...args: unknown[]) => void sent.push(args) }) } as unknown as ContractOpener;
    const code = async (s: EarningsService) => {
      const result = await s.cashOut();
      return result.ok ? 'ok' : result.error.code;
    };
    assert.equal(await code(service(ledger)), 'not_configured');
    const configured = service(ledger, { chain: { client, sender: sender(world.worker) } });
    assert.equal(await code(configured), 'nothing_to_claim');
    ledger.recordJob(job('a', 10n));
    ledger.recordVoucher(world.issue(10n, 1));
    assert.equal(await code(service(ledger, { chain: { client, sender: sender() } })), 'wrong_wallet');
    const [first, second] = await Promise.all([configured.cashOut(), configured.cashOut()]);
    assert.ok(first.ok && first.value.expectedNanotons === 10n && first.value.seq === 1);
    assert.equal(!second.ok && second.error.code, 'in_progress');
    assert.equal(await code(configured), 'already_claimed', 'no second claim before the payout is seen');
    assert.equal(sent.length, 1);
    // A claim whose payout never came (refused on chain, or lost) may go again once it is no longer pending.
    let now = NOW;
    const later = service(ledger, { now: () => now, chain: { client, sender: sender(world.worker) } });
    assert.ok((await later.cashOut()).ok);
    now += CLAIM_PENDING_MS - 1;
    assert.equal(await code(later), 'already_claimed', 'still pending');
    now += 1;
    assert.equal(await code(later), 'ok', 'the same voucher, claimed again');
    assert.equal(sent.length, 3);
    const failing = { open: () => ({ sendClaim: async () => Promise.reject(new Error('endpoint down')) }) } as unknown as ContractOpener;
    assert.equal(await code(service(ledger, { chain: { client: failing, sender: sender(world.worker) } })), 'send_failed');
    ledger.close();
  });
});
