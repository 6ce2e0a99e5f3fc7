/**
 * CSV export of every job and every payout (RFC 4180: CRLF lines, fields with a comma, quote
 * or line break quoted, quotes doubled). Text cells that a spreadsheet would run as a formula
 * (leading = + - @ tab CR) get a leading apostrophe. Amounts are exact: integer nanotons plus
 * the same amount in TON as an exact decimal string.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fromNano } from '@ton/core';
import type { JobRecord, Ledger, PayoutRecord } from '../ledger/ledger.js';

/** What to export. */
export type CsvKind = 'jobs' | 'payouts';

/** A cell: text is escaped and formula-guarded, numbers and bigints are written as is. */
export type CsvCell = string | number | bigint | null;

const JOB_COLUMNS = ['job_id', 'finished_at', 'day', 'model', 'prompt_tokens', 'completion_tokens', 'duration_ms',
  'earned_nanotons', 'earned_ton', 'status', 'voucher_seq', 'paid_tx'];
const PAYOUT_COLUMNS = ['tx_hash', 'lt', 'time', 'sender', 'amount_nanotons', 'amount_ton', 'cumulative_nanotons', 'seq',
  'query_id', 'status', 'flag'];

/** One CSV field, escaped. */
export function csvField(cell: CsvCell): string {
  if (cell === null) return '';
  if (typeof cell !== 'string') return String(cell);
  const guarded = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

/** One CSV line, CRLF-terminated. */
export function csvLine(cells: readonly CsvCell[]): string {
  return `${cells.map(csvField).join(',')}\r\n`;
}

/** The lines of an export, header first, generated lazily (a million jobs never sit in memory). */
export function* csvLines(ledger: Ledger, kind: CsvKind): Generator<string> {
  if (kind === 'jobs') {
    yield csvLine(JOB_COLUMNS);
    for (const job of ledger.iterateJobs()) yield csvLine(jobCells(job));
  } else {
    yield csvLine(PAYOUT_COLUMNS);
    for (const payout of ledger.listPayouts()) yield csvLine(payoutCells(payout));
  }
}

/** Writes an export to `path`; resolves once it is flushed. */
export async function writeCsv(ledger: Ledger, kind: CsvKind, path: string): Promise<void> {
  await pipeline(Readable.from(csvLines(ledger, kind)), createWriteStream(path));
}

function jobCells(job: JobRecord): CsvCell[] {
  const status = job.paidTx ? 'paid' : job.voucherSeq !== null ? 'claimable' : 'pending';
  return [job.jobId, new Date(job.finishedAt).toISOString(), job.day, job.model, job.promptTokens, job.completionTokens,
    job.durationMs, job.earnedNanotons, fromNano(job.earnedNanotons), status, job.voucherSeq, job.paidTx];
}

function payoutCells(payout: PayoutRecord): CsvCell[] {
  return [payout.txHash, payout.lt, new Date(payout.utime * 1000).toISOString(), payout.sender, payout.amountNanotons,
    fromNano(payout.amountNanotons), payout.cumulativeNanotons, payout.seq, payout.queryId, payout.status, payout.flagCode];
}
