/**
 * Ledger benchmark: a worker ledger holding 1,000,000 jobs (a year of history, 5 models, all but
 * the newest vouched and paid). Targets: the earnings summary ≤ 10 ms, credit inserts ≥ 5,000/s.
 * Inserts are measured three ways, because they differ by orders of magnitude:
 *   - durable: one credit per transaction with synchronous=FULL (an fsync each), awaited one at a
 *     time: bound by the disk's fsync latency. This is `ledger_inserts_per_s`, the target's figure;
 *   - group commit: 64 concurrent callers of `creditJob` (each still acknowledged only after
 *     its commit is synced), sharing one transaction per event-loop turn;
 *   - batched: 1,000 credits per transaction (`recordJobs`: imports, catch-up): bound by CPU.
 * In `npm run bench` as the `ledger` section; alone: node --import tsx bench/ledger.ts [--jobs N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { Address } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';
import { CHAIN_GLOBAL_ID, signVoucher, voucherToJson } from '../network/protocol/voucher.js';
import { createLogger } from '../network/node-kit/log.js';
import { Ledger, type JobCredit } from '../main/ledger/ledger.js';
import { EarningsService } from '../main/earnings/earnings-service.js';
import { formatTable, type Table } from './table.js';
import type { ResultValue, Section } from './section.js';
import { median, quantile, round } from './stats.js';
import { describeLoad } from './device.js';

const MODELS = ['llama-3.1-8b', 'qwen2.5-7b', 'mistral-7b', 'gemma-2-9b', 'phi-3-mini'];
const DAY_MS = 86_400_000;

/** How big a ledger to measure. */
export interface LedgerOptions {
  /** Jobs in the history (default 1,000,000). */
  jobs?: number;
}

/** The ledger section: `npm run bench -- --only ledger`. */
export function ledgerSection(options: LedgerOptions = {}): Section {
  return {
    name: 'ledger',
    summary: `worker ledger of ${(options.jobs ?? 1_000_000).toLocaleString('en-US')} jobs: earnings summary ms, credit inserts/s`,
    run: async () => {
      const { table, results } = await measureLedger(options);
      return { tables: [table], results };
    },
  };
}

/** Builds the ledger, measures, and returns the table and the figures. */
export async function measureLedger(options: LedgerOptions = {}): Promise<{ table: Table; results: Record<string, ResultValue> }> {
  const jobs = options.jobs ?? 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'silkworm-bench-ledger-'));
  const now = Date.now();
  const coordinator = keyPairFromSeed(Buffer.alloc(32, 7));
  const vault = new Address(0, Buffer.alloc(32, 1));
  const worker = new Address(0, Buffer.alloc(32, 2));
  const ledger = Ledger.open({
    path: join(dir, 'ledger.db'),
    identity: { coordinatorPublicKey: coordinator.publicKey.toString('hex'), vault: vault.toString(), payoutAddress: worker.toString() },
    logger: createLogger('bench', { level: 'silent' }),
  });
  try {
    // A year of history, oldest first: every 10,000 jobs a voucher covers them and a payout pays it.
    const loadStarted = performance.now();
    let total = 0n;
    for (let start = 0, seq = 1; start < jobs; start += 10_000, seq++) {
      const batch: JobCredit[] = [];
      for (let i = start; i < Math.min(jobs, start + 10_000); i++) batch.push(credit(`h${i}`, now - 365 * DAY_MS + Math.floor((i * 365 * DAY_MS) / jobs), i));
      total += batch.reduce((sum, job) => sum + job.earnedNanotons, 0n);
      ledger.recordJobs(batch);
      ledger.recordVoucher(voucherToJson(signVoucher({ globalId: CHAIN_GLOBAL_ID.testnet, vault, worker, cumulativeNanotons: total, seq }, coordinator.secretKey)));
      const previous = ledger.balances().paidNanotons;
      ledger.recordPayout({ txHash: seq.toString(16).padStart(64, '0'), lt: BigInt(seq), utime: Math.floor(now / 1000), sender: vault.toString(),
        amountNanotons: total - previous, cumulativeNanotons: total, seq: BigInt(seq), queryId: 0n });
    }
    for (let i = 0; i < 200; i++) ledger.recordJob(credit(`p${i}`, now - i * 1000, i)); // still pending
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    const earnings = new EarningsService({ ledger, logger: createLogger('bench', { level: 'silent' }) });
    for (let i = 0; i < 5; i++) earnings.summary(); // warm the page cache and statements
    const summaryMs = timeEach(100, () => earnings.summary());
    const forecastMs = timeEach(100, () => earnings.forecast({ nanotonsPerKwh: 50_000_000n, watts: 250, wattsSource: 'estimated' }));

    const durableCount = 2_000;
    const durableStarted = performance.now();
    for (let i = 0; i < durableCount; i++) ledger.recordJob(credit(`d${i}`, now, i));
    const durablePerS = durableCount / ((performance.now() - durableStarted) / 1000);

    const producers = 64;
    const perProducer = 200;
    const groupStarted = performance.now();
    await Promise.all(Array.from({ length: producers }, async (_, p) => {
      for (let i = 0; i < perProducer; i++) await ledger.creditJob(credit(`g${p}-${i}`, now, i));
    }));
    const groupPerS = (producers * perProducer) / ((performance.now() - groupStarted) / 1000);

    const batchedCount = 100_000;
    const batchedStarted = performance.now();
    for (let start = 0; start < batchedCount; start += 1_000) {
      ledger.recordJobs(Array.from({ length: 1_000 }, (_, k) => credit(`b${start + k}`, now, start + k)));
    }
    const batchedPerS = batchedCount / ((performance.now() - batchedStarted) / 1000);

    const results = {
      ledger_jobs: jobs,
      ledger_summary_ms: round(median(summaryMs), 3),
      ledger_summary_p95_ms: round(quantile(summaryMs, 0.95), 3),
      ledger_forecast_ms: round(median(forecastMs), 3),
      ledger_inserts_per_s: Math.round(durablePerS),
      ledger_inserts_group_commit_per_s: Math.round(groupPerS),
      ledger_inserts_batched_per_s: Math.round(batchedPerS),
      ledger_load_s: round(loadSeconds, 1),
    };
    const table: Table = {
      title: `ledger: ${jobs.toLocaleString('en-US')} jobs (365 days, ${MODELS.length} models), SQLite WAL, synchronous=FULL`,
      columns: ['measure', 'value', 'target'],
      rows: [
        ['earnings summary (today/7d/30d by day+model, live rate, balances), median', `${results.ledger_summary_ms} ms`, `≤ 10 ms → ${verdict(median(summaryMs) <= 10)}`],
        ['earnings summary, p95', `${results.ledger_summary_p95_ms} ms`, ''],
        ['month forecast, median', `${results.ledger_forecast_ms} ms`, ''],
        ['credit inserts, durable (1 per transaction, fsync each)', `${results.ledger_inserts_per_s}/s`, `≥ 5,000/s → ${verdict(durablePerS >= 5000)}`],
        ['credit inserts, durable, group commit (64 concurrent callers)', `${results.ledger_inserts_group_commit_per_s}/s`, ''],
        ['credit inserts, batched (1,000 per transaction)', `${results.ledger_inserts_batched_per_s}/s`, ''],
        ['building the history (batched, incl. voucher + payout marking)', `${results.ledger_load_s} s`, ''],
      ],
      notes: [
        'one-at-a-time durable inserts are bound by the disk\'s fsync latency, not by SQLite',
        'the target row is the durable one; group commit keeps ack-after-fsync and batches concurrent credits',
        'summary and forecast: 100 calls each after 5 warm-up calls; p95 is nearest-rank',
        `load average ${describeLoad()} after the section (fsync latency depends on the disk and on other writers)`,
      ],
    };
    return { table, results };
  } finally {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}

function credit(jobId: string, finishedAt: number, i: number): JobCredit {
  return {
    jobId,
    model: MODELS[i % MODELS.length] as string,
    finishedAt,
    durationMs: 800 + (i % 4000),
    promptTokens: 50 + (i % 900),
    completionTokens: 20 + (i % 500),
    earnedNanotons: 100_000n + BigInt((i * 7919) % 9_900_000),
  };
}

function timeEach(runs: number, work: () => unknown): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    work();
    times.push(performance.now() - started);
  }
  return times;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { jobs: { type: 'string' } }, strict: true });
  measureLedger({ jobs: values.jobs ? Number(values.jobs) : undefined })
    .then(({ table, results }) => console.log(`${formatTable(table)}\n${JSON.stringify(results)}`))
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
