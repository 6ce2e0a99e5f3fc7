/**
 * A chat as workers run it, whatever API it came through (chat completions, responses, legacy
 * completions: network/protocol/openai/): plain-text messages, assistant tool calls and the
 * tool results that answer them. Also OpenAI's error body, shared by every HTTP surface.
 */
import { z } from 'zod';
import { MAX_TOOL_ARGUMENTS_BYTES, MAX_TOOLS, toolName } from './job-schemas.js';

/** Largest max_tokens any request may ask for; a model's context size may lower it. */
export const MAX_COMPLETION_TOKENS = 32_768;

/** The most tokens generated when a request names no max_tokens. */
export const DEFAULT_MAX_TOKENS = 512;

/** The message OpenAI gives for a prompt and max_tokens that do not fit the context (`context_length_exceeded`). */
export function contextLengthMessage(contextSize: number, promptTokens: number, maxTokens: number): string {
  return `This model's maximum context length is ${contextSize} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`;
}

/**
 * Bytes one token may decode to, when the model's vocabulary is not at hand. Vocabularies in use
 * spell their longest pieces in well under 256 bytes (runs of spaces or punctuation in
 * code-heavy BPE vocabularies are the longest). An answer of N tokens is at most N times this:
 * the coordinator cuts a worker's answer there, and the SDK a coordinator's.
 */
export const DEFAULT_MAX_TOKEN_BYTES = 256;

const content = z.string().max(1_000_000);
/** An id a client gave a tool call, echoed by the tool message that answers it. */
const toolCallId = z.string().min(1).max(128);

/** A call the assistant made: its arguments are JSON text, as the model wrote them. */
export const messageToolCallSchema = z.strictObject({ id: toolCallId, name: toolName, arguments: z.string().max(MAX_TOOL_ARGUMENTS_BYTES) });
export type MessageToolCall = z.infer<typeof messageToolCallSchema>;

/** A chat message reduced to what workers need. */
export const chatMessageSchema = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content }),
  z.strictObject({ role: z.literal('user'), content }),
  z.strictObject({ role: z.literal('assistant'), content, toolCalls: z.array(messageToolCallSchema).min(1).max(MAX_TOOLS).optional() }),
  z.strictObject({ role: z.literal('tool'), toolCallId, content }),
]);
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** Where a chat's tool turns break OpenAI's rules, and why. */
export interface ToolTurnProblem {
  index: number;
  message: string;
}

/**
 * Checks the tool turns of a chat as OpenAI does: an assistant message with tool calls is
 * followed by one tool message per call (by id) before anything else, each tool message answers
 * a call just made, and arguments are JSON. The prompt rendering relies on it (chat-history.ts).
 */
export function checkToolTurns(messages: readonly ChatMessage[]): ToolTurnProblem | undefined {
  let open: Map<string, boolean> | undefined;
  let openedAt = -1;
  for (const [index, m] of messages.entries()) {
    if (m.role === 'tool') {
      if (!open?.has(m.toolCallId)) return { index, message: `A tool message must answer a tool call of the assistant message just before it; '${m.toolCallId}' is not one.` };
      if (open.get(m.toolCallId)) return { index, message: `Tool call '${m.toolCallId}' is answered twice.` };
      open.set(m.toolCallId, true);
      continue;
    }
    const unanswered = open && [...open].find(([, answered]) => !answered);
    if (unanswered) return { index: openedAt, message: `An assistant message with 'tool_calls' must be followed by tool messages answering each call; '${unanswered[0]}' has none.` };
    open = undefined;
    if (m.role === 'assistant' && m.toolCalls) {
      open = new Map();
      openedAt = index;
      for (const call of m.toolCalls) {
        if (open.has(call.id)) return { index, message: `Tool call id '${call.id}' appears twice.` };
        if (!isJson(call.arguments)) return { index, message: `The arguments of tool call '${call.id}' are not valid JSON.` };
        open.set(call.id, false);
      }
    }
  }
  const unanswered = open && [...open].find(([, answered]) => !answered);
  if (unanswered) return { index: openedAt, message: `An assistant message with 'tool_calls' must be followed by tool messages answering each call; '${unanswered[0]}' has none.` };
  return undefined;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
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
  const path = formatPath(first.path);
  if (first.code === 'unrecognized_keys') {
    const where = path ? ` in '${path}'` : '';
    return { message: `Unrecognized request argument supplied${where}: ${first.keys.join(', ')}`, param: first.keys[0] ?? null };
  }
  return { message: path ? `Invalid '${path}': ${first.message}` : first.message, param: path || null };
}

/** `messages[0].content[1]`, as OpenAI names nested parameters. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}
