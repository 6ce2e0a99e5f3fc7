/**
 * The building blocks of jobs shared by the worker protocol, sealed envelopes and descriptors:
 * ids, models, tiers, sampling parameters, usage. Kept apart so those modules do not import
 * each other.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';

/** A wire-safe identifier (job, worker, model). */
export const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
/** One of ERROR_CODES. */
export const errorCode = z.enum(ERROR_CODES);
/** A non-negative whole number. */
export const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** The largest context a model may announce, in tokens: also the bound on any job's token counts. */
export const MAX_CONTEXT_TOKENS = 1 << 20;
/** A token count of one job: never more than the largest context. */
export const tokenCount = z.number().int().nonnegative().max(MAX_CONTEXT_TOKENS);

/** Confidentiality tier of a worker (DESIGN.md §3). */
export const tierSchema = z.enum(['unsandboxed', 'sandboxed', 'tee']);
export type Tier = z.infer<typeof tierSchema>;

/** A model a worker can serve. */
export const workerModelSchema = z.strictObject({
  id,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 as 64 lower-case hex digits'),
  contextSize: z.number().int().min(16).max(MAX_CONTEXT_TOKENS),
});
export type WorkerModel = z.infer<typeof workerModelSchema>;

/** What a worker can do, announced in hello. */
export const capabilitiesSchema = z.strictObject({
  models: z.array(workerModelSchema).max(64),
  maxConcurrentJobs: z.number().int().min(1).max(64),
  tokensPerSecond: z.number().nonnegative().finite(),
  priceCoefficient: z.number().min(0.1).max(10),
  tier: tierSchema,
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;

/** Sampling and length settings of one job. */
export const jobParamsSchema = z.strictObject({
  maxTokens: z.number().int().min(1).max(MAX_CONTEXT_TOKENS),
  temperature: z.number().min(0).max(2),
  topP: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
  stop: z.array(z.string().min(1).max(256)).max(4).optional(),
});
export type JobParams = z.infer<typeof jobParamsSchema>;

/** Token counts of one job (each bounded by the largest context). */
export const usageSchema = z.strictObject({ promptTokens: tokenCount, completionTokens: tokenCount });
export type Usage = z.infer<typeof usageSchema>;

/** Why generation ended. */
export const finishReasonSchema = z.enum(['stop', 'length']);
export type FinishReason = z.infer<typeof finishReasonSchema>;
