/**
 * The three OpenAI request shapes become the same generation: echoed replies accepted, tool
 * turns paired, stored items resolved, and what Silkworm cannot honour refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChatCompletionRequest } from './chat-request.js';
import { parseResponsesRequest, type ResponseItem, type ResponseLookup } from './responses-request.js';
import { parseCompletionRequest } from './completions-request.js';

const nothingStored: ResponseLookup = { item: () => undefined, response: () => undefined };
const tool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

test('chat: an echoed assistant reply with every null field is accepted; non-null audio or function_call is named', () => {
  const reply = { role: 'assistant', content: 'def', refusal: null, annotations: [], audio: null, function_call: null, tool_calls: null };
  const ok = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'abc' }, reply, { role: 'user', content: 'x' }] });
  assert.ok(ok.ok);
  assert.deepEqual(ok.generation.messages[1], { role: 'assistant', content: 'def' });
  const audio = parseChatCompletionRequest({ model: 'm', messages: [{ ...reply, audio: { id: 'a' } }] });
  assert.ok(!audio.ok);
  assert.equal(audio.problem.param, 'messages[0].audio');
  assert.match(audio.problem.message, /audio is not supported/);
  const nullContent = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"P"}' } }] }, { role: 'tool', tool_call_id: 'c1', content: '20' }], tools: [tool] });
  assert.ok(nullContent.ok);
  assert.deepEqual(nullContent.generation.messages.slice(1), [
    { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{"city":"P"}' }] },
    { role: 'tool', toolCallId: 'c1', content: '20' },
  ]);
});

test('chat: tools, tool_choice, response_format and penalties become job params; conflicts are 400s', () => {
  const ok = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'a' }], tools: [tool], tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false, presence_penalty: 0.5, frequency_penalty: -1, temperature: 0 });
  assert.ok(ok.ok);
  assert.deepEqual(ok.generation.params, { temperature: 0, presencePenalty: 0.5, frequencyPenalty: -1, tools: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }], toolChoice: { name: 'get_weather' }, parallelToolCalls: false });
  const none = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'a' }], tools: [tool], tool_choice: 'none' });
  assert.ok(none.ok);
  assert.equal(none.generation.params.tools, undefined, "tool_choice 'none' offers no tools");
  const both = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'a' }], tools: [tool], response_format: { type: 'json_object' } });
  assert.ok(!both.ok);
  assert.equal(both.problem.param, 'response_format');
  const unknownTool = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'a' }], tools: [tool], tool_choice: { type: 'function', function: { name: 'other' } } });
  assert.ok(!unknownTool.ok);
  assert.match(unknownTool.problem.message, /'other'/);
  const unanswered = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] }, { role: 'user', content: 'b' }] });
  assert.ok(!unanswered.ok);
  assert.match(unanswered.problem.message, /'c1' has none/);
  const badArgs = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{' } }] }, { role: 'tool', tool_call_id: 'c1', content: 'x' }] });
  assert.ok(!badArgs.ok);
  assert.match(badArgs.problem.message, /not valid JSON/);
  const logprobs = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'a' }], logprobs: true });
  assert.ok(!logprobs.ok);
  assert.equal(logprobs.problem.param, 'logprobs');
  assert.ok(parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'a' }], logprobs: false, top_logprobs: null }).ok, 'asking for nothing is fine');
});

test('responses: text and items become messages; calls join their assistant turn; references resolve per store', () => {
  const stored: Record<string, ResponseItem> = { msg_1: { type: 'message', role: 'assistant', text: 'def' } };
  const lookup: ResponseLookup = { item: (id) => stored[id], response: (id) => (id === 'resp_1' ? [{ type: 'message', role: 'user', text: 'abc' }, { type: 'message', role: 'assistant', text: 'def' }] : undefined) };
  const parsed = parseResponsesRequest(
    {
      model: 'm',
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'abc' }] },
        { type: 'item_reference', id: 'msg_1' },
        { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: '21' },
      ],
      max_output_tokens: 9,
      text: { format: { type: 'json_schema', name: 'w', schema: { type: 'object', properties: { a: { type: 'string' } } } } },
    },
    lookup,
  );
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.generation.messages, [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'abc' },
    { role: 'assistant', content: 'def', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{}' }] },
    { role: 'tool', toolCallId: 'c1', content: '21' },
  ]);
  assert.equal(parsed.generation.maxTokens, 9);
  assert.deepEqual(parsed.generation.params.responseFormat, { type: 'json_schema', schema: { type: 'object', properties: { a: { type: 'string' } } } });
  const chained = parseResponsesRequest({ model: 'm', previous_response_id: 'resp_1', input: 'xyz' }, lookup);
  assert.ok(chained.ok);
  assert.deepEqual(chained.generation.messages.map((m) => m.content), ['abc', 'def', 'xyz']);
  const missing = parseResponsesRequest({ model: 'm', input: [{ type: 'item_reference', id: 'msg_x' }] }, nothingStored);
  assert.ok(!missing.ok);
  assert.match(missing.problem.message, /Item with id 'msg_x' not found/);
  const image = parseResponsesRequest({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] }, nothingStored);
  assert.ok(!image.ok);
  assert.match(image.problem.message, /image inputs are not supported/);
  const webSearch = parseResponsesRequest({ model: 'm', input: 'a', tools: [{ type: 'web_search' }] }, nothingStored);
  assert.ok(!webSearch.ok);
  assert.match(webSearch.problem.message, /'web_search' tools are not supported/);
  const truncation = parseResponsesRequest({ model: 'm', input: 'a', truncation: 'auto' }, nothingStored);
  assert.ok(!truncation.ok);
  assert.match(truncation.problem.message, /never drops context/);
});

test('completions: the prompt is one user message; echo, suffix and batches are named', () => {
  const ok = parseCompletionRequest({ model: 'm', prompt: 'abc', stop: '\n', n: 1, echo: false });
  assert.ok(ok.ok);
  assert.deepEqual(ok.generation.messages, [{ role: 'user', content: 'abc' }]);
  assert.equal(ok.generation.maxTokens, 16, "OpenAI's default for this endpoint");
  assert.deepEqual(ok.generation.params.stop, ['\n']);
  const echo = parseCompletionRequest({ model: 'm', prompt: 'abc', echo: true });
  assert.ok(!echo.ok);
  assert.match(echo.problem.message, /echo is not supported/);
  const batch = parseCompletionRequest({ model: 'm', prompt: ['a', 'b'] });
  assert.ok(!batch.ok);
  assert.match(batch.problem.message, /batches of prompts are not supported/);
});
