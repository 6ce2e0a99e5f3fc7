/**
 * A job's books (SettledJob) as text, for where they wait outside the store's own tables: the
 * settlements an instance keeps while its store is away (settlement-spool.ts) and the books of
 * jobs in flight it checkpoints (CoordinatorStore.checkpoint). Amounts are decimal strings;
 * reading them back checks every field, so a row torn or edited by hand is reported, not used.
 */
import { z } from 'zod';
import { jobOutcomeSchema } from '../protocol/worker-frames.js';
import type { SettledJob } from './store.js';

const nanotons = z.string().regex(/^\d{1,30}$/).transform((text) => BigInt(text));
const count = z.number().int().nonnegative();
const settledJobSchema = z.strictObject({
  jobId: z.string().min(1),
  clientId: z.string().min(1),
  model: z.string(),
  outcome: jobOutcomeSchema,
  charge: nanotons,
  commission: nanotons,
  late: z.boolean().optional(),
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

/** A job's books as stored: its amounts as decimal strings. */
export function encodeSettledJob(job: SettledJob): string {
  return JSON.stringify(job, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
}

/** Books read back: those that check out, and the rows that do not (job id and why). */
export interface KeptSettlements {
  jobs: SettledJob[];
  /** Rows that could not be read back (left where they are, for the operator): job id and why. */
  unreadable: { jobId: string; why: string }[];
}

/** Reads stored books back, each checked against its row's job id. */
export function readSettledJobs(rows: readonly { job_id: string; job: string }[]): KeptSettlements {
  const found: KeptSettlements = { jobs: [], unreadable: [] };
  for (const row of rows) {
    let json: unknown;
    try {
      json = JSON.parse(row.job);
    } catch (error) {
      found.unreadable.push({ jobId: row.job_id, why: error instanceof Error ? error.message : String(error) });
      continue;
    }
    const parsed = settledJobSchema.safeParse(json);
    if (!parsed.success) found.unreadable.push({ jobId: row.job_id, why: z.prettifyError(parsed.error) });
    else if (parsed.data.jobId !== row.job_id) found.unreadable.push({ jobId: row.job_id, why: `it names job ${parsed.data.jobId}` });
    else found.jobs.push(parsed.data as SettledJob);
  }
  return found;
}
