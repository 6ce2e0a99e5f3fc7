/**
 * Sealed mode's generation backend for the OpenAI-compatible endpoints: each request is sealed
 * to a verified worker by the SDK (sdk.ts), after the gateway counted its prompt with the
 * model's tokenizer (vocab-meter.ts), so an over-long request is a 400 before any work, as in
 * transport mode.
 */
import { TIER_RANK, meetsTier } from '../protocol/descriptor.js';
import type { Tier } from '../protocol/job-schemas.js';
import { HEADERS } from '../protocol/http-contract.js';
import type { ApiError, GenerationBackend, ModelEntry } from '../node-kit/openai/backend.js';
import { SealedJobError, type SealedChatEvent, type SilkwormClient } from './sdk.js';
import type { VocabMeters } from './vocab-meter.js';

/** A failure as the API answers it. */
function apiError(error: unknown): ApiError {
  const failure = error instanceof SealedJobError ? error : new SealedJobError(500, 'internal', error instanceof Error ? error.message : String(error));
  return { status: failure.status, code: failure.code, message: failure.message, param: failure.param };
}

/** Models the verified workers serve, at this client's tier or above. */
async function models(client: SilkwormClient): Promise<ModelEntry[] | ApiError> {
  let listing;
  try {
    listing = await client.listWorkers();
  } catch (error) {
    return apiError(error);
  }
  const found = new Map<string, ModelEntry>();
  for (const worker of listing.workers.filter((w) => meetsTier(w.tier, client.minTier))) {
    for (const model of worker.models) {
      const entry = found.get(model.id) ?? { id: model.id, contextLength: 0, workers: 0, tiers: [] as Tier[] };
      entry.contextLength = Math.max(entry.contextLength, model.contextSize);
      entry.workers += 1;
      if (!entry.tiers.includes(worker.tier)) entry.tiers.push(worker.tier);
      found.set(model.id, entry);
    }
  }
  return [...found.values()].map((m) => ({ ...m, tiers: m.tiers.sort((a, b) => TIER_RANK[a] - TIER_RANK[b]) }));
}

/** The gateway's backend; `fields` collects what the request log line says (ids and tiers are not secret). */
export function sealedBackend(client: SilkwormClient, meters: VocabMeters, fields: Record<string, unknown>): GenerationBackend {
  return {
    confidentiality: 'sealed',
    createdAt: Math.floor(Date.now() / 1000),
    models: () => models(client),
    async start(_req, request, sink) {
      fields.model = request.model;
      fields.stream = request.stream;
      const meter = await meters.meter(request.model);
      let promptTokens: number | undefined;
      try {
        promptTokens = meter?.countPrompt(request.messages, request.params);
      } catch (error) {
        return { status: 400, code: 'invalid_request', message: error instanceof Error ? error.message : String(error), param: 'messages' };
      }
      const abort = new AbortController();
      let reasoning = '';
      const events = client.chat({
        model: request.model,
        messages: request.messages,
        params: request.params,
        ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
        ...(promptTokens !== undefined ? { promptTokens } : {}),
        signal: abort.signal,
      });
      const deliver = (event: SealedChatEvent) => {
        if (event.type === 'worker') {
          Object.assign(fields, { workerId: event.worker.workerId, tier: event.worker.tier, jobId: event.jobId, attempt: event.attempt });
          sink.onHeaders({ [HEADERS.workerTier]: event.worker.tier, [HEADERS.workerId]: event.worker.workerId });
        } else if (event.type === 'reasoning') {
          reasoning += event.text;
          sink.onReasoning(event.text);
        } else if (event.type === 'text') sink.onText(event.text);
        else if (event.type === 'tool_calls') sink.onToolCalls(event.deltas);
        else {
          if (event.usage) Object.assign(fields, { promptTokens: event.usage.promptTokens, completionTokens: event.usage.completionTokens });
          // The gateway counts the thoughts it opened itself: the coordinator never saw them.
          const usage = event.usage && meter && reasoning ? { ...event.usage, reasoningTokens: Math.min(meter.countText(reasoning), event.usage.completionTokens) } : event.usage;
          sink.onDone({ finishReason: event.finishReason, usage });
        }
      };
      void (async () => {
        try {
          for await (const event of events) deliver(event);
        } catch (error) {
          if (!abort.signal.aborted) sink.onError(apiError(error));
        }
      })();
      return { cancel: () => abort.abort() };
    },
  };
}
