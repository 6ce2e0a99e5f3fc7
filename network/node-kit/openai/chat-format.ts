/**
 * Chat completion answers, in OpenAI's shapes: one `chat.completion` object, or
 * `chat.completion.chunk` events (role first, content deltas, `tool_calls` deltas with the call's
 * id and name in its first piece, the finish reason, then usage when asked) ending in `[DONE]`.
 */
import { randomUUID } from 'node:crypto';
import type { GenerationRequest } from '../../protocol/openai/common.js';
import type { AnswerUsage, FinishReason } from '../../protocol/job-schemas.js';
import { errorType, sendJson } from '../http-util.js';
import { unixSeconds, type Answer, type AnswerFormat, type AssembledCall } from './answer.js';
import type { ApiError } from './backend.js';

/** OpenAI's usage object (with `completion_tokens_details.reasoning_tokens` when thoughts were counted). */
export function chatUsage(usage: AnswerUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    ...(usage.reasoningTokens !== undefined ? { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } } : {}),
  };
}

/**
 * The assistant message of a finished answer (content null when it only called tools); a
 * thinking model's thoughts are `reasoning_content`, as DeepSeek's API, vLLM and llama.cpp's
 * server return them.
 */
export function chatMessage(answer: Answer) {
  const calls = answer.calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } }));
  return {
    role: 'assistant' as const,
    content: calls.length && answer.text === '' ? null : answer.text,
    ...(answer.reasoning ? { reasoning_content: answer.reasoning } : {}),
    refusal: null,
    annotations: [],
    ...(calls.length ? { tool_calls: calls } : {}),
  };
}

/** The error body of a failure inside a stream (the openai SDK raises it as an APIError). */
export function streamError(error: ApiError) {
  return { error: { message: error.message, type: error.type ?? errorType(error.status), param: error.param ?? null, code: error.code } };
}

/** The chat completion format for one request. */
export function chatFormat(answer: Answer, request: GenerationRequest): AnswerFormat {
  const id = `chatcmpl-${randomUUID()}`;
  const created = unixSeconds();
  const base = { id, object: 'chat.completion.chunk', created, model: request.model, system_fingerprint: null };
  let roleSent = false;
  const chunk = (delta: Record<string, unknown>, finishReason: FinishReason | null = null) => {
    const withRole = roleSent ? delta : { role: 'assistant', ...delta };
    roleSent = true;
    answer.sse({ ...base, choices: [{ index: 0, delta: withRole, logprobs: null, finish_reason: finishReason }] });
  };
  if (!answer.stream) {
    return {
      done(full, finishReason, usage) {
        const body = { id, object: 'chat.completion', created, model: request.model, system_fingerprint: null, choices: [{ index: 0, message: chatMessage(full), logprobs: null, finish_reason: finishReason }], ...(usage ? { usage: chatUsage(usage) } : {}) };
        sendJson(full.res, 200, body, full.responseHeaders);
      },
      failLate: () => undefined,
    };
  }
  return {
    reasoning: (text) => chunk({ reasoning_content: text }),
    text: (text) => chunk({ content: text }),
    toolCall(index: number, call: AssembledCall, first: boolean, argumentsDelta: string) {
      const piece = first ? { index, id: call.id, type: 'function', function: { name: call.name, arguments: argumentsDelta } } : { index, function: { arguments: argumentsDelta } };
      chunk(first && !roleSent ? { content: null, tool_calls: [piece] } : { tool_calls: [piece] });
    },
    done(full, finishReason, usage) {
      chunk(roleSent ? {} : { content: '' }, finishReason);
      if (request.includeUsage && usage) answer.sse({ ...base, choices: [], usage: chatUsage(usage) });
      full.res.end('data: [DONE]\n\n');
    },
    failLate(error) {
      answer.sse(streamError(error));
      answer.res.end('data: [DONE]\n\n');
    },
  };
}
