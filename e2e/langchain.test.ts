/**
 * LangChain JS (`@langchain/openai`'s ChatOpenAI), unchanged, through both base URLs:
 * multi-turn with its own AI messages sent back, streaming, `withStructuredOutput` validated
 * against its schema, a `bindTools` round trip, and a prompt over the context.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOpenAI } from '@langchain/openai';
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { ContextOverflowError } from '@langchain/core/errors';
import { z } from 'zod';
import { successorText } from '../main/models/test-model.js';
import { CONTEXT, KEY, MODEL, startClientsNetwork, type ClientsNetwork } from './clients/network.js';

const Weather = z.object({ city: z.string(), sunny: z.boolean() });

describe('LangChain JS, unchanged, in both modes', () => {
  let net: ClientsNetwork;
  before(async () => {
    net = await startClientsNetwork();
  });
  after(() => net.close());

  for (const mode of ['transport', 'sealed'] as const) {
    const chat = (maxTokens: number) => new ChatOpenAI({ model: MODEL, apiKey: KEY, configuration: { baseURL: net.bases.find((b) => b.mode === mode)!.baseURL }, temperature: 0, maxTokens, maxRetries: 0 });

    test(`${mode}: multi-turn with its own AI message sent back, and streaming`, async () => {
      const first = await chat(5).invoke([new HumanMessage('abc')]);
      assert.equal(first.content, successorText('abc', 5));
      const second = await chat(4).invoke([new HumanMessage('abc'), first, new HumanMessage('xyz')]);
      assert.equal(second.content, successorText('xyz', 4));
      let text = '';
      for await (const chunk of await chat(25).stream([new HumanMessage('abc')])) text += typeof chunk.content === 'string' ? chunk.content : '';
      assert.equal(text, successorText('abc', 25));
    });

    test(`${mode}: withStructuredOutput returns an object of the schema`, async () => {
      const weather = Weather.parse(await chat(300).withStructuredOutput(Weather, { name: 'weather' }).invoke([new HumanMessage('abc')]));
      assert.equal(typeof weather.sunny, 'boolean');
    });

    test(`${mode}: bindTools, then the tool's result sent back, then a text answer`, async () => {
      const tools = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
      const asked = await chat(300).bindTools(tools, { tool_choice: 'any' }).invoke([new HumanMessage('abc')]);
      const call = asked.tool_calls?.[0];
      assert.equal(call?.name, 'get_weather');
      assert.equal(typeof call?.args.city, 'string');
      const answered = await chat(5)
        .bindTools(tools)
        .invoke([new HumanMessage('abc'), new AIMessage({ content: asked.content, tool_calls: asked.tool_calls ?? [] }), new ToolMessage({ tool_call_id: call?.id ?? '', content: '{"temperature":21}' })]);
      assert.equal(answered.tool_calls?.length ?? 0, 0);
      assert.equal(String(answered.content).length, 5);
    });

    test(`${mode}: a prompt over the context is a 400 context_length_exceeded`, async () => {
      // LangChain recognizes OpenAI's 400 and raises its own ContextOverflowError for it.
      await assert.rejects(chat(10).invoke([new HumanMessage('x'.repeat(CONTEXT + 10))]), (e: unknown) => ContextOverflowError.isInstance(e) && /^400 This model's maximum context length is 2048 tokens/.test(e.message));
    });
  }
});
