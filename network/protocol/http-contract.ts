/**
 * The coordinator's HTTP surface in one place: route paths, the headers Silkworm adds to or
 * reads from OpenAI-style requests, and which error codes are worth retrying. Shared by the
 * coordinator (serves), the gateway and SDK (call), and the worker (pricing, catalog).
 */
import type { ErrorCode } from './errors.js';

/** Every route path the coordinator serves. */
export const ROUTES = {
  healthz: '/healthz',
  metrics: '/metrics',
  chatCompletions: '/v1/chat/completions',
  models: '/v1/models',
  pricing: '/v1/pricing',
  balance: '/v1/balance',
  adminDeposits: '/v1/admin/deposits',
  adminPrefix: '/v1/admin/',
  /** Signed worker descriptors (sealed mode). */
  workers: '/v1/workers',
  /** Sealed jobs are posted here. */
  sealedJobs: '/v1/sealed/jobs',
  /** A client's signed usage receipt for a sealed job: `${sealedJobs}/{jobId}/receipt`. */
  sealedReceiptSuffix: '/receipt',
  /** Vocabulary-only GGUF of a catalog model, for counting tokens: `${vocab}{modelId}`. */
  vocab: '/v1/vocab/',
} as const;

/** The path where a client posts its usage receipt for a sealed job. */
export function sealedReceiptPath(jobId: string): string {
  return `${ROUTES.sealedJobs}/${encodeURIComponent(jobId)}${ROUTES.sealedReceiptSuffix}`;
}

/** Headers Silkworm adds to answers or reads from requests (lower case, as Node gives them). */
export const HEADERS = {
  /** How a request travelled: `transport` (coordinator can read it) or `sealed`. */
  confidentiality: 'x-silkworm-confidentiality',
  /** A client's minimum worker tier (unsandboxed, sandboxed, tee). */
  minTier: 'x-silkworm-min-tier',
  /**
   * The highest price coefficient a client accepts (like Cocoon's max_coefficient): jobs go
   * only to workers at or below it, and the hold is priced at it.
   */
  maxCoefficient: 'x-silkworm-max-coefficient',
  /** Gateway answers: the tier and id of the worker that served. */
  workerTier: 'x-silkworm-worker-tier',
  workerId: 'x-silkworm-worker-id',
  /** A sealed job's receipt key: the client's Ed25519 public key (base64url) that will sign its usage receipt. */
  receiptKey: 'x-silkworm-receipt-key',
} as const;

/** Worker errors after which the coordinator moves a transport job to another worker. */
export const WORKER_RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['no_capacity', 'not_sharing', 'engine_crashed', 'worker_lost', 'unknown_model', 'model_load_failed']);

/** Errors after which a client may seal the same job again to another worker and lose nothing. */
export const SEALED_RETRYABLE_CODES: ReadonlySet<string> = new Set<string>(['worker_lost', 'no_capacity', 'engine_crashed', 'not_sharing', 'unknown_model', 'model_load_failed', 'output_too_large', 'stale_worker_key', 'sealed_refused']);
