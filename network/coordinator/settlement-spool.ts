/**
 * The settlements an instance keeps while its shared store cannot be reached (billing.ts,
 * SettlementDeferred), also written to a small SQLite file in its data folder: an instance
 * restarted, stopped or killed during an outage does not lose them. Its next start sends them
 * again, late (SettledJob.late), so their workers are still paid for what they delivered.
 * Settling twice writes nothing, so one that landed just before a crash is harmless.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { openDurableDb, type DurableDb } from '../node-kit/sqlite.js';
import { jobOutcomeSchema } from '../protocol/worker-frames.js';
import type { SettledJob } from './store.js';

/** The file, in the instance's data folder. */
export const SPOOL_FILE = 'kept-settlements.sqlite';

const MIGRATIONS = [{ version: 1, name: 'kept settlements', sql: 'CREATE TABLE kept (job_id TEXT PRIMARY KEY, job TEXT NOT NULL, kept_at INTEGER NOT NULL)' }];

const nanotons = z.string().regex(/^\d{1,30}$/).transform((text) => BigInt(text));
const count = z.number().int().nonnegative();
const keptSchema = z.strictObject({
  jobId: z.string().min(1),
  clientId: z.string().min(1),
  model: z.string(),
  outcome: jobOutcomeSchema,
  charge: nanotons,
  commission: nanotons,
  late: z.literal(true),
  credits: z.array(
    z.strictObject({
      account: z.string().min(1),
      workerId: z.string().min(1),
      cost: nanotons,
      earned: nanotons,
      promptTokens: count,
      completionTokens: count,
      coefficientMilli: count,
      claimed: z.strictObject({ promptTokens: count, completionTokens: count }).optional(),
    }),
  ),
});

/** A kept settlement as stored: its amounts as decimal strings. */
function encode(job: SettledJob): string {
  return JSON.stringify({ ...job, late: true }, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/** What the next start found in the file. */
export interface KeptSettlements {
  jobs: SettledJob[];
  /** Rows that could not be read back (left in the file, for the operator): job id and why. */
  unreadable: { jobId: string; why: string }[];
}

export class SettlementSpool {
  private readonly q;

  private constructor(private readonly db: DurableDb) {
    this.q = {
      keep: db.prepare('INSERT OR REPLACE INTO kept (job_id, job, kept_at) VALUES (?, ?, ?)'),
      drop: db.prepare('DELETE FROM kept WHERE job_id = ?'),
      all: db.prepare<[], { job_id: string; job: string }>('SELECT job_id, job FROM kept ORDER BY kept_at, job_id'),
    };
  }

  /** Opens (or makes) the spool in `dataDir`. */
  static open(dataDir: string): SettlementSpool {
    return new SettlementSpool(openDurableDb(join(dataDir, SPOOL_FILE), { migrations: MIGRATIONS, what: 'kept settlements' }));
  }

  /** Keeps a settlement, on disk before this returns. */
  keep(job: SettledJob): void {
    this.q.keep.run(job.jobId, encode(job), Date.now());
  }

  /** Forgets a settlement that landed or was refused. */
  drop(jobId: string): void {
    this.q.drop.run(jobId);
  }

  /** Every settlement kept, oldest first. */
  load(): KeptSettlements {
    const found: KeptSettlements = { jobs: [], unreadable: [] };
    for (const row of this.q.all.all()) {
      let json: unknown;
      try {
        json = JSON.parse(row.job);
      } catch (error) {
        found.unreadable.push({ jobId: row.job_id, why: error instanceof Error ? error.message : String(error) });
        continue;
      }
      const parsed = keptSchema.safeParse(json);
      if (!parsed.success) found.unreadable.push({ jobId: row.job_id, why: z.prettifyError(parsed.error) });
      else if (parsed.data.jobId !== row.job_id) found.unreadable.push({ jobId: row.job_id, why: `it names job ${parsed.data.jobId}` });
      else found.jobs.push(parsed.data);
    }
    return found;
  }

  close(): void {
    this.db.close();
  }
}
