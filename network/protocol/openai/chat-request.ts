/**
 * `POST /v1/chat/completions`, validated strictly: an unknown field is a 400 naming it, and a
 * known one Silkworm cannot honour (images, audio, logprobs…) is a 400 saying so. What clients
 * echo back from an answer — the assistant message with `refusal: null`, `annotations`,
 * `audio: null`, `function_call: null`, `tool_calls` — is accepted.
 */
import { z } from 'zod';
import { MAX_COMPLETION_TOKENS, checkToolTurns, type ChatMessage } from '../chat.js';
import { toolName, type JobParams } from '../job-schemas.js';
import { clientSchema, outputParams, samplingFields, samplingParams, stopField, unsupported, type Parsed } from './common.js';
import { describeIssues } from '../chat.js';
import { textContent } from './content.js';

const TEXT_ONLY = 'Silkworm serves text-only models';

const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const chatContent = textContent({
  text: { text: textPart },
  refused: { image_url: `image content parts are not supported: ${TEXT_ONLY}`, input_audio: `audio content parts are not supported: ${TEXT_ONLY}`, file: `file content parts are not supported: ${TEXT_ONLY}` },
});
const assistantContent = textContent({
  text: { text: textPart },
  // A refusal part carries no text the model said: nothing to send back to it.
  skipped: { refusal: z.strictObject({ type: z.literal('refusal'), refusal: z.string() }) },
});

const toolCall = z.strictObject({
  id: z.string().min(1).max(128),
  type: z.literal('function'),
  function: z.strictObject({ name: toolName, arguments: z.string() }),
  /** Streamed answers number their calls; some clients echo the number back. */
  index: z.number().int().nonnegative().optional(),
});

const name = z.string().max(256).optional();
const message = z.discriminatedUnion('role', [
  z.strictObject({ role: z.enum(['system', 'developer']), content: chatContent, name }),
  z.strictObject({ role: z.literal('user'), content: chatContent, name }),
  z.strictObject({
    role: z.literal('assistant'),
    content: assistantContent.nullish(),
    name,
    tool_calls: z.array(toolCall).max(64).nullish(),
    // Echoed back from answers: accepted, and they carry nothing the model needs.
    refusal: z.string().nullish(),
    annotations: z.array(z.unknown()).nullish(),
    audio: unsupported(`assistant audio is not supported: ${TEXT_ONLY}`),
    function_call: unsupported("'function_call' (deprecated) is not supported; use 'tool_calls'"),
    reasoning_content: z.string().nullish(),
  }),
  z.strictObject({ role: z.literal('tool'), content: chatContent, tool_call_id: z.string().min(1).max(128) }),
  z.strictObject({ role: z.literal('function'), content: z.unknown(), name }).refine(() => false, "the 'function' role (deprecated) is not supported; use 'tool' messages"),
]);

/** One of a chat request's `tools`. */
export const chatTool = z.strictObject({
  type: z.literal('function'),
  function: z.strictObject({ name: toolName, description: z.string().max(8192).optional(), parameters: clientSchema('the tool parameters').optional(), strict: z.boolean().nullish() }),
});

/** OpenAI's `response_format` of a chat request. */
export const chatResponseFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({ name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), description: z.string().optional(), schema: clientSchema('response_format.json_schema.schema').optional(), strict: z.boolean().nullish() }),
  }),
]);

/** The job's JSON output for a chat request's `response_format` (a json_schema without a schema is any JSON object). */
export function jobResponseFormat(format: z.infer<typeof chatResponseFormat> | null | undefined): JobParams['responseFormat'] {
  if (format?.type === 'json_object') return { type: 'json_object' };
  if (format?.type === 'json_schema') return format.json_schema.schema ? { type: 'json_schema', schema: format.json_schema.schema } : { type: 'json_object' };
  return undefined;
}

/** A chat request's tool, as the job's. */
export function jobTool(tool: z.infer<typeof chatTool>): NonNullable<JobParams['tools']>[number] {
  return { name: tool.function.name, ...(tool.function.description ? { description: tool.function.description } : {}), ...(tool.function.parameters ? { parameters: tool.function.parameters } : {}) };
}

/** The body of `POST /v1/chat/completions`, as far as Silkworm supports it. */
export const chatCompletionRequestSchema = z.strictObject({
  model: z.string().min(1).max(128),
  messages: z.array(message).min(1, 'messages must not be empty').max(1024),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional(), include_obfuscation: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().min(1).max(MAX_COMPLETION_TOKENS).nullish(),
  max_completion_tokens: z.number().int().min(1).max(MAX_COMPLETION_TOKENS).nullish(),
  ...samplingFields,
  seed: z.number().int().nullish(),
  stop: stopField,
  n: z.literal(1, 'only n=1 is supported').nullish(),
  user: z.string().max(256).optional(),
  tools: z.array(chatTool).min(1, 'tools must not be an empty array').max(64).nullish(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: toolName }) })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: chatResponseFormat.nullish(),
  logprobs: unsupported('logprobs are not supported: the engine (node-llama-cpp) does not report token probabilities while it generates'),
  top_logprobs: unsupported('top_logprobs are not supported: the engine (node-llama-cpp) does not report token probabilities while it generates'),
  logit_bias: unsupported('logit_bias is not supported: token ids differ between the models workers serve'),
  // Accepted and ignored: they change nothing about the answer.
  store: z.boolean().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  service_tier: z.string().max(32).nullish(),
  prompt_cache_key: z.string().max(256).nullish(),
  safety_identifier: z.string().max(256).nullish(),
  modalities: z.array(z.literal('text', 'only the text modality is supported')).nullish(),
  reasoning_effort: unsupported('reasoning_effort is not supported: Silkworm models do not reason in hidden tokens'),
  verbosity: unsupported('verbosity is not supported'),
  audio: unsupported(`audio output is not supported: ${TEXT_ONLY}`),
  prediction: unsupported('predicted outputs are not supported'),
  web_search_options: unsupported('web search is not supported'),
  functions: unsupported("'functions' (deprecated) is not supported; use 'tools'"),
  function_call: unsupported("'function_call' (deprecated) is not supported; use 'tool_choice'"),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/** Validates a chat completion request and turns it into the generation it asks for. */
export function parseChatCompletionRequest(body: unknown): Parsed<ChatCompletionRequest> {
  const parsed = chatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problem: describeIssues(parsed.error.issues) };
  const request = parsed.data;
  const messages: ChatMessage[] = request.messages.map((m): ChatMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: m.content };
      case 'user':
        return { role: 'user', content: m.content };
      case 'tool':
        return { role: 'tool', toolCallId: m.tool_call_id, content: m.content };
      case 'assistant': {
        const calls = m.tool_calls?.map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
        return { role: 'assistant', content: m.content ?? '', ...(calls?.length ? { toolCalls: calls } : {}) };
      }
      default:
        throw new Error('unreachable: the function role is refused by the schema');
    }
  });
  const turns = checkToolTurns(messages);
  if (turns) return { ok: false, problem: { message: `Invalid 'messages[${turns.index}]': ${turns.message}`, param: `messages[${turns.index}]` } };
  const format = request.response_format;
  const output = outputParams({
    tools: request.tools?.map(jobTool),
    toolChoice: typeof request.tool_choice === 'object' && request.tool_choice ? { name: request.tool_choice.function.name } : (request.tool_choice ?? undefined),
    parallelToolCalls: request.parallel_tool_calls,
    responseFormat: jobResponseFormat(format),
  });
  if (!output.ok) return output;
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  return {
    ok: true,
    request,
    generation: {
      model: request.model,
      messages,
      params: { ...samplingParams(request), ...output.params },
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      stream: request.stream === true,
      includeUsage: request.stream_options?.include_usage === true,
    },
  };
}
