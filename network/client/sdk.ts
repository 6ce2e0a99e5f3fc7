/**
 * The Silkworm client SDK for sealed mode: fetches and verifies signed worker descriptors, seals
 * a chat job to one worker's job-process key, posts it to the coordinator, and opens the sealed
 * answer as it streams. Only ciphertext and routing fields leave this process.
 * Wire shapes: network/protocol/sealed.ts, sealed-stream.ts, sealed-http.ts, descriptor.ts.
 */
import { contextLengthMessage, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_MAX_TOKENS, type ChatMessage } from '../protocol/chat.js';
import { decodeAnswerPart, mergeParts } from '../protocol/answer-parts.js';
import { continuationFields, continuationOf, isConstrained, type Continuation, type JobParams, type ToolCallDelta } from '../protocol/job-schemas.js';
import { meetsTier, TIER_RANK, verifyDescriptor, type WorkerDescriptor } from '../protocol/descriptor.js';
import { newJobId, sealRequest, SealRequestError, type SealedJobBody } from '../protocol/sealed.js';
import { sealedJobEventSchema, workerListSchema } from '../protocol/sealed-http.js';
import type { FinishReason, Tier, Usage } from '../protocol/worker-frames.js';
import { HEADERS, ROUTES, SEALED_RETRYABLE_CODES, httpStatusForCode, sealedReceiptPath } from '../protocol/http-contract.js';
import { signUsageReceipt } from '../protocol/usage-receipt.js';
import { toBase64Url } from '../protocol/encoding.js';
import { utf8Length } from '../protocol/frame-codec.js';
import type { IdentityKeyPair } from '../protocol/descriptor.js';
import { readSseData } from './sse.js';
import { BodyTooLargeError, readJsonBounded } from '../node-kit/response-body.js';

/** Counts tokens with a model's own tokenizer (vocab-meter.ts), for usage receipts and sizing. */
export interface UsageMeter {
  /** The prompt as the worker's engine evaluates it: template and offered tools included, and a retry's continuation. */
  countPrompt(messages: readonly ChatMessage[], params?: Pick<JobParams, 'tools' | 'toolChoice'>, continuation?: Continuation): number;
  countText(text: string): number;
  /** Tool calls as streamed, each assembled: its name's tokens plus its arguments'. */
  countToolCalls(calls: readonly ToolCallDelta[]): number;
}

/** Settings of a {@link SilkwormClient}. */
export interface SilkwormClientOptions {
  /** Base URL of the coordinator, e.g. http://127.0.0.1:8787 */
  coordinatorUrl: string;
  /** The coordinator API key, sent as `Authorization: Bearer KEY`. */
  apiKey?: string;
  /** Lowest worker tier to seal to (default 'sandboxed'). */
  minTier?: Tier;
  /** When given, only workers with these identity keys (base64url Ed25519) are used. */
  trustedIdentityKeys?: readonly string[];
  /** Workers tried per request before giving up (default 3). */
  maxAttempts?: number;
  /** How long a verified worker list is reused (default 10 s). */
  descriptorCacheMs?: number;
  /** Longest a request may take, all attempts included (default 120 s). */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Chooses among eligible workers (default: pickByWeight, at random by the coordinator's routing advice). */
  pickWorker?: (candidates: readonly WorkerDescriptor[]) => WorkerDescriptor;
  /**
   * Signed usage receipts: after each sealed attempt that delivered text, the SDK counts what it
   * received with the model's tokenizer and signs it with `key`; the coordinator bills no more.
   * A coordinator may pause an account's receipts (403 `receipts_paused`: they fell short of what
   * several workers reported too often). With `whenPaused: 'without'` the SDK then posts the same
   * job without a receipt key (billed on the coordinator's own bounds, which cost more), and does
   * so for RECEIPTS_PAUSED_RECHECK_MS before it offers receipts again; `onPaused` hears each pause
   * found. By default the job fails with that error.
   */
  receipts?: { key: IdentityKeyPair; meter: (model: string) => Promise<UsageMeter | undefined>; whenPaused?: 'fail' | 'without'; onPaused?: (error: SealedJobError) => void };
}

/** Verified workers the coordinator lists, and the descriptors that failed verification. */
export interface VerifiedWorkers {
  coordinatorId: string;
  workers: WorkerDescriptor[];
  rejected: { code: string; message: string }[];
  /** The coordinator's routing advice by worker id (relative weights), when it gives any. */
  weights?: ReadonlyMap<string, number>;
}

/**
 * The default choice among eligible workers: at random, in proportion to the coordinator's
 * routing advice (its measured speed and reputation of each), uniformly where it gives none.
 * A worker the advice leaves out weighs as the lightest one listed.
 */
export function pickByWeight(candidates: readonly WorkerDescriptor[], weights: ReadonlyMap<string, number> | undefined, random: () => number = Math.random): WorkerDescriptor {
  if (!weights || weights.size === 0) return candidates[Math.floor(random() * candidates.length)]!;
  const floor = Math.min(...candidates.map((w) => weights.get(w.workerId) ?? Infinity));
  const weightOf = (w: WorkerDescriptor) => weights.get(w.workerId) ?? (Number.isFinite(floor) ? floor : 1);
  const total = candidates.reduce((sum, w) => sum + weightOf(w), 0);
  let left = random() * total;
  for (const w of candidates) {
    left -= weightOf(w);
    if (left < 0) return w;
  }
  return candidates[candidates.length - 1]!;
}

/** One sealed chat job as the SDK runs it. */
export interface SealedChatRequest {
  model: string;
  messages: ChatMessage[];
  params: SealedJobBody['params'];
  /** Default: min(512, the room the worker's context leaves after the prompt). */
  maxTokens?: number;
  /**
   * The prompt's tokens, counted with the model's tokenizer (tools included), when the caller
   * could count them: then prompt + max tokens must fit a worker's context, checked before any
   * work, as OpenAI does (400 context_length_exceeded), and the envelope declares the count, so
   * the worker is paid for all of it. Without it the prompt is billed at most one token per byte
   * of the sealed body (plus a small template allowance), and a worker refuses a prompt its
   * template makes longer than that (offered tools, mostly) as a 400.
   */
  promptTokens?: number;
  signal?: AbortSignal;
}

/** What {@link SilkwormClient.chat} yields: the serving worker, a thinking model's thoughts and the text as they open, then the end. */
export type SealedChatEvent =
  | { type: 'worker'; worker: WorkerDescriptor; jobId: string; attempt: number }
  | { type: 'reasoning'; text: string }
  | { type: 'text'; text: string }
  | { type: 'tool_calls'; deltas: ToolCallDelta[] }
  | { type: 'done'; finishReason: FinishReason; usage?: Usage };

/** A sealed job that failed; `status` and `code` follow the OpenAI error conventions. */
export class SealedJobError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly retryable = false, readonly param: string | null = null) {
    super(message);
    this.name = 'SealedJobError';
  }
}


/** Largest worker list read (10,000 signed descriptors take about 15 MB), and largest error body. */
export const MAX_WORKER_LIST_BYTES = 32 * 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;

/** How long a client whose receipts were paused posts jobs without them before it offers them again. */
export const RECEIPTS_PAUSED_RECHECK_MS = 10 * 60_000;

/** A client of one coordinator's sealed API. */
export class SilkwormClient {
  /** When the coordinator last said this account's receipts are paused (whenPaused: 'without'). */
  private receiptsPausedAt: number | undefined;
  private readonly base: string;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly cache = new Map<string, { at: number; value: VerifiedWorkers }>();
  private readonly verifiedSignatures = new Map<string, string>();

  constructor(private readonly options: SilkwormClientOptions) {
    this.base = options.coordinatorUrl.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
  }

  /** The lowest tier this client seals to. */
  get minTier(): Tier {
    return this.options.minTier ?? 'sandboxed';
  }

  /** Fetches `GET /v1/workers` and verifies every descriptor (cached briefly). */
  async listWorkers(model?: string, options: { refresh?: boolean; signal?: AbortSignal } = {}): Promise<VerifiedWorkers> {
    const key = model ?? '';
    const cached = this.cache.get(key);
    if (!options.refresh && cached && this.now() - cached.at < (this.options.descriptorCacheMs ?? 10_000)) return cached.value;
    const query = new URLSearchParams({ tier: this.minTier, ...(model ? { model } : {}) });
    const res = await this.request(`${ROUTES.workers}?${query}`, { method: 'GET', ...(options.signal ? { signal: options.signal } : {}) });
    if (!res.ok) throw await errorFromResponse(res);
    const body = await readJsonBounded(res, MAX_WORKER_LIST_BYTES).catch((error: unknown) => error);
    if (body instanceof BodyTooLargeError) throw new SealedJobError(502, 'bad_coordinator_response', `The coordinator's worker list is larger than ${MAX_WORKER_LIST_BYTES / (1024 * 1024)} MB; it was not read.`);
    const list = workerListSchema.safeParse(body instanceof Error ? undefined : body);
    if (!list.success) throw new SealedJobError(502, 'bad_coordinator_response', 'The coordinator returned a malformed worker list.');
    const value: VerifiedWorkers = { coordinatorId: list.data.coordinatorId, workers: [], rejected: [], ...(list.data.weights ? { weights: new Map(Object.entries(list.data.weights)) } : {}) };
    if (this.verifiedSignatures.size > 10_000) this.verifiedSignatures.clear();
    for (const item of list.data.data) {
      const check = verifyDescriptor(item, { now: this.now(), verifiedSignatures: this.verifiedSignatures, ...(this.options.trustedIdentityKeys ? { trustedIdentityKeys: this.options.trustedIdentityKeys } : {}) });
      if (check.ok) value.workers.push(check.value);
      else value.rejected.push(check.error);
    }
    this.cache.set(key, { at: this.now(), value });
    return value;
  }

  /**
   * Runs one sealed chat job. When a worker is lost or refuses before finishing, the job is
   * sealed again to another worker with what was received so far (a thinking model's thought as
   * `continuationReasoning`, text as `continuation`), within what is left of max_tokens, so the
   * caller's stream continues. Tampering is never retried: it ends the job with an error.
   */
  async *chat(input: SealedChatRequest): AsyncGenerator<SealedChatEvent> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.options.requestTimeoutMs ?? 120_000), ...(input.signal ? [input.signal] : [])]);
    const tried = new Set<string>();
    let requiredTier = this.minTier;
    const received: Continuation = { text: '', reasoning: '' };
    // Non-empty pieces received: each took at least one token, a floor on what was used without a tokenizer.
    let pieces = 0;
    // Tokens earlier attempts delivered: taken off the next one's max_tokens, as the coordinator does for jobs in clear.
    let used = 0;
    let calledTools = false;
    // What earlier attempts delivered, as this client counted and signed it (each was billed no more).
    const earlier: Usage = { promptTokens: 0, completionTokens: 0 };
    let lastError: SealedJobError | undefined;
    const maxAttempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const { coordinatorId, worker } = await this.choose(input, requiredTier, tried, lastError, signal);
      tried.add(worker.workerId);
      try {
        for await (const event of this.attempt(input, coordinatorId, worker, received, used, attempt, earlier, signal)) {
          if (event.type === 'worker' && TIER_RANK[worker.tier] > TIER_RANK[requiredTier]) requiredTier = worker.tier;
          if (event.type === 'text') received.text += event.text;
          if (event.type === 'reasoning') received.reasoning += event.text;
          if ((event.type === 'text' || event.type === 'reasoning') && event.text !== '') pieces++;
          if (event.type === 'tool_calls') calledTools = true;
          yield event;
        }
        return;
      } catch (error) {
        if (!(error instanceof SealedJobError) || !error.retryable || attempt === maxAttempts || signal.aborted) throw error;
        // A tool call or a JSON grammar cannot be resumed halfway by another worker.
        if (calledTools || (received.text !== '' && isConstrained(input.params))) throw error;
        used = await this.delivered(input.model, received, pieces);
        if (input.maxTokens !== undefined && used >= input.maxTokens) throw error;
        if (error.code === 'stale_worker_key') {
          // The worker restarted its job process: same worker, new key, once the list is fresh.
          this.cache.clear();
          tried.delete(worker.workerId);
        }
        lastError = error;
      }
    }
  }

  private async choose(input: SealedChatRequest, tier: Tier, tried: Set<string>, lastError: SealedJobError | undefined, signal: AbortSignal) {
    const listing = await this.listWorkers(input.model, { refresh: lastError?.code === 'stale_worker_key', signal });
    const serving = listing.workers.filter((w) => w.models.some((m) => m.id === input.model));
    if (serving.length === 0) {
      const why = listing.rejected.length ? ` (${listing.rejected.length} descriptor(s) failed verification: ${listing.rejected[0]!.message})` : '';
      throw new SealedJobError(404, 'model_not_found', `The model '${input.model}' does not exist or no verified worker serving it is connected${why}.`, false, 'model');
    }
    const eligible = serving.filter((w) => meetsTier(w.tier, tier));
    if (eligible.length === 0) {
      throw new SealedJobError(503, 'no_capacity', `No worker serving '${input.model}' offers tier '${tier}' or higher (found: ${[...new Set(serving.map((w) => w.tier))].join(', ')}).`);
    }
    const fits = eligible.filter((w) => neededContext(input) <= contextSizeOf(w, input.model));
    if (fits.length === 0) {
      const largest = Math.max(...eligible.map((w) => contextSizeOf(w, input.model)));
      if (input.promptTokens !== undefined) {
        const maxTokens = input.maxTokens ?? 1;
        throw new SealedJobError(400, 'context_length_exceeded', contextLengthMessage(largest, input.promptTokens, maxTokens), false, 'messages');
      }
      throw new SealedJobError(400, 'invalid_request', `max_tokens is too large: ${input.maxTokens}. '${input.model}' has a context of at most ${largest} tokens, prompt included.`, false, 'max_tokens');
    }
    const fresh = fits.filter((w) => !tried.has(w.workerId));
    if (fresh.length === 0) throw lastError ?? new SealedJobError(503, 'no_capacity', `No other worker can take this '${input.model}' job.`);
    const worker = this.options.pickWorker ? this.options.pickWorker(fresh) : pickByWeight(fresh, listing.weights);
    return { coordinatorId: listing.coordinatorId, worker };
  }

  /** Completion tokens of what was received: counted with the model's tokenizer where there is one, else the floor of one per piece. */
  private async delivered(model: string, received: Continuation, pieces: number): Promise<number> {
    const meter = await this.options.receipts?.meter(model).catch(() => undefined);
    return meter ? meter.countText(received.text) + meter.countText(received.reasoning) : pieces;
  }

  private async *attempt(input: SealedChatRequest, coordinatorId: string, worker: WorkerDescriptor, received: Continuation, used: number, attempt: number, earlier: Usage, signal: AbortSignal): AsyncGenerator<SealedChatEvent> {
    const jobId = newJobId();
    // A retry is a job of its own: its worker evaluates what earlier ones streamed as part of its
    // prompt, so that prompt is declared and receipted whole (the worker is paid for evaluating it).
    const continued = continuationOf({ continuation: received.text, continuationReasoning: received.reasoning });
    const meter = continued ? await this.options.receipts?.meter(input.model).catch(() => undefined) : undefined;
    const promptTokens = continued && meter ? meter.countPrompt(input.messages, input.params, continued) : input.promptTokens;
    const contextSize = contextSizeOf(worker, input.model);
    // What is left of max_tokens, and no more than the context leaves after the prompt: a retry's
    // prompt also holds what the template wraps the continuation in, which `used` does not count.
    const left = (input.maxTokens ?? Math.min(DEFAULT_MAX_TOKENS, contextSize - (input.promptTokens ?? 1))) - used;
    const maxTokens = Math.max(1, promptTokens === undefined ? left : Math.min(left, contextSize - promptTokens));
    let sealed;
    try {
      sealed = await sealRequest({
        recipientPublicKey: worker.hpke.publicKey,
        jobId,
        model: input.model,
        coordinatorId,
        workerId: worker.workerId,
        maxTokens,
        // Declared so that the coordinator's bound covers what the template adds (tools are
        // documented in the prompt at length); a worker refuses a prompt above the bound.
        ...(promptTokens !== undefined ? { promptTokens } : {}),
        body: { messages: input.messages, params: input.params, ...continuationFields(continued) },
        now: this.now(),
      });
    } catch (error) {
      if (error instanceof SealRequestError) throw new SealedJobError(error.code === 'too_large' ? 413 : 400, error.code === 'too_large' ? 'request_too_large' : 'invalid_request', error.message);
      throw error;
    }
    const { receipts } = this.options;
    const post = (withReceipt: boolean) =>
      this.request(ROUTES.sealedJobs, { method: 'POST', headers: { 'content-type': 'application/json', ...(withReceipt && receipts ? { [HEADERS.receiptKey]: toBase64Url(receipts.key.publicKey) } : {}) }, body: JSON.stringify(sealed.envelope), signal });
    const paused = this.receiptsPausedAt !== undefined && this.now() - this.receiptsPausedAt < RECEIPTS_PAUSED_RECHECK_MS;
    let withReceipt = receipts !== undefined && !paused;
    let res = await post(withReceipt);
    if (!res.ok) {
      const error = await errorFromResponse(res);
      if (error.code !== 'receipts_paused' || receipts?.whenPaused !== 'without') throw error;
      // Refused before anything was held: the same envelope (same job id) goes again, without a receipt key.
      this.receiptsPausedAt = this.now();
      receipts.onPaused?.(error);
      withReceipt = false;
      res = await post(false);
      if (!res.ok) throw await errorFromResponse(res);
    }
    if (!res.body || !/^text\/event-stream/.test(res.headers.get('content-type') ?? '')) {
      throw new SealedJobError(502, 'bad_coordinator_response', 'The coordinator did not answer the sealed job with an event stream.');
    }
    yield { type: 'worker', worker, jobId, attempt };
    // Asked for now, waited for only once the answer ends: the first tokens do not wait on a vocabulary download.
    const receiptMeter = withReceipt && receipts ? receipts.meter(input.model).catch(() => undefined) : Promise.resolve(undefined);
    const opened = { text: '', reasoning: '' };
    let calls: ToolCallDelta[] = [];
    // This attempt's count, as its receipt says it: prompt (continuation included) and what was opened.
    let count: Promise<Usage | undefined> | undefined;
    // Called once the stream has ended (done, or failed), so counted once.
    const counted = (): Promise<Usage | undefined> =>
      (count ??= receiptMeter.then((meter) => {
        if (!meter || (opened.text === '' && opened.reasoning === '' && calls.length === 0)) return undefined;
        return { promptTokens: meter.countPrompt(input.messages, input.params, continued), completionTokens: meter.countText(opened.text) + meter.countText(opened.reasoning) + meter.countToolCalls(calls) };
      }));
    let finished = false;
    try {
      for await (const event of this.openStream(res.body as unknown as AsyncIterable<Uint8Array>, sealed.responseOpener, signal, maxTokens)) {
        if (event.type === 'text') opened.text += event.text;
        if (event.type === 'reasoning') opened.reasoning += event.text;
        if (event.type === 'tool_calls') calls = mergeParts({ text: '', toolCalls: calls }, { text: '', toolCalls: event.deltas }).toolCalls ?? [];
        if (event.type === 'done') {
          finished = true;
          const usage = billedUsage(event.usage, await counted(), earlier);
          yield { type: 'done', finishReason: event.finishReason, ...(usage ? { usage } : {}) };
        } else yield event;
      }
    } finally {
      // What this attempt delivered is billed whatever ended it: say how much it was.
      const statement = await counted().catch(() => undefined);
      if (statement) {
        void this.sendReceipt(coordinatorId, jobId, input.model, statement);
        if (!finished) addUsage(earlier, statement);
      }
    }
  }

  /**
   * Opens the answer as it streams. The coordinator cuts a worker's answer at what `maxTokens`
   * can hold (max_tokens + 1 chunks, max_tokens × DEFAULT_MAX_TOKEN_BYTES bytes); a stream past
   * that is the coordinator's doing, and is cut here the same way.
   */
  private async *openStream(body: AsyncIterable<Uint8Array>, opener: Awaited<ReturnType<typeof sealRequest>>['responseOpener'], signal: AbortSignal, maxTokens: number): AsyncGenerator<SealedChatEvent> {
    let finishReason: FinishReason | undefined;
    let chunks = 0;
    let bytes = 0;
    try {
      for await (const data of guardStream(readSseData(body), signal)) {
        const event = sealedJobEventSchema.safeParse(safeJson(data));
        if (finishReason) {
          // The worker's final chunk opened: the answer is whole and authenticated. Only the
          // coordinator's usage may follow; an error or anything else after it (a worker lost
          // before its job.done, a coordinator's doing) must not turn a finished answer into a
          // failure, or get it sealed again to another worker and paid twice.
          yield { type: 'done', finishReason, ...(event.success && event.data.type === 'usage' ? { usage: event.data.usage } : {}) };
          return;
        }
        if (!event.success) throw new SealedJobError(502, 'bad_coordinator_response', 'The coordinator sent a malformed sealed-job event.');
        const value = event.data;
        if (value.type === 'error') {
          throw new SealedJobError(statusForCode(value.error.code), value.error.code, value.error.message, value.error.retryable);
        }
        if (value.type === 'usage') throw sealedFailure(opener.finish());
        const { type: _type, ...chunk } = value;
        const opened = await opener.open(chunk);
        if (!opened.ok) throw sealedFailure(opened);
        chunks += 1;
        bytes += utf8Length(opened.value.text);
        if (chunks > maxTokens + 1 || bytes > maxTokens * DEFAULT_MAX_TOKEN_BYTES) {
          throw new SealedJobError(502, 'bad_coordinator_response', `The coordinator streamed more than max_tokens (${maxTokens}) can hold; the answer was cut there.`);
        }
        const part = decodeAnswerPart(opened.value.text);
        if (!part) throw new SealedJobError(502, 'sealed_bad_body', 'A sealed answer chunk opened to something that is not an answer piece.');
        if (part.reasoning) yield { type: 'reasoning', text: part.reasoning };
        if (part.text) yield { type: 'text', text: part.text };
        if (part.toolCalls) yield { type: 'tool_calls', deltas: part.toolCalls };
        if (opened.value.final) finishReason = opened.value.finishReason;
      }
    } catch (error) {
      // The stream broke after the final chunk: the answer is whole all the same.
      if (!finishReason) throw error;
    }
    if (!finishReason) {
      const failure = sealedFailure(opener.finish());
      // A dropped connection before the final chunk: the job may go on elsewhere.
      throw new SealedJobError(failure.status, failure.code, failure.message, failure.code === 'sealed_truncated');
    }
    yield { type: 'done', finishReason };
  }

  /**
   * Posts the signed receipt of what an attempt delivered, counted with the model's tokenizer
   * (thoughts, text, calls; a retry's prompt holds what earlier workers streamed, which its worker
   * evaluated: see attempt).
   */
  private async sendReceipt(coordinatorId: string, jobId: string, model: string, usage: Usage): Promise<boolean> {
    const receipts = this.options.receipts;
    if (!receipts) return false;
    try {
      const statement = { coordinatorId, jobId, model, ...usage };
      const body = JSON.stringify({ promptTokens: statement.promptTokens, completionTokens: statement.completionTokens, signature: signUsageReceipt(statement, receipts.key.secretKey) });
      const res = await this.request(sealedReceiptPath(jobId), { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
      return res.ok;
    } catch {
      return false; // the coordinator settles on its own bounds without it
    }
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.options.apiKey) headers.set('authorization', `Bearer ${this.options.apiKey}`);
    try {
      return await this.fetch(`${this.base}${path}`, { ...init, headers });
    } catch (error) {
      if (init.signal?.aborted) throw new SealedJobError(504, 'timeout', 'The sealed request timed out or was cancelled.');
      throw new SealedJobError(502, 'coordinator_unreachable', `Could not reach the coordinator at ${this.base}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

// Turns transport failures mid-stream into typed errors: a timeout, or a lost connection that
// another worker may finish (with the text so far as continuation).
async function* guardStream(events: AsyncGenerator<string>, signal: AbortSignal): AsyncGenerator<string> {
  try {
    yield* events;
  } catch (error) {
    if (error instanceof SealedJobError) throw error;
    if (signal.aborted) throw new SealedJobError(504, 'timeout', 'The sealed request timed out or was cancelled.');
    throw new SealedJobError(502, 'coordinator_connection_lost', `The coordinator's stream broke: ${error instanceof Error ? error.message : String(error)}`, true);
  }
}

/**
 * The usage a finished request reports: with a receipt, this attempt is billed at most what the
 * client counted (`counted`), so the lower of that and the coordinator's figure; earlier
 * attempts of a retried request add what their receipts said. Without a receipt, the
 * coordinator's figure as it gave it.
 */
function billedUsage(reported: Usage | undefined, counted: Usage | undefined, earlier: Usage): Usage | undefined {
  const last = counted && reported ? { promptTokens: Math.min(counted.promptTokens, reported.promptTokens), completionTokens: Math.min(counted.completionTokens, reported.completionTokens) } : (counted ?? reported);
  if (!last) return undefined;
  return { promptTokens: last.promptTokens + earlier.promptTokens, completionTokens: last.completionTokens + earlier.completionTokens };
}

function addUsage(total: Usage, usage: Usage): void {
  total.promptTokens += usage.promptTokens;
  total.completionTokens += usage.completionTokens;
}

function contextSizeOf(worker: WorkerDescriptor, model: string): number {
  return worker.models.find((m) => m.id === model)?.contextSize ?? 0;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sealedFailure(result: { ok: boolean; error?: { code: string; message: string } }): SealedJobError {
  const error = result.error ?? { code: 'truncated', message: 'The sealed answer ended before its final chunk.' };
  return new SealedJobError(502, `sealed_${error.code}`, `Sealed answer refused (${error.code}): ${error.message}`);
}

function statusForCode(code: string): number {
  return httpStatusForCode(code);
}

/** The context a request needs on a worker: its prompt (when counted) and at least its max tokens. */
function neededContext(input: SealedChatRequest): number {
  if (input.promptTokens === undefined) return input.maxTokens === undefined ? 0 : input.maxTokens + 1;
  return input.promptTokens + (input.maxTokens ?? 1);
}

async function errorFromResponse(res: Response): Promise<SealedJobError> {
  const body = (await readJsonBounded(res, MAX_ERROR_BYTES).catch(() => undefined)) as { error?: { message?: unknown; code?: unknown; param?: unknown } } | undefined;
  const code = typeof body?.error?.code === 'string' ? body.error.code : `http_${res.status}`;
  const message = typeof body?.error?.message === 'string' ? body.error.message : `The coordinator answered ${res.status}.`;
  const param = typeof body?.error?.param === 'string' ? body.error.param : null;
  const retryable = SEALED_RETRYABLE_CODES.has(code) || res.status === 503;
  return new SealedJobError(res.status, code, message, retryable, param);
}
