/**
 * Sealed mode on the coordinator: it publishes workers' signed descriptors and relays sealed
 * jobs — ciphertext in, ciphertext out. It sees the model, max_tokens, the job and worker ids,
 * sizes, timing and token counts; never the prompt or the answer. It bills no more than its own
 * bounds (the sealed payload sizes, max_tokens), the worker's claim and, when the client's
 * gateway sends one, the client's signed usage receipt (usage-receipt.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sealedEnvelopeSchema, sealedPromptBound, type SealedEnvelope } from '../protocol/sealed.js';
import type { JobSpec } from './job-manager.js';
import { formatSealedJobEvent, type SealedJobEvent } from '../protocol/sealed-http.js';
import { meetsTier } from '../protocol/descriptor.js';
import { tierSchema } from '../protocol/job-schemas.js';
import { HEADERS, ROUTES, SEALED_RETRYABLE_CODES } from '../protocol/http-contract.js';
import { isBase64UrlOfLength } from '../protocol/encoding.js';
import { usageReceiptBodySchema, verifyUsageReceipt } from '../protocol/usage-receipt.js';
import type { Usage } from '../protocol/worker-frames.js';
import { decodePathPart, readJsonBody, sendError, sendJson } from './http-util.js';
import { sendRefusal, type ApiContext } from './openai-api.js';
import { holdWorstCase, routingHeaders } from './admission.js';
import { routeScore } from './router.js';
import { callStore, type CoordinatorStore } from './store.js';
import { contextLengthMessage } from '../protocol/chat.js';

/** How long the coordinator waits for a client's usage receipt before settling on its bounds. */
export const RECEIPT_WAIT_MS = 15_000;

/** Sealed jobs waiting for their client's usage receipt. */
export class ReceiptWaits {
  private readonly waiting = new Map<string, { key: string; model: string; settle: (receipt: Usage | undefined) => void; timer: NodeJS.Timeout }>();

  /** Waits for the receipt of `jobId` signed by `key`, or settles without it after RECEIPT_WAIT_MS. */
  wait(jobId: string, model: string, key: string, settle: (receipt: Usage | undefined) => void, waitMs = RECEIPT_WAIT_MS): void {
    const timer = setTimeout(() => this.take(jobId)?.settle(undefined), waitMs);
    timer.unref();
    this.waiting.set(jobId, { key, model, settle, timer });
  }

  /** Removes and returns a waiting job. */
  take(jobId: string): { key: string; model: string; settle: (receipt: Usage | undefined) => void } | undefined {
    const entry = this.waiting.get(jobId);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.waiting.delete(jobId);
    return entry;
  }

  /** Settles every waiting job without its receipt (shutdown). */
  flush(): void {
    for (const jobId of [...this.waiting.keys()]) this.take(jobId)?.settle(undefined);
  }

  /** The receipt key a waiting job was posted with. */
  peek(jobId: string): { key: string; model: string } | undefined {
    return this.waiting.get(jobId);
  }
}

/**
 * The job a sealed envelope makes: it goes to the worker the envelope names, the coordinator
 * knows only its clear fields, and its prompt is bounded by the sealed size or the client's
 * declared count (`sealedPromptBound`).
 */
export function sealedJobSpec(envelope: SealedEnvelope, options: { timeoutMs: number; maxCoefficient: number }): JobSpec {
  return {
    model: envelope.model,
    messages: [],
    params: { maxTokens: envelope.maxTokens, temperature: 0 },
    minTier: 'unsandboxed',
    timeoutMs: options.timeoutMs,
    maxCoefficient: options.maxCoefficient,
    prompt: { figure: sealedPromptBound(envelope), exact: false },
    contextNeeded: envelope.maxTokens + (envelope.promptTokens ?? 1),
    jobId: envelope.jobId,
    sealed: { envelope, workerId: envelope.workerId },
  };
}

/** The answer length the routing advice of `GET /v1/workers` is weighed for. */
const WEIGHT_TOKENS = 256;

/** `GET /v1/workers?model=&tier=`: signed descriptors of connected, available workers. */
export function handleListWorkers(req: IncomingMessage, res: ServerResponse, ctx: ApiContext, coordinatorId: string): void {
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const model = query.get('model');
  const tier = tierSchema.safeParse(query.get('tier') ?? 'unsandboxed');
  if (!tier.success) return sendError(res, 400, `tier must be one of ${tierSchema.options.join(', ')}.`, 'invalid_request', 'tier');
  const listed = [...ctx.registry.all()].filter((w) => w.available && w.reputation > 0 && w.descriptor && (!model || w.models.has(model)) && meetsTier(w.descriptor.descriptor.tier, tier.data));
  // Routing advice: what the router weighs for transport jobs, so a sealed client's pick follows
  // measured speed and earned reputation too, not the number of identities someone made.
  const weights = Object.fromEntries(listed.map((w) => [w.id, Number((1e6 / routeScore(w, WEIGHT_TOKENS)).toPrecision(3))]));
  sendJson(res, 200, { object: 'list', coordinatorId, data: listed.map((w) => w.descriptor), weights });
}

/** `POST /v1/sealed/jobs`: checks the envelope's clear fields, holds the price, relays the job. */
export async function handleSealedJob(req: IncomingMessage, res: ServerResponse, ctx: ApiContext, coordinatorId: string, clientId: string | undefined, receipts: ReceiptWaits): Promise<void> {
  const body = await readJsonBody(req);
  if (!body.ok) return sendError(res, body.status, body.message);
  const parsed = sealedEnvelopeSchema.safeParse(body.value);
  if (!parsed.success) return sendError(res, 400, `Malformed sealed envelope: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim(), 'invalid_request');
  const envelope = parsed.data;
  const receiptKey = req.headers[HEADERS.receiptKey];
  if (receiptKey !== undefined && (typeof receiptKey !== 'string' || !isBase64UrlOfLength(receiptKey, 32))) {
    return sendError(res, 400, `Header ${HEADERS.receiptKey} must be a 32-byte Ed25519 public key as base64url.`, 'invalid_request');
  }
  if (envelope.coordinatorId !== coordinatorId) return sendError(res, 421, `This envelope is for coordinator ${envelope.coordinatorId}; this is ${coordinatorId}.`, 'wrong_coordinator');
  const model = ctx.registry.offered(envelope.model);
  if (!model) return sendError(res, 404, `The model '${envelope.model}' does not exist or no worker serving it is connected.`, 'model_not_found', 'model');
  const routing = routingHeaders(req.headers, ctx.defaultMaxCoefficient);
  if (!routing.ok) return sendRefusal(res, routing.refusal);
  const worker = ctx.registry.get(envelope.workerId);
  if (!worker || !worker.available || worker.reputation <= 0) return sendError(res, 503, `Worker ${envelope.workerId} is not available; pick another.`, 'worker_lost');
  if (worker.instance !== undefined) return sendError(res, 503, `Worker ${envelope.workerId} is connected to another instance of this network; pick one from this instance's /v1/workers.`, 'worker_lost');
  const context = worker.contextSizes.get(envelope.model) ?? 0;
  if (envelope.maxTokens >= context) return sendError(res, 400, `maxTokens is too large: ${envelope.maxTokens}. '${envelope.model}' has a context of ${context} tokens on this worker.`, 'invalid_request', 'maxTokens');
  if (envelope.promptTokens !== undefined && envelope.promptTokens + envelope.maxTokens > context) {
    return sendError(res, 400, contextLengthMessage(context, envelope.promptTokens, envelope.maxTokens), 'context_length_exceeded', 'messages');
  }
  if (worker.priceCoefficient > routing.maxCoefficient) return sendError(res, 409, `Worker ${envelope.workerId} asks ${worker.priceCoefficient}× list price, above your cap of ${routing.maxCoefficient}; pick another.`, 'no_capacity');
  if (worker.descriptor?.descriptor.hpke.publicKey !== envelope.recipientKey) return sendError(res, 409, `Worker ${envelope.workerId} has a new key; fetch /v1/workers again.`, 'stale_worker_key');
  // Job ids are unique in the database, not only in memory: a replay after a restart is refused too.
  if (ctx.jobs.has(envelope.jobId)) return sendError(res, 409, `Job ${envelope.jobId} was seen before.`, 'duplicate_job');
  const withReceipt = typeof receiptKey === 'string' && clientId !== undefined;
  const [used, receiptsPausedAt] = await Promise.all([ctx.billing.jobIdUsed(envelope.jobId), withReceipt ? ctx.billing.receiptsPausedAt(clientId) : undefined]);
  if (used) return sendError(res, 409, `Job ${envelope.jobId} was seen before.`, 'duplicate_job');
  if (receiptsPausedAt !== undefined) {
    return sendError(
      res,
      403,
      `Usage receipts from this account are paused since ${new Date(receiptsPausedAt).toISOString()}: they fell short of what several different workers reported, too often. Send sealed jobs without the ${HEADERS.receiptKey} header (billed on the coordinator's own bounds) or use transport mode, and ask the operator to review the account.`,
      'receipts_paused',
    );
  }
  const spec = sealedJobSpec(envelope, { timeoutMs: ctx.requestTimeoutMs, maxCoefficient: routing.maxCoefficient });
  if (clientId) {
    const refusal = await holdWorstCase(ctx, { clientId, jobId: envelope.jobId, model: envelope.model, promptFigure: spec.prompt.figure, maxTokens: envelope.maxTokens, maxCoefficient: routing.maxCoefficient });
    if (refusal) return sendRefusal(res, refusal);
  }
  // While the store answered, the client may have gone, or the same envelope come in again.
  if (res.destroyed || ctx.jobs.has(envelope.jobId)) {
    if (clientId) await ctx.billing.release(envelope.jobId);
    return res.destroyed ? undefined : sendError(res, 409, `Job ${envelope.jobId} was seen before.`, 'duplicate_job');
  }

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', [HEADERS.confidentiality]: 'sealed' });
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
      ...spec,
      ...(clientId ? { clientId } : {}),
      ...(typeof receiptKey === 'string' ? { awaitReceipt: (settle) => receipts.wait(envelope.jobId, envelope.model, receiptKey, settle) } : {}),
    },
    {
      onChunk: () => {},
      onSealedChunk: (chunk) => emit({ type: 'chunk', ...chunk }),
      onDone: ({ usage }) => emit({ type: 'usage', usage }, true),
      onError: (error) => emit({ type: 'error', error: { code: error.code, message: error.message, retryable: SEALED_RETRYABLE_CODES.has(error.code) } }, true),
    },
  );
  res.on('close', () => {
    if (!ended) handle.cancel('client disconnected');
  });
}

/** `POST /v1/sealed/jobs/{jobId}/receipt`: the client's signed count of what it received. */
export async function handleUsageReceipt(req: IncomingMessage, res: ServerResponse, jobId: string, coordinatorId: string, receipts: ReceiptWaits): Promise<void> {
  const body = await readJsonBody(req);
  if (!body.ok) return sendError(res, body.status, body.message);
  const parsed = usageReceiptBodySchema.safeParse(body.value);
  if (!parsed.success) return sendError(res, 400, `Malformed usage receipt: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim(), 'invalid_request');
  const waiting = receipts.peek(jobId);
  if (!waiting) return sendError(res, 404, `No sealed job ${jobId} is waiting for a receipt (unknown, already settled, or past the ${RECEIPT_WAIT_MS / 1000} s window).`, 'unknown_job');
  const { promptTokens, completionTokens, signature } = parsed.data;
  if (!verifyUsageReceipt({ coordinatorId, jobId, model: waiting.model, promptTokens, completionTokens }, signature, waiting.key)) {
    return sendError(res, 400, 'The usage receipt is not signed by the receipt key this job was posted with.', 'invalid_request', 'signature');
  }
  receipts.take(jobId)?.settle({ promptTokens, completionTokens });
  sendJson(res, 200, { accepted: true, jobId });
}

/** `GET /v1/admin/receipt-pauses`: the clients whose usage receipts are paused, oldest first (operator only). */
export async function handleReceiptPauses(res: ServerResponse, store: CoordinatorStore): Promise<void> {
  const pauses = await callStore(store, (s) => s.receiptPauses());
  sendJson(res, 200, { object: 'list', data: pauses.map((p) => ({ client: p.clientId, paused_at: new Date(p.pausedAt).toISOString(), disputed: p.disputed, workers: p.workers })) });
}

/** `DELETE /v1/admin/receipt-pauses/{clientId}`: lets a client's receipts count again, judged afresh from now (operator only). */
export async function handleResumeReceipts(res: ServerResponse, store: CoordinatorStore, encodedClientId: string): Promise<void> {
  const clientId = decodePathPart(encodedClientId);
  if (clientId === undefined || clientId === '' || clientId.length > 128) return sendError(res, 400, 'Name the client id to resume, as /v1/admin/receipt-pauses lists it.', 'invalid_request');
  const resumed = await callStore(store, (s) => s.resumeReceipts(clientId, Date.now()));
  if (!resumed) return sendError(res, 404, `The usage receipts of client ${clientId} are not paused.`, 'unknown_client');
  sendJson(res, 200, { resumed: true, client: clientId });
}

/** The job id of a receipt route (`/v1/sealed/jobs/{jobId}/receipt`), or undefined. */
export function receiptJobId(path: string): string | undefined {
  const prefix = `${ROUTES.sealedJobs}/`;
  if (!path.startsWith(prefix) || !path.endsWith(ROUTES.sealedReceiptSuffix)) return undefined;
  const id = decodePathPart(path.slice(prefix.length, -ROUTES.sealedReceiptSuffix.length));
  return id !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? id : undefined;
}
