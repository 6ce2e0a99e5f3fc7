/**
 * Transport mode's generation backend for the OpenAI-compatible endpoints (served by
 * network/node-kit/openai/routes.ts, as the gateway serves them): the coordinator reads the
 * request, sizes it from its own figures (admission.ts) and runs it as a job (job-manager.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { DEFAULT_MAX_TOKENS } from '../protocol/chat.js';
import type { GenerationRequest } from '../protocol/openai/common.js';
import type { WireError } from '../protocol/errors.js';
import { HEADERS, RETRY_AFTER_SECONDS } from '../protocol/http-contract.js';
import { sendJson, statusForCode } from './http-util.js';
import type { JobManager, JobSpec } from './job-manager.js';
import { holdWorstCase, routingHeaders, sizeRequest, type AdmissionContext, type Refusal } from './admission.js';
import type { ModelMeters } from './model-meters.js';
import type { ApiError, GenerationBackend, GenerationSink, ModelEntry, RunningGeneration } from '../node-kit/openai/backend.js';
import { errorType } from '../node-kit/http-util.js';

/** Header that tells a client how its request travelled (sealed mode comes through the gateway). */
export const CONFIDENTIALITY_HEADER = HEADERS.confidentiality;

/** Header a client may set to require a minimum worker tier. */
export const MIN_TIER_HEADER = HEADERS.minTier;

/** What the API handlers need from the coordinator. */
export interface ApiContext extends AdmissionContext {
  jobs: JobManager;
  meters: ModelMeters;
  startedAt: number;
  /** True while this instance has lost the bus to the others (only its own workers are reachable). */
  cutOff?: () => boolean;
}

/** What a request for a model no reachable worker serves gets: 404, or 503 while the instance is cut off from the others. */
function noWorkerFor(ctx: Pick<ApiContext, 'cutOff'>, model: string): ApiError {
  if (ctx.cutOff?.()) return { status: 503, code: 'cluster_unavailable', message: `No worker serving '${model}' is reachable from this coordinator just now: it has lost the link to the other instances. Try again shortly.`, param: null };
  return { status: 404, code: 'model_not_found', message: `The model '${model}' does not exist or no worker serving it is connected.`, param: 'model' };
}

/** Sends a refusal in OpenAI's error shape. */
export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  const error = refusalError(refusal);
  sendJson(res, error.status, { error: { message: error.message, type: error.type ?? errorType(error.status), param: error.param ?? null, code: error.code } }, error.status === 503 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {});
}

function refusalError(refusal: Refusal): ApiError {
  return { status: refusal.status, code: refusal.code, message: refusal.message, param: refusal.param ?? null, ...(refusal.type ? { type: refusal.type } : {}) };
}

/** A failed job, as the API answers it. */
export function jobError(error: WireError): ApiError {
  return { status: statusForCode(error.code), code: error.code, message: error.message, param: error.code === 'context_length_exceeded' ? 'messages' : null };
}

/** The models connected workers serve now, as the models endpoints list them. */
export function offeredModels(ctx: ApiContext): ModelEntry[] {
  return [...ctx.registry.models()].map(([id, info]) => ({ id, contextLength: info.contextSize, workers: info.workers, tiers: [...info.tiers] }));
}

/** Transport mode's backend, for one caller (`clientId` pays; undefined = unmetered). */
export function transportBackend(ctx: ApiContext, clientId: string | undefined): GenerationBackend {
  return {
    confidentiality: 'transport',
    createdAt: Math.floor(ctx.startedAt / 1000),
    models: async () => offeredModels(ctx),
    start: (req, request, sink) => startJob(req, ctx, clientId, request, sink),
  };
}

async function startJob(req: IncomingMessage, ctx: ApiContext, clientId: string | undefined, request: GenerationRequest, sink: GenerationSink): Promise<RunningGeneration | ApiError> {
  const model = request.model;
  // Any worker in standing that serves the model (sharing now or not); stops at the first one,
  // where building the whole models() map cost a pass over every connected worker per request.
  if (!ctx.registry.anyCanServe({ model, minTier: 'unsandboxed', maxCoefficient: Infinity, contextNeeded: 0 })) return noWorkerFor(ctx, model);
  const routing = routingHeaders(req.headers, ctx.defaultMaxCoefficient);
  if (!routing.ok) return refusalError(routing.refusal);
  // Tools are rendered into the prompt: counted (or bounded) with them, as the engine evaluates it.
  const prompt = ctx.meters.promptFigure(model, request.messages, request.params);
  const sized = sizeRequest(ctx, { model, minTier: routing.minTier, maxCoefficient: routing.maxCoefficient, maxTokens: request.maxTokens, defaultMaxTokens: DEFAULT_MAX_TOKENS }, prompt);
  if (!sized.ok) return refusalError(sized.refusal);
  const meter = ctx.meters.get(model)?.counter;
  const spec: JobSpec = {
    model,
    messages: request.messages,
    params: { ...request.params, maxTokens: sized.sizing.maxTokens },
    minTier: routing.minTier,
    timeoutMs: ctx.requestTimeoutMs,
    maxCoefficient: routing.maxCoefficient,
    prompt,
    contextNeeded: sized.sizing.contextNeeded,
    ...(meter ? { meter } : {}),
  };
  if (clientId) {
    // The worst case is held before any work, so a client can never owe more than it has.
    spec.clientId = clientId;
    spec.jobId = `job-${randomUUID()}`;
    const refusal = await holdWorstCase(ctx, { clientId, jobId: spec.jobId, model, promptFigure: prompt.figure, maxTokens: spec.params.maxTokens, maxCoefficient: routing.maxCoefficient });
    if (refusal) return refusalError(refusal);
  }
  const handle = ctx.jobs.submit(spec, {
    onChunk(text, toolCalls, reasoning) {
      if (reasoning) sink.onReasoning(reasoning);
      sink.onText(text);
      if (toolCalls) sink.onToolCalls(toolCalls);
    },
    onDone: (result) => sink.onDone(result),
    onError: (error) => sink.onError(jobError(error)),
  });
  return { cancel: () => handle.cancel('client disconnected') };
}
