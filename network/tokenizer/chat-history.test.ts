/**
 * A turn generated in pieces (the engine's paced slices) must go on as one generation would: the
 * model's thought, cut mid-way, is resumed, not begun again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GeneralChatWrapper, LlamaChat, QwenChatWrapper, resolveChatWrapper, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import { writeTestModel } from '../../main/models/test-model.js';
import { appendResponse, functionsOf, promptTokens, responseSoFar, toChatHistory, wrapperFor, type ResponseSoFar } from './chat-history.js';
import { cpuLlama } from './token-counter.js';

const thought = (text: string, ended: boolean) => ({ type: 'segment' as const, segmentType: 'thought' as const, text, ended });

test('appendResponse goes on inside an open thought, starts after a closed one, and joins text', () => {
  let soFar: ResponseSoFar = [];
  soFar = appendResponse(soFar, [thought('ab', false)]);
  soFar = appendResponse(soFar, [thought('cd', true), 'Hel']);
  soFar = appendResponse(soFar, ['lo']);
  assert.deepEqual(soFar, [thought('abcd', true), 'Hello']);
  const before = structuredClone(soFar);
  assert.deepEqual(appendResponse(soFar, [thought('again', false)]), [thought('abcd', true), 'Hello', thought('again', false)], 'a new thought after text is its own segment');
  assert.deepEqual(soFar, before, 'the earlier response is not changed');
  assert.deepEqual(toChatHistory([{ role: 'user', content: 'hi' }], soFar).at(-1), { type: 'model', response: soFar });
});

test('what earlier workers streamed, as the response the next one goes on from: an open thought, or a closed one and text; none for a model without thoughts', () => {
  const thinking = new QwenChatWrapper();
  assert.deepEqual(responseSoFar({ reasoning: 'ab', text: '' }, thinking), [thought('ab', false)], 'mid-thought: the model goes on thinking');
  assert.deepEqual(responseSoFar({ reasoning: 'ab', text: 'Hi' }, thinking), [thought('ab', true), 'Hi'], 'mid-answer: the thought was over');
  assert.deepEqual(responseSoFar({ reasoning: '', text: 'Hi' }, thinking), ['Hi']);
  assert.deepEqual(responseSoFar({ reasoning: 'invented', text: 'Hi' }, new GeneralChatWrapper()), ['Hi'], 'a model that writes no thoughts is shown none');
});

let dir = '';
let model: LlamaModel;
let context: LlamaContext;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'silkworm-history-'));
  const path = join(dir, 'thinking.gguf');
  await writeTestModel(path, { thinking: true });
  model = await (await cpuLlama()).loadModel({ modelPath: path });
  context = await model.createContext({ contextSize: 256, threads: 1 });
});
after(async () => {
  await context.dispose();
  await model.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('a thought cut by max tokens and resumed from appendResponse ends where one generation ends it', async () => {
  const chat = new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: resolveChatWrapper(model) });
  const messages = [{ role: 'user' as const, content: 'hello' }];
  const whole = await chat.generateResponse(toChatHistory(messages), { maxTokens: 20, temperature: 0 });
  let soFar: ResponseSoFar = [];
  // 1 token (inside the thought), then 9 (the rest of it and "</think>": the test model's end
  // marker is 8 tokens, which must fall within one call), then the answer.
  for (const maxTokens of [1, 9, 10]) {
    const piece = await chat.generateResponse(toChatHistory(messages, soFar), { maxTokens, temperature: 0 });
    soFar = appendResponse(soFar, piece.fullResponse);
  }
  assert.deepEqual(soFar.map((item) => (typeof item === 'string' ? item : { text: item.text, ended: item.ended })), whole.fullResponse.map((item) => (typeof item === 'string' ? item : { text: item.text, ended: item.ended })));
  assert.equal(whole.fullResponse.length, 2, 'one thought, then the answer');
  chat.dispose();
});

test('a forced call: the model reads the call prefix once, right after the prompt every party counts, then writes the name', async () => {
  const plainPath = join(dir, 'plain.gguf');
  await writeTestModel(plainPath);
  const plain = await (await cpuLlama()).loadModel({ modelPath: plainPath });
  const plainContext = await plain.createContext({ contextSize: 1024, threads: 1 });
  try {
    const sequence = plainContext.getSequence();
    const chatWrapper = resolveChatWrapper(plain);
    const messages = [{ role: 'user' as const, content: 'abc' }];
    const tools = [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];
    for (const toolChoice of ['required', { name: 'get_weather' }] as const) {
      const params = { tools, toolChoice };
      const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: wrapperFor(chatWrapper, params) });
      await sequence.clearHistory();
      const result = await chat.generateResponse(toChatHistory(messages), { maxTokens: 24, temperature: 0, functions: functionsOf(params)!, documentFunctionParams: true });
      const prompt = promptTokens(plain, chatWrapper, messages, undefined, params);
      const evaluated = sequence.contextTokens;
      assert.deepEqual(evaluated.slice(0, prompt.length), prompt, 'the prompt counted for billing is what the model read');
      assert.ok(plain.detokenize(prompt).endsWith(`abc${chatWrapper.settings.functions.call.prefix as string}`), 'the prompt ends with the call prefix');
      const after = plain.detokenize(evaluated.slice(prompt.length));
      assert.ok(after.startsWith('get_weather({"city":"'), `then the name, not the prefix again: ${JSON.stringify(after)}`);
      assert.equal(result.metadata.stopReason, 'maxTokens', 'cut inside the arguments');
      chat.dispose({ disposeSequence: false });
    }
  } finally {
    await plainContext.dispose();
    await plain.dispose();
  }
});
