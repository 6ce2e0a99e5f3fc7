/**
 * The OpenAI-compatible endpoints, served the same way by the coordinator (transport mode) and
 * the gateway (sealed mode): `POST /v1/chat/completions`, `POST /v1/responses`,
 * `POST /v1/completions`, `GET /v1/models` and `GET /v1/models/{id}`. One request schema per
 * endpoint (network/protocol/openai/), one generation path (the backend), one answer shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TIER_DESCRIPTIONS, TIER_RANK } from '../../protocol/descriptor.js';
import { parseChatCompletionRequest } from '../../protocol/openai/chat-request.js';
import { parseCompletionRequest } from '../../protocol/openai/completions-request.js';
import { parseResponsesRequest, type ResponseItem } from '../../protocol/openai/responses-request.js';
import type { GenerationRequest, Parsed } from '../../protocol/openai/common.js';
import { ROUTES } from '../../protocol/http-contract.js';
import { decodePathPart, readJsonBody, sendError, sendJson } from '../http-util.js';
import { Answer, type AnswerFormat } from './answer.js';
import { isApiError, type GenerationBackend, type ModelEntry } from './backend.js';
import { chatFormat } from './chat-format.js';
import { completionsFormat } from './completions-format.js';
import { responsesFormat } from './responses-format.js';
import type { ResponseStore } from './response-store.js';

/** What the endpoints need besides the request. */
export interface OpenAiContext {
  backend: GenerationBackend;
  store: ResponseStore;
  /** Whose stored responses a request may read and write (one per API key). */
  scope: string;
}

/** Serves an OpenAI endpoint; resolves with a route name for metrics, or undefined when `path` is none of them. */
export async function routeOpenAi(req: IncomingMessage, res: ServerResponse, path: string, ctx: OpenAiContext): Promise<string | undefined> {
  if (req.method === 'POST' && path === ROUTES.chatCompletions) {
    await generate(req, res, ctx, parseChatCompletionRequest, (answer, request) => chatFormat(answer, request));
    return 'chat_completions';
  }
  if (req.method === 'POST' && path === ROUTES.completions) {
    await generate(req, res, ctx, parseCompletionRequest, (answer, request) => completionsFormat(answer, request));
    return 'completions';
  }
  if (req.method === 'POST' && path === ROUTES.responses) {
    await responses(req, res, ctx);
    return 'responses';
  }
  if (req.method === 'GET' && path === ROUTES.models) {
    await listModels(res, ctx.backend);
    return 'models';
  }
  if (req.method === 'GET' && path.startsWith(`${ROUTES.models}/`)) {
    await retrieveModel(res, ctx.backend, decodePathPart(path.slice(ROUTES.models.length + 1)) ?? path.slice(ROUTES.models.length + 1));
    return 'model';
  }
  return undefined;
}

/** Reads a JSON body; answers 413/400 itself and resolves undefined on failure. */
async function body(req: IncomingMessage, res: ServerResponse): Promise<{ value: unknown } | undefined> {
  const read = await readJsonBody(req);
  if (read.ok) return { value: read.value };
  sendError(res, read.status, read.message, read.status === 413 ? 'request_too_large' : 'invalid_json');
  return undefined;
}

async function generate<T>(req: IncomingMessage, res: ServerResponse, ctx: OpenAiContext, parse: (value: unknown) => Parsed<T>, format: (answer: Answer, request: GenerationRequest, raw: T) => AnswerFormat): Promise<void> {
  const read = await body(req, res);
  if (!read) return;
  const parsed = parse(read.value);
  if (!parsed.ok) return sendError(res, 400, parsed.problem.message, 'invalid_request', parsed.problem.param);
  await run(req, res, ctx.backend, parsed.generation, (answer) => format(answer, parsed.generation, parsed.request));
}

async function responses(req: IncomingMessage, res: ServerResponse, ctx: OpenAiContext): Promise<void> {
  const read = await body(req, res);
  if (!read) return;
  const parsed = parseResponsesRequest(read.value, ctx.store.lookup(ctx.scope));
  if (!parsed.ok) return sendError(res, 400, parsed.problem.message, 'invalid_request', parsed.problem.param);
  const input: ResponseItem[] = parsed.items ?? [];
  const save = parsed.request.store === false ? undefined : (responseId: string, output: { id: string; item: ResponseItem }[]) => ctx.store.save(ctx.scope, responseId, [...input, ...output.map((o) => o.item)], output);
  await run(req, res, ctx.backend, parsed.generation, (answer) => responsesFormat(answer, parsed.generation, parsed.request, save));
}

/** Starts the generation and wires the answer to it; a client that goes away cancels it. */
async function run(req: IncomingMessage, res: ServerResponse, backend: GenerationBackend, request: GenerationRequest, format: (answer: Answer) => AnswerFormat): Promise<void> {
  const answer = new Answer(res, request.stream, backend.confidentiality);
  answer.use(format(answer));
  const running: { cancel?: () => void; closed: boolean } = { closed: false };
  res.on('close', () => {
    running.closed = true;
    if (!answer.ended) running.cancel?.();
  });
  const started = await backend.start(req, request, answer);
  if (isApiError(started)) {
    answer.onError(started);
    return;
  }
  running.cancel = () => started.cancel();
  // The client may have gone while the generation was being set up.
  if (running.closed && !answer.ended) started.cancel();
}

function modelObject(entry: ModelEntry, backend: GenerationBackend) {
  const tiers = [...entry.tiers].sort((a, b) => TIER_RANK[a] - TIER_RANK[b]);
  const weakest = tiers[0];
  return {
    id: entry.id,
    object: 'model',
    created: backend.createdAt,
    owned_by: 'silkworm',
    context_length: entry.contextLength,
    workers: entry.workers,
    tiers,
    confidentiality: backend.confidentiality,
    confidentiality_note:
      backend.confidentiality === 'transport'
        ? 'Transport mode: requests sent straight to the coordinator are readable by it and by the worker app. For end-to-end sealing, run `silkworm gateway` and point your client at it.'
        : weakest
          ? `${TIER_DESCRIPTIONS[weakest].label}. ${TIER_DESCRIPTIONS[weakest].summary}`
          : 'Sealed end to end.',
  };
}

async function listModels(res: ServerResponse, backend: GenerationBackend): Promise<void> {
  const models = await backend.models();
  if (isApiError(models)) return sendError(res, models.status, models.message, models.code);
  sendJson(res, 200, { object: 'list', data: models.map((m) => modelObject(m, backend)) }, { 'x-silkworm-confidentiality': backend.confidentiality });
}

async function retrieveModel(res: ServerResponse, backend: GenerationBackend, id: string): Promise<void> {
  const models = await backend.models();
  if (isApiError(models)) return sendError(res, models.status, models.message, models.code);
  const found = models.find((m) => m.id === id);
  if (!found) return sendError(res, 404, `The model '${id}' does not exist or no worker serving it is connected.`, 'model_not_found', 'model');
  sendJson(res, 200, modelObject(found, backend), { 'x-silkworm-confidentiality': backend.confidentiality });
}
