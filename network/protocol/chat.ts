/**
 * The OpenAI-compatible chat completion request that clients send, validated strictly:
 * an unknown or unsupported field is a 400 with a message naming it, never silently ignored.
 */
import { z } from 'zod';

/** Largest max_tokens any request may ask for; a model's context size may lower it. */
export const MAX_COMPLETION_TOKENS = 32_768;

/** The most tokens generated when a request names no max_tokens. */
export const DEFAULT_MAX_TOKENS = 512;

/** A chat message reduced to what workers need: a role and plain text. */
export const chatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(1_000_000),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });

const requestMessage = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(textPart).min(1)]),
  name: z.string().max(64).optional(),
});

/** The body of `POST /v1/chat/completions`, as far as Silkworm supports it. */
export const chatCompletionRequestSchema = z.strictObject({
  model: z.string().min(1).max(128),
  messages: z.array(requestMessage).min(1, 'messages must not be empty').max(1024),
  stream: z.boolean().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().min(1).max(MAX_COMPLETION_TOKENS).nullish(),
  max_completion_tokens: z.number().int().min(1).max(MAX_COMPLETION_TOKENS).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
  n: z.literal(1, 'only n=1 is supported').nullish(),
  user: z.string().max(256).optional(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** Flattens OpenAI message content (string or text parts) to plain messages for workers. */
export function toChatMessages(request: ChatCompletionRequest): ChatMessage[] {
  return request.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
}

/** Sampling settings of a request, as workers take them (OpenAI's defaults filled in). */
export interface SamplingParams {
  temperature: number;
  topP?: number;
  seed?: number;
  stop?: string[];
}

/** The sampling settings of a request: temperature 1 by default, `stop` always a list. */
export function samplingParams(request: ChatCompletionRequest): SamplingParams {
  const stop = typeof request.stop === 'string' ? [request.stop] : (request.stop ?? undefined);
  return {
    temperature: request.temperature ?? 1,
    ...(request.top_p != null ? { topP: request.top_p } : {}),
    ...(request.seed != null ? { seed: request.seed } : {}),
    ...(stop ? { stop } : {}),
  };
}

/** The error body OpenAI's API returns, which the openai SDK turns into a typed error. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Builds an OpenAI-shaped error body. */
export function openAiError(message: string, type: string, code: string | null = null, param: string | null = null): OpenAiErrorBody {
  return { error: { message, type, param, code } };
}

/** Turns zod issues into one readable sentence and the offending parameter, as OpenAI does. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): { message: string; param: string | null } {
  const first = issues[0];
  if (!first) return { message: 'Invalid request.', param: null };
  const path = first.path.map(String).join('.');
  if (first.code === 'unrecognized_keys') {
    const where = path ? ` in '${path}'` : '';
    return { message: `Unrecognized request argument supplied${where}: ${first.keys.join(', ')}`, param: first.keys[0] ?? null };
  }
  return { message: path ? `Invalid '${path}': ${first.message}` : first.message, param: path || null };
}
