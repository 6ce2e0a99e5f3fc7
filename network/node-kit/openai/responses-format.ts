/**
 * Responses API answers, in OpenAI's shapes: one `response` object, or its event stream —
 * `response.created`, `response.in_progress`, then per output item `response.output_item.added`,
 * (text) `response.content_part.added` / `response.output_text.delta` / `.done` /
 * `response.content_part.done`, (calls) `response.function_call_arguments.delta` / `.done`,
 * `response.output_item.done`, and last `response.completed` (or `response.incomplete` when
 * max_output_tokens cut it). Every event carries `type` and a `sequence_number`.
 */
import { randomUUID } from 'node:crypto';
import type { GenerationRequest } from '../../protocol/openai/common.js';
import type { ResponseItem, ResponsesRequest } from '../../protocol/openai/responses-request.js';
import type { AnswerUsage, FinishReason } from '../../protocol/job-schemas.js';
import { sendJson } from '../http-util.js';
import { unixSeconds, type Answer, type AnswerFormat, type AssembledCall } from './answer.js';

type OutputItem =
  | { id: string; type: 'message'; status: 'in_progress' | 'completed' | 'incomplete'; role: 'assistant'; content: { type: 'output_text'; text: string; annotations: []; logprobs: [] }[] }
  | { id: string; type: 'function_call'; status: 'in_progress' | 'completed' | 'incomplete'; call_id: string; name: string; arguments: string };

/** OpenAI's usage object of a response. */
function responseUsage(usage: AnswerUsage) {
  return { input_tokens: usage.promptTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: usage.completionTokens, output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 }, total_tokens: usage.promptTokens + usage.completionTokens };
}

function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '')}`;
}

/** Called once an answer is complete, to keep it referable (when the request allows storing). */
export type SaveResponse = (responseId: string, output: { id: string; item: ResponseItem }[]) => void;

/** The Responses format for one request. */
export function responsesFormat(answer: Answer, request: GenerationRequest, raw: ResponsesRequest, save: SaveResponse | undefined): AnswerFormat {
  const id = newId('resp');
  const createdAt = unixSeconds();
  const output: OutputItem[] = [];
  let sequence = 0;
  let message: Extract<OutputItem, { type: 'message' }> | undefined;
  const calls = new Map<number, Extract<OutputItem, { type: 'function_call' }>>();
  const event = (type: string, fields: Record<string, unknown>) => answer.sse({ type, sequence_number: sequence++, ...fields }, type);

  const snapshot = (status: 'in_progress' | 'completed' | 'incomplete' | 'failed', usage?: AnswerUsage, error?: { code: string; message: string }) => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: error ?? null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: raw.instructions ?? null,
    max_output_tokens: raw.max_output_tokens ?? null,
    max_tool_calls: null,
    model: request.model,
    output: status === 'in_progress' ? [] : output,
    parallel_tool_calls: raw.parallel_tool_calls ?? true,
    previous_response_id: raw.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: raw.store !== false,
    temperature: raw.temperature ?? 1,
    text: { format: raw.text?.format ?? { type: 'text' } },
    tool_choice: raw.tool_choice ?? 'auto',
    tools: raw.tools ?? [],
    top_p: raw.top_p ?? 1,
    truncation: 'disabled',
    usage: usage ? responseUsage(usage) : null,
    user: raw.user ?? null,
    metadata: raw.metadata ?? {},
  });

  const closeMessage = (status: 'completed' | 'incomplete') => {
    if (!message) return;
    message.status = status;
    const index = output.indexOf(message);
    const part = message.content[0]!;
    if (answer.stream) {
      event('response.output_text.done', { item_id: message.id, output_index: index, content_index: 0, text: part.text, logprobs: [] });
      event('response.content_part.done', { item_id: message.id, output_index: index, content_index: 0, part });
      event('response.output_item.done', { output_index: index, item: message });
    }
    message = undefined;
  };
  const closeCall = (item: Extract<OutputItem, { type: 'function_call' }>, status: 'completed' | 'incomplete') => {
    if (item.status !== 'in_progress') return;
    item.status = status;
    const index = output.indexOf(item);
    if (answer.stream) {
      event('response.function_call_arguments.done', { item_id: item.id, output_index: index, arguments: item.arguments });
      event('response.output_item.done', { output_index: index, item });
    }
  };
  const closeAll = (status: 'completed' | 'incomplete') => {
    closeMessage(status);
    for (const item of calls.values()) closeCall(item, status);
  };

  return {
    begin() {
      event('response.created', { response: snapshot('in_progress') });
      event('response.in_progress', { response: snapshot('in_progress') });
    },
    text(text) {
      if (!message) {
        message = { id: newId('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [{ type: 'output_text', text: '', annotations: [], logprobs: [] }] };
        output.push(message);
        if (answer.stream) {
          const index = output.length - 1;
          event('response.output_item.added', { output_index: index, item: { ...message, content: [] } });
          event('response.content_part.added', { item_id: message.id, output_index: index, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
        }
      }
      message.content[0]!.text += text;
      if (answer.stream) event('response.output_text.delta', { item_id: message.id, output_index: output.indexOf(message), content_index: 0, delta: text, logprobs: [] });
    },
    toolCall(index: number, call: AssembledCall, first: boolean, argumentsDelta: string) {
      closeMessage('completed');
      let item = calls.get(index);
      if (first || !item) {
        for (const earlier of calls.values()) closeCall(earlier, 'completed');
        item = { id: newId('fc'), type: 'function_call', status: 'in_progress', call_id: call.id, name: call.name, arguments: '' };
        calls.set(index, item);
        output.push(item);
        if (answer.stream) event('response.output_item.added', { output_index: output.length - 1, item: { ...item } });
      }
      item.arguments += argumentsDelta;
      if (answer.stream && argumentsDelta) event('response.function_call_arguments.delta', { item_id: item.id, output_index: output.indexOf(item), delta: argumentsDelta });
    },
    done(full, finishReason: FinishReason, usage) {
      const status = finishReason === 'length' ? 'incomplete' : 'completed';
      closeAll(status);
      save?.(
        id,
        output.map((item) => ({ id: item.id, item: item.type === 'message' ? { type: 'message', role: 'assistant', text: item.content[0]!.text } : { type: 'function_call', callId: item.call_id, name: item.name, arguments: item.arguments } })),
      );
      const final = snapshot(status, usage);
      if (!answer.stream) {
        sendJson(full.res, 200, { ...final, output_text: full.text }, full.responseHeaders);
        return;
      }
      event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response: final });
      full.res.end();
    },
    failLate(error) {
      event('error', { code: error.code, message: error.message, param: error.param ?? null });
      event('response.failed', { response: snapshot('failed', undefined, { code: error.code, message: error.message }) });
      answer.res.end();
    },
  };
}
