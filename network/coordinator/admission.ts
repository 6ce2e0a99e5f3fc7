/**
 * Admission: before any work, a request is sized from the coordinator's own figures — the
 * prompt counted with the model's vocabulary (or bounded by its size), the context the workers
 * that could take it offer, the client's price cap — and the worst case is held against the
 * client's balance until the job's deadline. Shared by transport and sealed requests.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HEADERS } from '../protocol/http-contract.js';
import { tierSchema, type Tier } from '../protocol/job-schemas.js';
import { MAX_COEFFICIENT, MIN_COEFFICIENT } from '../protocol/pricing.js';
import type { Billing } from './billing.js';
import type { WorkerRegistry } from './worker-registry.js';
import { contextLengthMessage } from '../protocol/chat.js';

/** A refusal, in OpenAI's error shape. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  param?: string;
  type?: string;
}

/** What admission needs from the coordinator. */
export interface AdmissionContext {
  registry: WorkerRegistry;
  billing: Billing;
  /** The price cap of a client that sends none (x-silkworm-max-coefficient). */
  defaultMaxCoefficient: number;
  requestTimeoutMs: number;
  /** How long past its timeout a job's hold may still be needed (spot check, client receipt). */
  settleGraceMs: number;
  maxAttempts: number;
}

/** The tier and price cap a request asks for in its headers. */
export function routingHeaders(headers: IncomingHttpHeaders, defaultMaxCoefficient: number): { ok: true; minTier: Tier; maxCoefficient: number } | { ok: false; refusal: Refusal } {
  const minTier = tierSchema.safeParse(headers[HEADERS.minTier] ?? 'unsandboxed');
  if (!minTier.success) return { ok: false, refusal: { status: 400, code: 'invalid_request', message: `Header ${HEADERS.minTier} must be one of ${tierSchema.options.join(', ')}.` } };
  const raw = headers[HEADERS.maxCoefficient];
  const maxCoefficient = raw === undefined ? defaultMaxCoefficient : Number(raw);
  if (!(maxCoefficient >= MIN_COEFFICIENT && maxCoefficient <= MAX_COEFFICIENT)) {
    return { ok: false, refusal: { status: 400, code: 'invalid_request', message: `Header ${HEADERS.maxCoefficient} must be a number from ${MIN_COEFFICIENT} to ${MAX_COEFFICIENT} (the highest price coefficient you accept).` } };
  }
  return { ok: true, minTier: minTier.data, maxCoefficient };
}

/** A sized request: how many tokens it may generate and the context it needs. */
export interface Sizing {
  maxTokens: number;
  contextNeeded: number;
}

/**
 * Sizes a request against the context of the workers that could take it. With an exact prompt
 * count, prompt + max_tokens must fit (else 400 context_length_exceeded, before any work);
 * with only a bound, max_tokens alone must fit.
 */
export function sizeRequest(
  ctx: AdmissionContext,
  request: { model: string; minTier: Tier; maxCoefficient: number; maxTokens: number | undefined; defaultMaxTokens: number },
  prompt: { figure: number; exact: boolean },
): { ok: true; sizing: Sizing } | { ok: false; refusal: Refusal } {
  const context = ctx.registry.contextFor(request.model, request.minTier, request.maxCoefficient);
  if (context === undefined) {
    return { ok: false, refusal: { status: 503, code: 'no_capacity', message: `No worker serving '${request.model}' at tier ${request.minTier} or above and price coefficient ${request.maxCoefficient} or below is connected.` } };
  }
  const room = prompt.exact ? context - prompt.figure : context - 1;
  const maxTokens = request.maxTokens ?? Math.min(request.defaultMaxTokens, Math.max(1, room));
  if (prompt.exact && prompt.figure + maxTokens > context) {
    return {
      ok: false,
      refusal: {
        status: 400,
        code: 'context_length_exceeded',
        param: 'messages',
        message: contextLengthMessage(context, prompt.figure, maxTokens),
      },
    };
  }
  if (!prompt.exact && maxTokens >= context) {
    return { ok: false, refusal: { status: 400, code: 'invalid_request', param: 'max_tokens', message: `max_tokens is too large: ${maxTokens}. '${request.model}' has a context of ${context} tokens, prompt included.` } };
  }
  return { ok: true, sizing: { maxTokens, contextNeeded: prompt.exact ? prompt.figure + maxTokens : maxTokens + 1 } };
}

/** Holds the worst case of a metered job until its deadline; a refusal says why not. */
export async function holdWorstCase(ctx: AdmissionContext, job: { clientId: string; jobId: string; model: string; promptFigure: number; maxTokens: number; maxCoefficient: number }): Promise<Refusal | undefined> {
  const worst = ctx.billing.worstCase(job.model, job.promptFigure, job.maxTokens, job.maxCoefficient, ctx.maxAttempts);
  const held = await ctx.billing.reserve(job.clientId, job.jobId, worst, Date.now() + ctx.requestTimeoutMs + ctx.settleGraceMs);
  if (held.ok) return undefined;
  return { status: held.status, code: held.code, message: held.message, ...(held.status === 402 ? { type: 'insufficient_quota' } : {}) };
}
