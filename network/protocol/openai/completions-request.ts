/**
 * `POST /v1/completions`, OpenAI's legacy text completion, on the same engine path as chat: the
 * prompt goes to the model as one user message through its chat template (workers serve chat
 * models, and metering, spot checks and sealing all speak chat). Options that only make sense
 * for raw text (echo, suffix, best_of > 1, logprobs) are refused by name.
 */
import { z } from 'zod';
import { MAX_COMPLETION_TOKENS, describeIssues } from '../chat.js';
import { samplingFields, samplingParams, stopField, stringOrArray, unsupported, type Parsed } from './common.js';

/** OpenAI's default max_tokens for this endpoint (chat's is the model's room). */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

/** The body of `POST /v1/completions`, as far as Silkworm supports it. */
export const completionRequestSchema = z.strictObject({
  model: z.string().min(1).max(128),
  prompt: stringOrArray(z.array(z.string().max(1_000_000)).length(1, 'prompt must be one string: batches of prompts are not supported'), 'prompt must be a string (token arrays are not supported)'),
  max_tokens: z.number().int().min(1).max(MAX_COMPLETION_TOKENS).nullish(),
  ...samplingFields,
  seed: z.number().int().nullish(),
  stop: stopField,
  n: z.literal(1, 'only n=1 is supported').nullish(),
  best_of: z.literal(1, 'only best_of=1 is supported').nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullish(),
  user: z.string().max(256).nullish(),
  echo: unsupported('echo is not supported: the prompt is read through the model’s chat template'),
  suffix: unsupported('suffix (insertion) is not supported'),
  logprobs: unsupported('logprobs are not supported: the engine (node-llama-cpp) does not report token probabilities while it generates'),
  logit_bias: unsupported('logit_bias is not supported: token ids differ between the models workers serve'),
});
export type CompletionRequest = z.infer<typeof completionRequestSchema>;

/** Validates a completion request and turns it into the generation it asks for. */
export function parseCompletionRequest(body: unknown): Parsed<CompletionRequest> {
  const parsed = completionRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problem: describeIssues(parsed.error.issues) };
  const request = parsed.data;
  const prompt = typeof request.prompt === 'string' ? request.prompt : (request.prompt[0] ?? '');
  return {
    ok: true,
    request,
    generation: {
      model: request.model,
      messages: [{ role: 'user', content: prompt }],
      params: samplingParams(request),
      maxTokens: request.max_tokens ?? COMPLETIONS_DEFAULT_MAX_TOKENS,
      stream: request.stream === true,
      includeUsage: request.stream_options?.include_usage === true,
    },
  };
}
