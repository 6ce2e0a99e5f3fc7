/**
 * The engine on the generated test model, for what OpenAI clients ask beyond plain text: JSON
 * output enforced by a grammar, forced and free tool calls streamed as pieces, and the context
 * check that refuses rather than truncates. Every prompt count the engine reports must equal the
 * coordinator's and the gateway's (TokenCounter, the same shared rendering), tools included:
 * otherwise honest workers would be under-billed or disputed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaEngine } from './llama-engine.js';
import { ContextLengthError, InvalidJobError } from './job-options.js';
import { writeTestModel, successorText } from '../models/test-model.js';
import { TokenCounter } from '../../network/tokenizer/token-counter.js';
import type { ChatMessage } from '../../network/protocol/chat.js';
import type { Continuation, JobParams, ToolCallDelta } from '../../network/protocol/job-schemas.js';
import { mergeParts } from '../../network/protocol/answer-parts.js';

const CONTEXT = 1536;
const weatherTool = { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

describe('llama engine: grammars, tools, context', () => {
  let dir = '';
  let engine: LlamaEngine;
  let counter: TokenCounter;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-llama-'));
    const modelPath = join(dir, 'model.gguf');
    await writeTestModel(modelPath);
    ({ engine } = await LlamaEngine.load({ modelPath, threads: 1, contextSize: CONTEXT, sequences: 1, gpu: 'cpu', warmupTokens: 0, sandbox: false }, () => {}));
    counter = await TokenCounter.open(modelPath);
  });
  after(async () => {
    await engine.dispose();
    await counter.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs a job, returning its text, assembled tool calls, finish and usage. */
  const run = async (messages: ChatMessage[], params: JobParams) => {
    let text = '';
    let calls: ToolCallDelta[] = [];
    const result = await engine.generate(messages, params, undefined, new AbortController().signal, (piece, _tokens, toolCalls) => {
      text += piece;
      if (toolCalls) calls = mergeParts({ text: '', toolCalls: calls }, { text: '', toolCalls }).toolCalls ?? [];
    });
    return { text, calls, ...result };
  };

  test('a JSON schema grammar makes even the test model write valid JSON of the schema', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' }, sunny: { type: 'boolean' } }, required: ['city', 'sunny'] };
    const out = await run([{ role: 'user', content: 'abc' }], { maxTokens: 300, temperature: 0, responseFormat: { type: 'json_schema', schema } });
    assert.equal(out.finishReason, 'stop');
    const value = JSON.parse(out.text) as { city: unknown; sunny: unknown };
    assert.deepEqual(Object.keys(value), ['city', 'sunny']);
    assert.equal(typeof value.city, 'string');
    assert.equal(typeof value.sunny, 'boolean');
    assert.equal(out.usage.completionTokens, counter.countText(out.text), 'the claim is what the coordinator counts');
    assert.equal(out.countedCompletionTokens, counter.countText(out.text), 'receipts are checked against what the coordinator counts');
    const object = await run([{ role: 'user', content: 'abc' }], { maxTokens: 50, temperature: 0, responseFormat: { type: 'json_object' } });
    assert.equal(typeof JSON.parse(object.text), 'object');
    assert.notEqual(successorText('abc', 3), object.text.slice(0, 3), 'without the grammar the model would have written "def…"');
  });

  test('a forced tool call streams its name, then its arguments; the claim and prompt match the shared counts', async () => {
    const params: JobParams = { maxTokens: 300, temperature: 0, tools: [weatherTool], toolChoice: 'required' };
    const messages: ChatMessage[] = [{ role: 'user', content: 'abc' }];
    const out = await run(messages, params);
    assert.equal(out.finishReason, 'tool_calls');
    assert.equal(out.text, '');
    assert.equal(out.calls.length, 1);
    assert.equal(out.calls[0]?.name, 'get_weather');
    assert.equal(typeof (JSON.parse(out.calls[0]?.arguments ?? '') as { city?: unknown }).city, 'string');
    assert.equal(out.usage.promptTokens, counter.countPrompt(messages, params), 'tools are rendered into the prompt identically');
    assert.equal(out.usage.completionTokens, counter.countToolCalls(out.calls));
    assert.equal(out.countedCompletionTokens, counter.countToolCalls(out.calls));
    // The same chat without tools is far shorter: the tools really are in the prompt.
    assert.ok(counter.countPrompt(messages) < out.usage.promptTokens - 100);
  });

  test('after the tool result the model answers in text, and the history with calls counts the same everywhere', async () => {
    const messages: ChatMessage[] = [
      { role: 'user', content: 'abc' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
      { role: 'tool', toolCallId: 'call_1', content: '{"temperature":21}' },
    ];
    const params: JobParams = { maxTokens: 6, temperature: 0, tools: [weatherTool] };
    const out = await run(messages, params);
    assert.equal(out.finishReason, 'length');
    assert.equal(out.text.length, 6);
    assert.equal(out.usage.promptTokens, counter.countPrompt(messages, params));
    await assert.rejects(run([{ role: 'user', content: 'abc' }, { role: 'tool', toolCallId: 'x', content: 'y' }], { maxTokens: 3, temperature: 0 }), InvalidJobError);
  });

  test('a prompt that does not fit with max_tokens is refused before any work, never truncated', async () => {
    const long: ChatMessage[] = [{ role: 'user', content: 'x'.repeat(600) + 'abc' }];
    const prompt = counter.countPrompt(long);
    await assert.rejects(run(long, { maxTokens: CONTEXT - prompt + 1, temperature: 0 }), (e: unknown) => e instanceof ContextLengthError && new RegExp(`maximum context length is ${CONTEXT} tokens`).test(e.message));
    const fits = await run(long, { maxTokens: CONTEXT - prompt, temperature: 0 });
    assert.equal(fits.text, successorText('abc', CONTEXT - prompt), 'exactly full: the whole answer, nothing shifted out');
  });
});

describe('llama engine: a model that thinks before it answers', () => {
  let dir = '';
  let engine: LlamaEngine;
  let counter: TokenCounter;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-llama-think-'));
    const modelPath = join(dir, 'thinking.gguf');
    await writeTestModel(modelPath, { thinking: true });
    ({ engine } = await LlamaEngine.load({ modelPath, threads: 1, contextSize: 512, sequences: 1, gpu: 'cpu', warmupTokens: 0, sandbox: false }, () => {}));
    counter = await TokenCounter.open(modelPath);
  });
  after(async () => {
    await engine.dispose();
    await counter.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (maxTokens: number, maxTokensPerSecond?: number, continuation?: Continuation) => {
    const pieces: { text: string; reasoning: string; tokens: number }[] = [];
    const result = await engine.generate([{ role: 'user', content: 'hello' }], { maxTokens, temperature: 0 }, continuation, new AbortController().signal, (text, tokens, _calls, reasoning) => pieces.push({ text, reasoning: reasoning ?? '', tokens }), { maxTokensPerSecond });
    return { pieces, text: pieces.map((p) => p.text).join(''), reasoning: pieces.map((p) => p.reasoning).join(''), ...result };
  };

  test('its thoughts stream as reasoning before the answer, and are claimed as the network counts them', async () => {
    const out = await run(30);
    assert.equal(out.reasoning, '!"', 'the thought, without its markers');
    assert.equal(out.text, successorText('>', 20), 'the answer after "</think>"');
    const firstText = out.pieces.findIndex((p) => p.text !== '');
    assert.ok(firstText > 0 && out.pieces.slice(firstText).every((p) => p.reasoning === ''), 'every thought comes before the text');
    assert.ok(out.pieces.every((p) => p.text === '' || p.reasoning === ''), 'a piece is either thought or answer');
    const counted = counter.countText(out.reasoning) + counter.countText(out.text);
    assert.equal(out.usage.completionTokens, counted, 'the claim covers the thoughts, as the coordinator counts them');
    assert.equal(out.countedCompletionTokens, counted);
  });

  test('paced by the owner, it thinks and answers exactly as unpaced', async () => {
    const unpaced = await run(24);
    const paced = await run(24, 16);
    assert.equal(paced.reasoning, unpaced.reasoning);
    assert.equal(paced.text, unpaced.text);
    assert.equal(paced.usage.completionTokens, unpaced.usage.completionTokens);
  });

  test('a worker lost mid-thought or mid-answer: the next goes on from what the client has, without thinking again', async () => {
    // Uninterrupted, 30 tokens are the thought '!"', 8 of "</think>", 20 of answer.
    const midThought = await run(29, undefined, { reasoning: '!', text: '' });
    assert.equal(midThought.reasoning, '"', 'the rest of the thought, not a new one');
    assert.equal(midThought.text, successorText('>', 20));
    assert.equal(midThought.countedCompletionTokens, 1 + 20, 'only what this worker wrote is claimed');
    const midAnswer = await run(15, undefined, { reasoning: '!"', text: successorText('>', 5) });
    assert.equal(midAnswer.reasoning, '', 'the thought was over: no new one');
    assert.equal(`${successorText('>', 5)}${midAnswer.text}`, successorText('>', 20));
    assert.equal(midAnswer.usage.completionTokens, 15);
  });
});
