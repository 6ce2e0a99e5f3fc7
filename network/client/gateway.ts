/**
 * `silkworm gateway`: a local OpenAI-compatible endpoint (`POST /v1/chat/completions`, streaming
 * or not, `GET /v1/models`, `GET /healthz`) that seals every request end to end to a verified
 * worker's job process and opens the answer here. A stock `openai` client pointed at it gets
 * sealed mode without knowing it; only ciphertext and routing fields reach the coordinator.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { identityKeyPairFromSeed } from '../protocol/descriptor.js';
import { HEADERS } from '../protocol/http-contract.js';
import { VocabMeters } from './vocab-meter.js';
import { samplingParams, toChatMessages, type ChatCompletionRequest } from '../protocol/chat.js';
import { meetsTier, TIER_DESCRIPTIONS, TIER_RANK } from '../protocol/descriptor.js';
import { formatHostPort } from '../protocol/host-port.js';
import type { Tier, Usage } from '../protocol/worker-frames.js';
import { SealedJobError, SilkwormClient, type SealedChatEvent, type SilkwormClientOptions } from './sdk.js';
import { readChatRequest, sendError, sendJson } from '../node-kit/http-util.js';
import { createLogger, type Logger } from './log.js';

/** How the request travelled: always `sealed` here (the coordinator's own API says `transport`). */
export const CONFIDENTIALITY_HEADER = HEADERS.confidentiality;
/** The confidentiality tier of the worker that served the request. */
export const WORKER_TIER_HEADER = HEADERS.workerTier;
/** The id of the worker that served the request. */
export const WORKER_ID_HEADER = HEADERS.workerId;

/** Everything a gateway is started with. */
export interface GatewayOptions extends Omit<SilkwormClientOptions, 'coordinatorUrl'> {
  host: string;
  port: number;
  coordinatorUrl: string;
  logger?: Logger;
}

/** A running gateway. */
export interface Gateway {
  /** e.g. http://127.0.0.1:8788 — give clients `${url}/v1` as their OpenAI base URL. */
  url: string;
  client: SilkwormClient;
  close(): Promise<void>;
}

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

function hostnameOf(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  const match = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(hostHeader);
  return match?.[1] ?? '';
}

/** Starts a gateway on a loopback address; resolves once it listens. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  // SECURITY: the gateway spends the holder's coordinator balance and sees plaintext: loopback only.
  if (!isLoopbackHost(options.host)) throw new Error(`The gateway listens on loopback only (127.0.0.1, ::1, localhost), not '${options.host}'.`);
  const logger = options.logger ?? createLogger('gateway');
  // Usage receipts: counted with each model's own tokenizer, signed with a key of this process.
  const meters = new VocabMeters(options.coordinatorUrl, options.apiKey, options.fetch);
  const client = new SilkwormClient({ receipts: { key: identityKeyPairFromSeed(randomBytes(32)), meter: (model) => meters.meter(model) }, ...options });

  const server = createServer({ noDelay: true }, (req, res) => {
    const started = performance.now();
    const fields: Record<string, unknown> = {};
    res.once('close', () => logger.info({ method: req.method, path: new URL(req.url ?? '/', 'http://x').pathname, status: res.statusCode, ms: Math.round(performance.now() - started), ...fields }, 'request'));
    route(req, res, client, fields).catch((error: unknown) => {
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'request failed');
      if (!res.headersSent) sendError(res, 500, 'Internal error.', 'internal');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const url = `http://${formatHostPort({ host: options.host, port: (server.address() as AddressInfo).port })}`;
  logger.info({ url: `${url}/v1`, coordinator: options.coordinatorUrl, minTier: client.minTier, confidentiality: 'sealed' }, 'gateway ready');
  return {
    url,
    client,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await meters.close();
    },
  };
}

async function route(req: IncomingMessage, res: ServerResponse, client: SilkwormClient, fields: Record<string, unknown>): Promise<void> {
  // SECURITY: refuse DNS-rebinding (a foreign Host) and browser pages (any Origin) so a web
  // page cannot spend this gateway's API key or read answers.
  if (!isLoopbackHost(hostnameOf(req.headers.host))) return sendError(res, 403, 'The gateway answers requests addressed to a loopback host only.', 'forbidden_host');
  if (req.headers.origin !== undefined) return sendError(res, 403, 'The gateway does not serve browser pages (an Origin header was sent).', 'forbidden_origin');
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true, confidentiality: 'sealed', minTier: client.minTier });
  if (req.method === 'GET' && path === '/v1/models') return listModels(res, client);
  if (req.method === 'POST' && path === '/v1/chat/completions') return chatCompletions(req, res, client, fields);
  sendError(res, 404, `Unknown route ${req.method} ${path}.`, 'not_found');
}

async function listModels(res: ServerResponse, client: SilkwormClient): Promise<void> {
  let listing;
  try {
    listing = await client.listWorkers();
  } catch (error) {
    const failure = asSealedJobError(error);
    return sendError(res, failure.status, failure.message, failure.code);
  }
  const created = Math.floor(Date.now() / 1000);
  const models = new Map<string, { contextLength: number; workers: number; tiers: Set<Tier> }>();
  for (const worker of listing.workers.filter((w) => meetsTier(w.tier, client.minTier))) {
    for (const model of worker.models) {
      const entry = models.get(model.id) ?? { contextLength: 0, workers: 0, tiers: new Set<Tier>() };
      entry.contextLength = Math.max(entry.contextLength, model.contextSize);
      entry.workers += 1;
      entry.tiers.add(worker.tier);
      models.set(model.id, entry);
    }
  }
  const data = [...models].map(([id, entry]) => {
    const tiers = [...entry.tiers].sort((a, b) => TIER_RANK[a] - TIER_RANK[b]);
    const weakest = tiers[0]!;
    return {
      id,
      object: 'model',
      created,
      owned_by: 'silkworm',
      context_length: entry.contextLength,
      workers: entry.workers,
      confidentiality: 'sealed',
      tiers,
      confidentiality_note: `${TIER_DESCRIPTIONS[weakest].label}. ${TIER_DESCRIPTIONS[weakest].summary}`,
    };
  });
  sendJson(res, 200, { object: 'list', data }, { [CONFIDENTIALITY_HEADER]: 'sealed' });
}

async function chatCompletions(req: IncomingMessage, res: ServerResponse, client: SilkwormClient, fields: Record<string, unknown>): Promise<void> {
  const request = await readChatRequest(req, res);
  if (!request) return;
  fields.model = request.model;
  fields.stream = request.stream === true;
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableEnded) abort.abort();
  });
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const events = client.chat({
    model: request.model,
    messages: toChatMessages(request),
    params: samplingParams(request),
    ...(maxTokens != null ? { maxTokens } : {}),
    signal: abort.signal,
  });
  const tracked = track(events, fields);
  if (request.stream) await streamCompletion(res, tracked, request);
  else await completeOnce(res, tracked, request);
}

// Notes which workers served the job (ids and tiers are not secret) for the request log line.
async function* track(events: AsyncGenerator<SealedChatEvent>, fields: Record<string, unknown>): AsyncGenerator<SealedChatEvent> {
  for await (const event of events) {
    if (event.type === 'worker') {
      fields.workerId = event.worker.workerId;
      fields.tier = event.worker.tier;
      fields.jobId = event.jobId;
      fields.attempt = event.attempt;
    }
    if (event.type === 'done' && event.usage) {
      fields.promptTokens = event.usage.promptTokens;
      fields.completionTokens = event.usage.completionTokens;
    }
    yield event;
  }
}

function sealedHeaders(event: Extract<SealedChatEvent, { type: 'worker' }>): Record<string, string> {
  return { [CONFIDENTIALITY_HEADER]: 'sealed', [WORKER_TIER_HEADER]: event.worker.tier, [WORKER_ID_HEADER]: event.worker.workerId };
}

function usageBody(usage: Usage) {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.promptTokens + usage.completionTokens };
}

function asSealedJobError(error: unknown): SealedJobError {
  if (error instanceof SealedJobError) return error;
  return new SealedJobError(500, 'internal', error instanceof Error ? error.message : String(error));
}

function errorBody(error: SealedJobError) {
  return { message: error.message, type: error.status >= 500 ? 'server_error' : 'invalid_request_error', param: error.param, code: error.code };
}

async function streamCompletion(res: ServerResponse, events: AsyncGenerator<SealedChatEvent>, request: ChatCompletionRequest): Promise<void> {
  const base = { id: `chatcmpl-${randomUUID()}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: request.model };
  const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
  let first = true;
  try {
    for await (const event of events) {
      if (event.type === 'worker') {
        if (!res.headersSent) {
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...sealedHeaders(event) });
          res.flushHeaders();
        }
      } else if (event.type === 'text') {
        send({ ...base, choices: [{ index: 0, delta: first ? { role: 'assistant', content: event.text } : { content: event.text }, logprobs: null, finish_reason: null }] });
        first = false;
      } else {
        send({ ...base, choices: [{ index: 0, delta: first ? { role: 'assistant', content: '' } : {}, logprobs: null, finish_reason: event.finishReason }] });
        if (request.stream_options?.include_usage && event.usage) send({ ...base, choices: [], usage: usageBody(event.usage) });
        res.end('data: [DONE]\n\n');
      }
    }
  } catch (error) {
    const failure = asSealedJobError(error);
    if (!res.headersSent) return sendError(res, failure.status, failure.message, failure.code, failure.param, { [CONFIDENTIALITY_HEADER]: 'sealed' });
    // The openai SDK raises an APIError for an SSE event carrying `error`.
    send({ error: errorBody(failure) });
    res.end('data: [DONE]\n\n');
  }
}

async function completeOnce(res: ServerResponse, events: AsyncGenerator<SealedChatEvent>, request: ChatCompletionRequest): Promise<void> {
  let text = '';
  let headers: Record<string, string> = { [CONFIDENTIALITY_HEADER]: 'sealed' };
  try {
    for await (const event of events) {
      if (event.type === 'worker') headers = headers[WORKER_TIER_HEADER] ? headers : sealedHeaders(event);
      else if (event.type === 'text') text += event.text;
      else {
        const body = {
          id: `chatcmpl-${randomUUID()}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: event.finishReason }],
          ...(event.usage ? { usage: usageBody(event.usage) } : {}),
        };
        sendJson(res, 200, body, headers);
      }
    }
  } catch (error) {
    const failure = asSealedJobError(error);
    if (!res.headersSent) sendError(res, failure.status, failure.message, failure.code, failure.param, headers);
  }
}
