/**
 * The books' audit at scale (`silkworm coordinator audit`, network/coordinator/audit.ts): a
 * coordinator store holding 1,000,000 settled jobs — 2,000 clients with deposits, 3,000 workers,
 * one job in thirty moved to a second worker, 2 % unmetered, claims above the count, a vault push
 * and receipt acknowledgements, open holds — written in bulk with exactly the rows the store and
 * Billing write (coordinator-books.ts; its test compares them), then audited three times.
 * Target: the audit ≤ 5,000 ms. In `npm run bench` as the `audit` section.
 */
import { rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { auditCoordinator, type AuditReport } from '../network/coordinator/audit.js';
import { writeBooksBulk, type BooksSpec } from './coordinator-books.js';
import type { BenchContext } from './context.js';
import type { Section, SectionReport } from './section.js';
import { median, round, spread } from './stats.js';
import { describeLoad } from './device.js';
import type { Table } from './table.js';

const TARGET_MS = 5_000;
const RUNS = 3;

/** How big a store to audit. */
export interface AuditOptions {
  /** Settled jobs in the store (default 1,000,000). */
  jobs?: number;
}

/** The audit section: `npm run bench -- --only audit`. */
export function auditSection(options: AuditOptions = {}): Section {
  const jobs = options.jobs ?? 1_000_000;
  return {
    name: 'audit',
    summary: `coordinator books audit over ${jobs.toLocaleString('en-US')} settled jobs (median of ${RUNS})`,
    run: (context) => runAudit(context, jobs),
  };
}

async function runAudit(context: BenchContext, jobs: number): Promise<SectionReport> {
  const dir = await context.tempDir('audit');
  try {
    const spec: BooksSpec = { jobs, clients: 2_000, workers: 3_000, openHolds: 100, start: Date.now() - jobs * 31_000 };
    const buildStarted = performance.now();
    const written = writeBooksBulk(dir, spec);
    const buildS = (performance.now() - buildStarted) / 1000;
    const sizeMb = statSync(join(dir, 'coordinator.sqlite')).size / 2 ** 20;
    const wallMs: number[] = [];
    const cpuMs: number[] = [];
    let report: AuditReport | undefined;
    for (let run = 0; run < RUNS; run++) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      report = await auditCoordinator(dir);
      wallMs.push(performance.now() - started);
      const spent = process.cpuUsage(cpu);
      cpuMs.push((spent.user + spent.system) / 1000);
    }
    const audit = report as AuditReport;
    const medianMs = median(wallMs);
    const key = jobs === 1_000_000 ? '1m_jobs' : `${jobs}_jobs`;
    const table: Table = {
      title: `audit: coordinator store of ${written.jobs.toLocaleString('en-US')} settled jobs (${written.credits.toLocaleString('en-US')} credits and receipts, ${audit.checked.accounts} accounts, ${audit.checked.clients} clients, ${audit.checked.holds} open holds; ${sizeMb.toFixed(0)} MiB) — ${RUNS} runs, median (min–max)`,
      columns: ['measure', 'value', 'target'],
      rows: [
        ['auditCoordinator(dataDir), wall ms', spread(wallMs, 0), `≤ ${TARGET_MS.toLocaleString('en-US')} ms → ${medianMs <= TARGET_MS ? 'met' : 'MISSED'}`],
        ['auditCoordinator(dataDir), CPU ms of this process', spread(cpuMs, 0), ''],
        ['findings (sound books: none expected)', audit.findings.length === 0 ? 'none' : audit.findings.map((f) => `${f.rule} ×${f.count}`).join(', '), ''],
        ['building the store (bulk, not timed by the target)', `${buildS.toFixed(1)} s`, ''],
      ],
      notes: [
        'rules: job_balanced, charge_within_hold, account_matches, pushed_within_credit, client_conserved, hold_expired (no chain: paid_within_credit not run)',
        'the store is on this machine\'s disk and in its page cache (just written); each run opens the database read-only, as the command does',
        'rows are the store\'s own (coordinator-books.test.ts checks the bulk writer against openSqliteStore + Billing); secondary indexes are built after the rows, so they are packed as after a VACUUM',
        `CPU ms: process.cpuUsage() of the bench process across the call (SQLite runs on its thread); load average ${describeLoad()} after the section`,
      ],
    };
    return {
      tables: [table],
      results: {
        [`audit_ms_${key}`]: round(medianMs, 0),
        [`audit_ms_${key}_min`]: round(Math.min(...wallMs), 0),
        [`audit_ms_${key}_max`]: round(Math.max(...wallMs), 0),
        [`audit_cpu_ms_${key}`]: round(median(cpuMs), 0),
        audit_ok: audit.ok,
        audit_build_s: round(buildS, 1),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
