/**
 * The OpenAI-compatible client API: `POST /v1/chat/completions` (SSE streaming or one JSON
 * answer) and `GET /v1/models`. Transport mode: the coordinator sees the request in clear.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { samplingParams, toChatMessages, DEFAULT_MAX_TOKENS, type ChatCompletionRequest } from '../protocol/chat.js';
import type { FinishReason, Tier, Usage } from '../protocol/worker-frames.js';
import { tierSchema } from '../protocol/worker-frames.js';
import type { WireError } from '../protocol/errors.js';
import { readChatRequest, sendError, sendJson, statusForCode } from './http-util.js';
import type { JobManager, JobSpec } from './job-manager.js';
import type { WorkerRegistry } from './worker-registry.js';
import type { Billing } from './billing.js';
import { TIER_DESCRIPTIONS } from '../protocol/descriptor.js';

/** Header that tells a client how its request travelled (sealed mode comes through the gateway). */
export const CONFIDENTIALITY_HEADER = 'x-silkworm-confidentiality';

/** What transport mode means, said wherever its answers go. */
export const TRANSPORT_NOTE =
  'Transport mode: requests sent straight to this coordinator are readable by it and by the worker app. For end-to-end sealing, run `silkworm gateway` and point your client at it.';

/** Header a client may set to require a minimum worker tier. */
export const MIN_TIER_HEADER = 'x-silkworm-min-tier';

/** What the API handlers need from the coordinator. */
export interface ApiContext {
  jobs: JobManager;
  billing: Billing;
  registry: WorkerRegistry;
  requestTimeoutMs: number;
  startedAt: number;
}

/** `GET /v1/models`: every model a connected worker serves. */
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
  const model = ctx.registry.models().get(request.model);
  if (!model) return sendError(res, 404, `The model '${request.model}' does not exist or no worker serving it is connected.`, 'model_not_found', 'model');
  const minTier = tierSchema.safeParse(req.headers[MIN_TIER_HEADER] ?? 'unsandboxed');
  if (!minTier.success) return sendError(res, 400, `Header ${MIN_TIER_HEADER} must be one of ${tierSchema.options.join(', ')}.`, 'invalid_request');
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? Math.min(DEFAULT_MAX_TOKENS, model.contextSize);
  if (maxTokens >= model.contextSize) {
    return sendError(res, 400, `max_tokens is too large: ${maxTokens}. '${request.model}' has a context of ${model.contextSize} tokens, prompt included.`, 'invalid_request', 'max_tokens');
  }
  const spec = toJobSpec(request, maxTokens, minTier.data, ctx.requestTimeoutMs);
  if (clientId) {
    // The worst case is held before any work, so a client can never owe more than it has.
    spec.clientId = clientId;
    spec.jobId = `job-${randomUUID()}`;
    const worst = ctx.billing.worstCase(spec.model, spec.messages, maxTokens, ctx.registry.maxCoefficient(spec.model));
    const held = ctx.billing.reserve(clientId, spec.jobId, worst);
    if (!held.ok) return sendJson(res, 402, { error: { message: held.message, type: 'insufficient_quota', param: null, code: 'insufficient_balance' } });
  }
  if (request.stream) streamCompletion(res, ctx, spec, request);
  else completeOnce(res, ctx, spec, request);
}

function toJobSpec(request: ChatCompletionRequest, maxTokens: number, minTier: Tier, timeoutMs: number): JobSpec {
  return {
    model: request.model,
    messages: toChatMessages(request),
    params: { maxTokens, ...samplingParams(request) },
    minTier,
    timeoutMs,
  };
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
