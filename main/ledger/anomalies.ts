/**
 * Flags: things the owner should see (a refused voucher, a payout that does not match) and that
 * are never applied to balances. One row per (kind, code, ref), so a replay does not pile up.
 */
import type { LedgerDb } from './db.js';

/** What a flag is about. */
export type AnomalyKind = 'job' | 'voucher' | 'payout';

/** A flagged anomaly as the UI lists it. */
export interface Anomaly {
  id: number;
  at: number;
  kind: AnomalyKind;
  code: string;
  /** Job id, voucher signature or transaction hash. */
  ref: string;
  message: string;
  detail: Record<string, unknown>;
}

interface AnomalyRow {
  id: bigint;
  at: bigint;
  kind: AnomalyKind;
  code: string;
  ref: string;
  message: string;
  detail: string;
}

/** Records a flag; returns false when the same flag (kind, code, ref) was already recorded. */
export function flagAnomaly(
  db: LedgerDb,
  flag: { at: number; kind: AnomalyKind; code: string; ref: string; message: string; detail?: Record<string, unknown> },
): boolean {
  const detail = JSON.stringify(flag.detail ?? {}, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  const info = db
    .prepare('INSERT OR IGNORE INTO anomalies (at, kind, code, ref, message, detail) VALUES (?, ?, ?, ?, ?, ?)')
    .run(flag.at, flag.kind, flag.code, flag.ref, flag.message, detail);
  return info.changes > 0;
}

/** The most recent flags first. */
export function listAnomalies(db: LedgerDb, options: { limit?: number; kind?: AnomalyKind } = {}): Anomaly[] {
  const rows = db
    .prepare('SELECT * FROM anomalies WHERE (? IS NULL OR kind = ?) ORDER BY id DESC LIMIT ?')
    .all(options.kind ?? null, options.kind ?? null, options.limit ?? 100) as AnomalyRow[];
  return rows.map((row) => ({
    id: Number(row.id),
    at: Number(row.at),
    kind: row.kind,
    code: row.code,
    ref: row.ref,
    message: row.message,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
  }));
}

/** Flags of one kind and code: how many, and the newest one's time and message. */
export interface AnomalyGroup {
  kind: AnomalyKind;
  code: string;
  count: number;
  lastAt: number;
  lastMessage: string;
}

/** Flags grouped by kind and code, the group flagged most recently first. */
export function groupAnomalies(db: LedgerDb): AnomalyGroup[] {
  // With a single max(), SQLite takes the bare columns (at, message) from the row holding it.
  const rows = db
    .prepare('SELECT kind, code, COUNT(*) AS count, MAX(id) AS last, at, message FROM anomalies GROUP BY kind, code ORDER BY last DESC')
    .all() as { kind: AnomalyKind; code: string; count: bigint; last: bigint; at: bigint; message: string }[];
  return rows.map((row) => ({ kind: row.kind, code: row.code, count: Number(row.count), lastAt: Number(row.at), lastMessage: row.message }));
}
