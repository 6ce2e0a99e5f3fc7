/**
 * `POST /v1/responses` (OpenAI's Responses API, the Vercel AI SDK's default call) in the parts
 * Silkworm can honour: text input and output, instructions, function tools, JSON output
 * (`text.format`), streaming, usage; earlier answers referenced by id (`item_reference`,
 * `previous_response_id`) when they were stored. Anything else is a 400 naming it.
 */
import { z } from 'zod';
import { MAX_COMPLETION_TOKENS, checkToolTurns, describeIssues, formatPath, type ChatMessage } from '../chat.js';
import { toolName } from '../job-schemas.js';
import { asksNothing, clientSchema, outputParams, samplingParams, stringOrArray, unsupported, type Parsed, type RequestProblem } from './common.js';
import { textContent } from './content.js';

const TEXT_ONLY = 'Silkworm serves text-only models';

/** An input item once read: what a stored answer is kept as, and what references resolve to. */
export type ResponseItem =
  | { type: 'message'; role: 'system' | 'user' | 'assistant'; text: string }
  | { type: 'function_call'; callId: string; name: string; arguments: string }
  | { type: 'function_call_output'; callId: string; output: string };

const inputText = z.strictObject({ type: z.literal('input_text'), text: z.string() });
const outputText = z.strictObject({ type: z.literal('output_text'), text: z.string(), annotations: z.array(z.unknown()).optional(), logprobs: z.array(z.unknown()).optional() });
const refused = { input_image: `image inputs are not supported: ${TEXT_ONLY}`, input_file: `file inputs are not supported: ${TEXT_ONLY}`, input_audio: `audio inputs are not supported: ${TEXT_ONLY}` };
const inputContent = textContent({ text: { input_text: inputText, output_text: outputText }, refused });
const outputContent = textContent({ text: { output_text: outputText, input_text: inputText }, skipped: { refusal: z.strictObject({ type: z.literal('refusal'), refusal: z.string() }) } });
const itemId = z.string().min(1).max(128).optional();
const status = z.enum(['in_progress', 'completed', 'incomplete']).optional();

const message = z.discriminatedUnion('role', [
  z.strictObject({ type: z.literal('message').optional(), role: z.enum(['system', 'developer', 'user']), content: inputContent, id: itemId, status }),
  z.strictObject({ type: z.literal('message').optional(), role: z.literal('assistant'), content: outputContent, id: itemId, status, phase: z.string().max(64).nullish() }),
]);
const functionCall = z.strictObject({ type: z.literal('function_call'), call_id: z.string().min(1).max(128), name: toolName, arguments: z.string(), id: itemId, status });
const functionCallOutput = z.strictObject({ type: z.literal('function_call_output'), call_id: z.string().min(1).max(128), output: inputContent, id: itemId, status });
const itemReference = z.strictObject({ type: z.literal('item_reference'), id: z.string().min(1).max(128) });

type InputItem = ResponseItem | { type: 'item_reference'; id: string };

/** One input item, dispatched on its type (a message may omit it). */
const inputItem = z.unknown().transform((value, ctx): InputItem => {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  const schema = type === undefined || type === 'message' ? message : type === 'function_call' ? functionCall : type === 'function_call_output' ? functionCallOutput : type === 'item_reference' ? itemReference : undefined;
  if (!schema) {
    ctx.addIssue({ code: 'custom', path: ['type'], message: `input items of type '${String(type)}' are not supported (supported: message, function_call, function_call_output, item_reference)` });
    return z.NEVER;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }
  const item = parsed.data;
  if (item.type === 'item_reference') return item;
  if (item.type === 'function_call') return { type: 'function_call', callId: item.call_id, name: item.name, arguments: item.arguments };
  if (item.type === 'function_call_output') return { type: 'function_call_output', callId: item.call_id, output: item.output };
  return { type: 'message', role: item.role === 'developer' ? 'system' : item.role, text: item.content };
});

const functionTool = z.strictObject({ type: z.literal('function'), name: toolName, description: z.string().max(8192).nullish(), parameters: clientSchema('the tool parameters').nullish(), strict: z.boolean().nullish() });
const tool = z.unknown().transform((value, ctx) => {
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  if (type !== 'function') {
    ctx.addIssue({ code: 'custom', path: ['type'], message: `'${String(type)}' tools are not supported: only function tools run on Silkworm workers` });
    return z.NEVER;
  }
  const parsed = functionTool.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  }
  return parsed.data;
});

const format = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({ type: z.literal('json_schema'), name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), schema: clientSchema('text.format.schema'), description: z.string().nullish(), strict: z.boolean().nullish() }),
]);

/** The body of `POST /v1/responses`, as far as Silkworm supports it. */
export const responsesRequestSchema = z.strictObject({
  model: z.string().min(1).max(128),
  input: stringOrArray(z.array(inputItem).max(1024), 'input must be a string or an array of input items'),
  instructions: z.string().max(1_000_000).nullish(),
  max_output_tokens: z.number().int().min(1).max(MAX_COMPLETION_TOKENS).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_obfuscation: z.boolean().optional() }).nullish(),
  text: z.strictObject({ format: format.optional(), verbosity: unsupported('text.verbosity is not supported') }).nullish(),
  tools: z.array(tool).max(64).nullish(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.strictObject({ type: z.literal('function'), name: toolName })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  /** Default true, as OpenAI: the answer's items can be referenced by later requests. */
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1).max(128).nullish(),
  truncation: z.enum(['disabled'], "truncation 'auto' is not supported: Silkworm never drops context; a prompt that does not fit is a 400 context_length_exceeded").nullish(),
  // Accepted and ignored: they change nothing about the answer.
  metadata: z.record(z.string(), z.string()).nullish(),
  user: z.string().max(256).nullish(),
  service_tier: z.string().max(32).nullish(),
  prompt_cache_key: z.string().max(256).nullish(),
  safety_identifier: z.string().max(256).nullish(),
  reasoning: z
    .unknown()
    .superRefine((value, ctx) => {
      if (!asksNothing(value) && !(typeof value === 'object' && Object.values(value as object).every((v) => v === null))) ctx.addIssue({ code: 'custom', message: 'reasoning is not supported: Silkworm models do not reason in hidden tokens' });
    })
    .optional(),
  include: unsupported('include is not supported: Silkworm answers carry no logprobs, reasoning or tool-search output'),
  top_logprobs: unsupported('top_logprobs are not supported: the engine (node-llama-cpp) does not report token probabilities while it generates'),
  max_tool_calls: unsupported('max_tool_calls is not supported; use parallel_tool_calls: false for one call'),
  background: unsupported('background responses are not supported'),
  conversation: unsupported('conversations are not supported; send the items in input'),
  prompt: unsupported('prompt templates are not supported'),
});
export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;

/** Earlier answers the request may refer to (they were stored when it was answered). */
export interface ResponseLookup {
  item(id: string): ResponseItem | undefined;
  /** A stored response's input and output items, in order. */
  response(id: string): ResponseItem[] | undefined;
}

/** Validates a Responses request, resolves its references and turns it into a generation. */
export function parseResponsesRequest(body: unknown, lookup: ResponseLookup): Parsed<ResponsesRequest> & { items?: ResponseItem[] } {
  const parsed = responsesRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problem: describeIssues(parsed.error.issues) };
  const request = parsed.data;
  const items: ResponseItem[] = [];
  if (request.previous_response_id) {
    const earlier = lookup.response(request.previous_response_id);
    if (!earlier) return { ok: false, problem: { message: `Previous response with id '${request.previous_response_id}' not found (it was not stored, or it expired).`, param: 'previous_response_id' } };
    items.push(...earlier);
  }
  const input = typeof request.input === 'string' ? [{ type: 'message' as const, role: 'user' as const, text: request.input }] : request.input;
  for (const [index, item] of input.entries()) {
    if (item.type !== 'item_reference') {
      items.push(item);
      continue;
    }
    const found = lookup.item(item.id);
    if (!found) return { ok: false, problem: { message: `Item with id '${item.id}' not found (it was not stored, or it expired).`, param: formatPath(['input', index]) } };
    items.push(found);
  }
  const messages = toMessages(request.instructions ?? undefined, items);
  if (!messages.ok) return messages;
  const textFormat = request.text?.format;
  const output = outputParams({
    tools: request.tools?.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), ...(t.parameters ? { parameters: t.parameters } : {}) })),
    toolChoice: typeof request.tool_choice === 'object' && request.tool_choice ? { name: request.tool_choice.name } : (request.tool_choice ?? undefined),
    parallelToolCalls: request.parallel_tool_calls,
    responseFormat: textFormat?.type === 'json_object' ? { type: 'json_object' } : textFormat?.type === 'json_schema' ? { type: 'json_schema', schema: textFormat.schema } : undefined,
  });
  if (!output.ok) return output;
  return {
    ok: true,
    request,
    items,
    generation: {
      model: request.model,
      messages: messages.messages,
      params: { ...samplingParams(request), ...output.params },
      ...(request.max_output_tokens != null ? { maxTokens: request.max_output_tokens } : {}),
      stream: request.stream === true,
      includeUsage: true,
    },
  };
}

/** Items in order become chat messages: calls join the assistant turn they follow. */
function toMessages(instructions: string | undefined, items: readonly ResponseItem[]): { ok: true; messages: ChatMessage[] } | { ok: false; problem: RequestProblem } {
  const messages: ChatMessage[] = instructions ? [{ role: 'system', content: instructions }] : [];
  for (const item of items) {
    if (item.type === 'message') messages.push({ role: item.role, content: item.text });
    else if (item.type === 'function_call_output') messages.push({ role: 'tool', toolCallId: item.callId, content: item.output });
    else {
      const call = { id: item.callId, name: item.name, arguments: item.arguments };
      const last = messages.at(-1);
      if (last?.role === 'assistant') last.toolCalls = [...(last.toolCalls ?? []), call];
      else messages.push({ role: 'assistant', content: '', toolCalls: [call] });
    }
  }
  if (messages.length === 0) return { ok: false, problem: { message: 'input must not be empty.', param: 'input' } };
  const turns = checkToolTurns(messages);
  if (turns) return { ok: false, problem: { message: `Invalid input: ${turns.message}`, param: 'input' } };
  return { ok: true, messages };
}
