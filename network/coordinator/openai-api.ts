/**
 * The OpenAI-compatible client API: `POST /v1/chat/completions` (SSE streaming or one JSON
 * answer) and `GET /v1/models`. Transport mode: the coordinator sees the request in clear.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { samplingParams, toChatMessages, DEFAULT_MAX_TOKENS, type ChatCompletionRequest } from '../protocol/chat.js';
import type { FinishReason, Usage } from '../protocol/worker-frames.js';
import type { WireError } from '../protocol/errors.js';
import { HEADERS } from '../protocol/http-contract.js';
import { readChatRequest, sendError, sendJson, statusForCode } from './http-util.js';
import type { JobManager, JobSpec } from './job-manager.js';
import { TIER_DESCRIPTIONS } from '../protocol/descriptor.js';
import { holdWorstCase, routingHeaders, sizeRequest, type AdmissionContext, type Refusal } from './admission.js';
import type { ModelMeters } from './model-meters.js';

/** Header that tells a client how its request travelled (sealed mode comes through the gateway). */
export const CONFIDENTIALITY_HEADER = HEADERS.confidentiality;

/** What transport mode means, said wherever its answers go. */
export const TRANSPORT_NOTE =
  'Transport mode: requests sent straight to this coordinator are readable by it and by the worker app. For end-to-end sealing, run `silkworm gateway` and point your client at it.';

/** Header a client may set to require a minimum worker tier. */
export const MIN_TIER_HEADER = HEADERS.minTier;

/** What the API handlers need from the coordinator. */
export interface ApiContext extends AdmissionContext {
  jobs: JobManager;
  meters: ModelMeters;
  startedAt: number;
}

/** Sends a refusal in OpenAI's error shape. */
export function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  sendJson(res, refusal.status, { error: { message: refusal.message, type: refusal.type ?? (refusal.status >= 500 ? 'server_error' : 'invalid_request_error'), param: refusal.param ?? null, code: refusal.code } });
}

/** `GET /v1/models`: every model a worker sharing now serves. */
export function handleListModels(res: ServerResponse, ctx: ApiContext): void {
  const created = Math.floor(ctx.startedAt / 1000);
  const data = [...ctx.registry.models()].map(([id, info]) => ({
    id,
    object: 'model',
    created,
    owned_by: 'silkworm',
    context_length: info.contextSize,
    workers: info.workers,
    tiers: Object.fromEntries([...info.tiers].map((tier) => [tier, TIER_DESCRIPTIONS[tier]])),
  }));
  sendJson(res, 200, { object: 'list', confidentiality: TRANSPORT_NOTE, data });
}

/** `POST /v1/chat/completions`; `clientId` is the paying client (undefined = unmetered). */
export async function handleChatCompletions(req: IncomingMessage, res: ServerResponse, ctx: ApiContext, clientId: string | undefined): Promise<void> {
  const request = await readChatRequest(req, res);
  if (!request) return;
  if (!ctx.registry.models().has(request.model) && !ctx.registry.anyCanServe({ model: request.model, minTier: 'unsandboxed', maxCoefficient: Infinity, contextNeeded: 0 })) {
    return sendError(res, 404, `The model '${request.model}' does not exist or no worker serving it is connected.`, 'model_not_found', 'model');
  }
  const routing = routingHeaders(req.headers, ctx.defaultMaxCoefficient);
  if (!routing.ok) return sendRefusal(res, routing.refusal);
  const messages = toChatMessages(request);
  const prompt = ctx.meters.promptFigure(request.model, messages);
  const sized = sizeRequest(ctx, { model: request.model, minTier: routing.minTier, maxCoefficient: routing.maxCoefficient, maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined, defaultMaxTokens: DEFAULT_MAX_TOKENS }, prompt);
  if (!sized.ok) return sendRefusal(res, sized.refusal);
  const meter = ctx.meters.get(request.model)?.counter;
  const spec: JobSpec = {
    model: request.model,
    messages,
    params: { maxTokens: sized.sizing.maxTokens, ...samplingParams(request) },
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
    const refusal = holdWorstCase(ctx, { clientId, jobId: spec.jobId, model: spec.model, promptFigure: prompt.figure, maxTokens: spec.params.maxTokens, maxCoefficient: routing.maxCoefficient });
    if (refusal) return sendRefusal(res, refusal);
  }
  if (request.stream) streamCompletion(res, ctx, spec, request);
  else completeOnce(res, ctx, spec, request);
}

function usageBody(usage: Usage) {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens };
}

function errorBody(error: WireError) {
  const status = statusForCode(error.code);
  return { message: error.message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: error.code };
}

function streamCompletion(res: ServerResponse, ctx: ApiContext, spec: JobSpec, request: ChatCompletionRequest): void {
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: 'chat.completion.chunk', created, model: request.model };
  let first = true;
  let ended = false;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', [CONFIDENTIALITY_HEADER]: 'transport' });
  res.flushHeaders();
  const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
  const end = () => {
    ended = true;
    res.end('data: [DONE]\n\n');
  };
  const handle = ctx.jobs.submit(spec, {
    onChunk(text) {
      const delta = first ? { role: 'assistant', content: text } : { content: text };
      first = false;
      send({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: null }] });
    },
    onDone({ finishReason, usage }: { finishReason: FinishReason; usage: Usage }) {
      send({ ...base, choices: [{ index: 0, delta: first ? { role: 'assistant', content: '' } : {}, logprobs: null, finish_reason: finishReason }] });
      if (request.stream_options?.include_usage) send({ ...base, choices: [], usage: usageBody(usage) });
      end();
    },
    onError(error) {
      // The openai SDK raises an APIError for an SSE event carrying `error`.
      send({ error: errorBody(error) });
      end();
    },
  });
  res.on('close', () => {
    if (!ended) handle.cancel('client disconnected');
  });
}

function completeOnce(res: ServerResponse, ctx: ApiContext, spec: JobSpec, request: ChatCompletionRequest): void {
  let text = '';
  let ended = false;
  const handle = ctx.jobs.submit(spec, {
    onChunk(chunk) {
      text += chunk;
    },
    onDone({ finishReason, usage }) {
      ended = true;
      sendJson(
        res,
        200,
        {
          id: `chatcmpl-${randomUUID()}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finishReason }],
          usage: usageBody(usage),
        },
        { [CONFIDENTIALITY_HEADER]: 'transport' },
      );
    },
    onError(error) {
      ended = true;
      sendJson(res, statusForCode(error.code), { error: errorBody(error) });
    },
  });
  res.on('close', () => {
    if (!ended) handle.cancel('client disconnected');
  });
}
