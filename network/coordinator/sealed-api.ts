/**
 * Sealed mode on the coordinator: it publishes workers' signed descriptors and relays sealed
 * jobs — ciphertext in, ciphertext out. It sees the model, max_tokens, the job and worker ids,
 * sizes, timing and token counts; never the prompt or the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sealedEnvelopeSchema } from '../protocol/sealed.js';
import { formatSealedJobEvent, type SealedJobEvent } from '../protocol/sealed-http.js';
import { meetsTier } from '../protocol/descriptor.js';
import { tierSchema } from '../protocol/job-schemas.js';
import type { ErrorCode } from '../protocol/errors.js';
import { readJsonBody, sendError, sendJson } from './http-util.js';
import type { ApiContext } from './openai-api.js';

/** Errors after which the client may seal the job again to another worker. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['worker_lost', 'no_capacity', 'engine_crashed', 'not_sharing', 'timeout']);

/** Recently seen sealed job ids, so a replayed envelope is refused before reaching a worker. */
const seenJobIds = new Set<string>();
function remember(jobId: string): void {
  seenJobIds.add(jobId);
  if (seenJobIds.size > 100_000) seenJobIds.delete(seenJobIds.values().next().value as string);
}

/** `GET /v1/workers?model=&tier=`: signed descriptors of connected, available workers. */
export function handleListWorkers(req: IncomingMessage, res: ServerResponse, ctx: ApiContext, coordinatorId: string): void {
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const model = query.get('model');
  const tier = tierSchema.safeParse(query.get('tier') ?? 'unsandboxed');
  if (!tier.success) return sendError(res, 400, `tier must be one of ${tierSchema.options.join(', ')}.`, 'invalid_request', 'tier');
  const data = [...ctx.registry.all()]
    .filter((w) => w.available && w.descriptor && (!model || w.models.has(model)) && meetsTier(w.descriptor.descriptor.tier, tier.data))
    .map((w) => w.descriptor);
  sendJson(res, 200, { object: 'list', coordinatorId, data });
}

/** `POST /v1/sealed/jobs`: checks the envelope's clear fields, holds the price, relays the job. */
export async function handleSealedJob(req: IncomingMessage, res: ServerResponse, ctx: ApiContext, coordinatorId: string, clientId: string | undefined): Promise<void> {
  const body = await readJsonBody(req);
  if (!body.ok) return sendError(res, body.status, body.message);
  const parsed = sealedEnvelopeSchema.safeParse(body.value);
  if (!parsed.success) return sendError(res, 400, `Malformed sealed envelope: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim(), 'invalid_request');
  const envelope = parsed.data;
  if (envelope.coordinatorId !== coordinatorId) return sendError(res, 421, `This envelope is for coordinator ${envelope.coordinatorId}; this is ${coordinatorId}.`, 'wrong_coordinator');
  const model = ctx.registry.models().get(envelope.model);
  if (!model) return sendError(res, 404, `The model '${envelope.model}' does not exist or no worker serving it is connected.`, 'model_not_found', 'model');
  if (envelope.maxTokens >= model.contextSize) return sendError(res, 400, `maxTokens is too large: ${envelope.maxTokens}. '${envelope.model}' has a context of ${model.contextSize} tokens.`, 'invalid_request', 'maxTokens');
  const worker = ctx.registry.get(envelope.workerId);
  if (!worker || !worker.available) return sendError(res, 503, `Worker ${envelope.workerId} is not available; pick another.`, 'worker_lost');
  if (worker.running >= worker.maxConcurrentJobs) return sendError(res, 503, `Worker ${envelope.workerId} is busy; pick another.`, 'no_capacity');
  if (worker.descriptor?.descriptor.hpke.publicKey !== envelope.recipientKey) return sendError(res, 409, `Worker ${envelope.workerId} has a new key; fetch /v1/workers again.`, 'stale_worker_key');
  if (seenJobIds.has(envelope.jobId) || ctx.jobs.has(envelope.jobId)) return sendError(res, 409, `Job ${envelope.jobId} was seen before.`, 'duplicate_job');
  remember(envelope.jobId);
  if (clientId) {
    const promptBytes = Math.ceil((envelope.ciphertext.length * 3) / 4);
    const worst = ctx.billing.worstCaseForPrompt(envelope.model, promptBytes, envelope.maxTokens, worker.priceCoefficient);
    const held = ctx.billing.reserve(clientId, envelope.jobId, worst);
    if (!held.ok) return sendJson(res, 402, { error: { message: held.message, type: 'insufficient_quota', param: null, code: 'insufficient_balance' } });
  }

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-silkworm-confidentiality': 'sealed' });
  res.flushHeaders();
  let ended = false;
  const emit = (event: SealedJobEvent, last = false) => {
    if (ended) return;
    res.write(formatSealedJobEvent(event));
    if (last) {
      ended = true;
      res.end();
    }
  };
  const handle = ctx.jobs.submit(
    {
      model: envelope.model,
      messages: [],
      params: { maxTokens: envelope.maxTokens, temperature: 0 },
      minTier: 'unsandboxed',
      timeoutMs: ctx.requestTimeoutMs,
      jobId: envelope.jobId,
      sealed: { envelope, workerId: envelope.workerId },
      ...(clientId ? { clientId } : {}),
    },
    {
      onChunk: () => {},
      onSealedChunk: (chunk) => emit({ type: 'chunk', ...chunk }),
      onDone: ({ usage }) => emit({ type: 'usage', usage }, true),
      onError: (error) => emit({ type: 'error', error: { code: error.code, message: error.message, retryable: RETRYABLE.has(error.code) } }, true),
    },
  );
  res.on('close', () => {
    if (!ended) handle.cancel('client disconnected');
  });
}
