/**
 * The settlements an instance keeps while its shared store cannot be reached (billing.ts,
 * SettlementDeferred), also written to a small SQLite file in its data folder: an instance
 * restarted, stopped or killed during an outage does not lose them. Its next start sends them
 * again, late (SettledJob.late), so their workers are still paid for what they delivered.
 * Settling twice writes nothing, so one that landed just before a crash is harmless.
 *
 * The same file keeps the writes to workers' standing kept meanwhile (worker-standing.ts: events,
 * disputes and clients' receipts whose call never reached the database). Events and disputes are
 * not idempotent (a receipt is, by job id, but goes the same way), so each is marked begun, on
 * disk, before it is made again, and unmarked when that try never reached the database either: a
 * start finds a begun one only where the instance stopped while its write was under way, and
 * drops it (it may have been recorded) rather than count it twice.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { openDurableDb, type DurableDb } from '../node-kit/sqlite.js';
import type { ReputationEvent, SpeedSample } from './reputation.js';
import type { Dispute, SettledJob } from './store.js';
import type { ClientReceipt } from './client-receipts.js';
import { encodeSettledJob, readSettledJobs, type KeptSettlements } from './settled-job-codec.js';

/** The file, in the instance's data folder. */
export const SPOOL_FILE = 'kept-settlements.sqlite';

const count = z.number().int().nonnegative();
const MIGRATIONS = [
  { version: 1, name: 'kept settlements', sql: 'CREATE TABLE kept (job_id TEXT PRIMARY KEY, job TEXT NOT NULL, kept_at INTEGER NOT NULL)' },
  { version: 2, name: 'kept writes to workers’ standing', sql: 'CREATE TABLE kept_standing (id INTEGER PRIMARY KEY AUTOINCREMENT, write TEXT NOT NULL, begun INTEGER NOT NULL DEFAULT 0, kept_at INTEGER NOT NULL)' },
];

/** A write to a worker's standing, as kept (WorkerStanding): an event with the time it happened, a dispute, or a client's receipt judged. */
export type StandingWrite =
  | { kind: 'event'; workerId: string; event: ReputationEvent; at: number; speed?: SpeedSample }
  | { kind: 'dispute'; dispute: Dispute }
  | { kind: 'receipt'; receipt: ClientReceipt };

const finite = z.number().finite();
const standingSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('event'),
    workerId: z.string().min(1),
    event: z.enum(['clean', 'dispute', 'cut_off', 'verify_failed', 'lost'] satisfies ReputationEvent[]),
    at: count,
    speed: z.strictObject({ ttftMs: finite.optional(), tokensPerSecond: finite.optional() }).optional(),
  }),
  z.strictObject({
    kind: z.literal('dispute'),
    dispute: z.strictObject({ jobId: z.string().min(1), workerId: z.string().min(1), kind: z.string().min(1), claimed: count, counted: count, at: count }),
  }),
  z.strictObject({
    kind: z.literal('receipt'),
    receipt: z.strictObject({ jobId: z.string().min(1), clientId: z.string().min(1), disputedBy: z.string().min(1).nullable(), at: count }),
  }),
]);

/** What the next start found of the standing writes. */
export interface KeptStanding {
  /** To be made again, oldest first. */
  writes: { id: number; write: StandingWrite }[];
  /** Begun when the last run stopped (they may have been recorded): dropped from the file. */
  begun: number;
  /** Rows that could not be read back (left in the file, for the operator): id and why. */
  unreadable: { id: number; why: string }[];
}




export class SettlementSpool {
  private readonly q;

  private constructor(private readonly db: DurableDb) {
    this.q = {
      keep: db.prepare('INSERT OR REPLACE INTO kept (job_id, job, kept_at) VALUES (?, ?, ?)'),
      drop: db.prepare('DELETE FROM kept WHERE job_id = ?'),
      all: db.prepare<[], { job_id: string; job: string }>('SELECT job_id, job FROM kept ORDER BY kept_at, job_id'),
      keepStanding: db.prepare<[string, number]>('INSERT INTO kept_standing (write, kept_at) VALUES (?, ?)'),
      markStanding: db.prepare<[number, number]>('UPDATE kept_standing SET begun = ? WHERE id = ?'),
      dropStanding: db.prepare<[number]>('DELETE FROM kept_standing WHERE id = ?'),
      dropBegun: db.prepare('DELETE FROM kept_standing WHERE begun = 1'),
      allStanding: db.prepare<[], { id: bigint; write: string }>('SELECT id, write FROM kept_standing ORDER BY id'),
      countStanding: db.prepare<[], { n: bigint }>('SELECT COUNT(*) AS n FROM kept_standing'),
    };
    this.beginStanding = db.transaction((ids: readonly number[]) => {
      for (const id of ids) this.q.markStanding.run(1, id);
    });
    this.endStanding = db.transaction((done: readonly number[], again: readonly number[]) => {
      for (const id of done) this.q.dropStanding.run(id);
      for (const id of again) this.q.markStanding.run(0, id);
    });
    this.takeUpStanding = db.transaction((): KeptStanding => {
      const begun = Number(this.q.dropBegun.run().changes);
      const found: KeptStanding = { writes: [], begun, unreadable: [] };
      for (const row of this.q.allStanding.all()) {
        const id = Number(row.id);
        let json: unknown;
        try {
          json = JSON.parse(row.write);
        } catch (error) {
          found.unreadable.push({ id, why: error instanceof Error ? error.message : String(error) });
          continue;
        }
        const parsed = standingSchema.safeParse(json);
        if (parsed.success) found.writes.push({ id, write: parsed.data as StandingWrite });
        else found.unreadable.push({ id, why: z.prettifyError(parsed.error) });
      }
      return found;
    });
  }

  /** How many standing writes the file holds. */
  standingWrites(): number {
    return Number(this.q.countStanding.get()?.n ?? 0n);
  }

  /** Keeps a write to a worker's standing, on disk before this returns; returns its id in the file. */
  keepStanding(write: StandingWrite): number {
    return Number(this.q.keepStanding.run(JSON.stringify(write), Date.now()).lastInsertRowid);
  }

  /** Marks kept standing writes as under way (one commit): a stop from here may leave them recorded. */
  readonly beginStanding: (ids: readonly number[]) => void;

  /** Forgets the writes in `done` (landed, or given up) and unmarks those in `again` (that try never reached the database): one commit. */
  readonly endStanding: (done: readonly number[], again: readonly number[]) => void;

  /** At start: drops the writes begun when the last run stopped, and returns the rest to make again. */
  readonly takeUpStanding: () => KeptStanding;

  /** Opens (or makes) the spool in `dataDir`. */
  static open(dataDir: string): SettlementSpool {
    return new SettlementSpool(openDurableDb(join(dataDir, SPOOL_FILE), { migrations: MIGRATIONS, what: 'kept settlements' }));
  }

  /** Keeps a settlement, on disk before this returns. */
  keep(job: SettledJob): void {
    this.q.keep.run(job.jobId, encodeSettledJob({ ...job, late: true }), Date.now());
  }

  /** Forgets a settlement that landed or was refused. */
  drop(jobId: string): void {
    this.q.drop.run(jobId);
  }

  /** Every settlement kept, oldest first. */
  load(): KeptSettlements {
    return readSettledJobs(this.q.all.all());
  }

  close(): void {
    this.db.close();
  }
}
