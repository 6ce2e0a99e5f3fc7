/**
 * The coordinator's HTTP endpoints for sealed mode, shared by the coordinator (serves them) and
 * the client SDK (calls them). Both need `Authorization: Bearer KEY` like every `/v1/` route.
 *
 * `GET /v1/workers?model=ID&tier=MIN_TIER` (both optional; `tier` is a minimum)
 *   200 { object: 'list', coordinatorId, data: SignedDescriptor[] }   — workers connected now
 *   The client verifies each descriptor itself and skips the ones that fail.
 *
 * `POST /v1/sealed/jobs`, body: a SealedEnvelope (sealed.ts), `content-type: application/json`
 *   Refused before any work: an OpenAI-shaped JSON error { error: { message, type, param, code } }
 *     400 invalid_request (malformed envelope) · 401 invalid_api_key · 404 model_not_found
 *     409 stale_worker_key (recipientKey is not the worker's current descriptor key: refetch)
 *     409 duplicate_job (jobId seen before) · 421 wrong_coordinator (coordinatorId is not ours)
 *     403 receipts_paused (posted with a receipt key, and this account's usage receipts are
 *         paused: they fell short of several workers' claims too often; post without one)
 *     503 worker_lost (workerId not connected: pick another worker)
 *   A busy worker's jobs wait for it, up to the request timeout (then `timeout`), or fail with
 *   `no_capacity` when the coordinator's queue is full.
 *   Accepted: 200 `text/event-stream`, one `data: JSON` line per event, blank line between:
 *     { type: 'chunk', seq, ciphertext, final, finishReason? }  relayed byte for byte from the worker
 *     { type: 'usage', usage: { promptTokens, completionTokens } }  in clear, after the final chunk
 *     { type: 'error', error: { code, message, retryable } }  the job failed; nothing follows
 *   The stream ends after `usage` or `error`. Comment lines (`: keepalive`) may appear any time.
 *   A closed connection cancels the job.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { usageSchema } from './worker-frames.js';
import { sealedChunkShape } from './sealed-stream.js';

/** Error codes a sealed-job HTTP error or stream `error` event may carry beyond ERROR_CODES. */
export const SEALED_HTTP_ERROR_CODES = ['stale_worker_key', 'wrong_coordinator', 'model_not_found', 'invalid_api_key', 'sealed_refused', 'receipts_paused'] as const;

/** The body of `GET /v1/workers` (descriptors are checked one by one with verifyDescriptor). */
export const workerListSchema = z.object({
  object: z.literal('list'),
  coordinatorId: z.string().min(1).max(128),
  data: z.array(z.unknown()).max(10_000),
  /**
   * The coordinator's routing advice, by worker id: a relative weight from what it measured of
   * each worker (speed, reputation, jobs running), the way it ranks workers for transport jobs.
   * A client picks among the workers it verified in proportion to it; absent, uniformly.
   */
  weights: z.record(z.string().max(128), z.number().positive().finite()).optional(),
});
export type WorkerList = z.infer<typeof workerListSchema>;

/** One event of the `POST /v1/sealed/jobs` stream. */
export const sealedJobEventSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('chunk'), ...sealedChunkShape }),
  z.strictObject({ type: z.literal('usage'), usage: usageSchema }),
  z.strictObject({
    type: z.literal('error'),
    error: z.strictObject({
      code: z.union([z.enum(ERROR_CODES), z.enum(SEALED_HTTP_ERROR_CODES)]),
      message: z.string().max(2000),
      /** True when nothing is lost by sealing the job again to another worker. */
      retryable: z.boolean(),
    }),
  }),
]);
export type SealedJobEvent = z.infer<typeof sealedJobEventSchema>;

/** Formats one event as an SSE frame. */
export function formatSealedJobEvent(event: SealedJobEvent): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}
