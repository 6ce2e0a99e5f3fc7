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
  responses: '/v1/responses',
  completions: '/v1/completions',
  models: '/v1/models',
  pricing: '/v1/pricing',
  balance: '/v1/balance',
  adminDeposits: '/v1/admin/deposits',
  /** Clients whose usage receipts are paused (GET); `${adminReceiptPauses}/{clientId}` resumes one (DELETE). */
  adminReceiptPauses: '/v1/admin/receipt-pauses',
  /** Instances sharing the store (GET); `${adminInstances}/{id}/retire` bills a dead one's checkpoints (POST). */
  adminInstances: '/v1/admin/instances',
  /** One worker identity's standing (GET `${adminWorkers}/{id}`); `…/{id}/reinstate` takes back an ejected one (POST). */
  adminWorkers: '/v1/admin/workers',
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

/**
 * Errors that are the client's request (not the worker's fault): answered with a 400 and never
 * retried on another worker, unless the coordinator's own checks show the worker was wrong.
 */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set<string>(['invalid_request', 'context_length_exceeded']);

/** The HTTP status of a failed job or request, by its error code (OpenAI's conventions). */
export function httpStatusForCode(code: string): number {
  switch (code) {
    case 'invalid_request':
    case 'context_length_exceeded':
    case 'invalid_json':
      return 400;
    case 'unauthorized':
    case 'invalid_api_key':
      return 401;
    case 'unknown_model':
    case 'model_not_found':
      return 404;
    case 'request_too_large':
      return 413;
    case 'no_capacity':
    case 'not_sharing':
      return 503;
    case 'timeout':
      return 504;
    case 'internal':
      return 500;
    default:
      return 502;
  }
}

/** Seconds a client should wait before retrying a 503 (every worker busy, or none sharing). */
export const RETRY_AFTER_SECONDS = 2;
