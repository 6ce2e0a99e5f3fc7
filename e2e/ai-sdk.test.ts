/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/openai`), unchanged, through both base URLs: its default
 * provider call (the Responses API, with earlier answers sent back as stored item references)
 * and `.chat()` (chat completions). Multi-turn with echoed replies, streaming, structured output
 * validated against its schema, a tool call round trip and a prompt over the context.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, Output, stepCountIs, streamText, tool, type LanguageModel, type ModelMessage } from 'ai';
import { z } from 'zod';
import { successorText } from '../main/models/test-model.js';
import { CONTEXT, KEY, MODEL, startClientsNetwork, type ClientsNetwork } from './clients/network.js';

const Weather = z.object({ city: z.string(), sunny: z.boolean() });

describe('the Vercel AI SDK, unchanged, in both modes', () => {
  let net: ClientsNetwork;
  before(async () => {
    net = await startClientsNetwork();
  });
  after(() => net.close());

  for (const mode of ['transport', 'sealed'] as const) {
    for (const call of ['default', 'chat'] as const) {
      const bodies: string[] = [];
      const model = (): LanguageModel => {
        // Records what the SDK sends, so the test can see which request shapes it used.
        const recording: typeof fetch = (input, init) => (bodies.push(typeof init?.body === 'string' ? init.body : ''), fetch(input, init));
        const provider = createOpenAI({ baseURL: net.bases.find((b) => b.mode === mode)!.baseURL, apiKey: KEY, fetch: recording });
        return call === 'default' ? provider(MODEL) : provider.chat(MODEL);
      };
      const name = `${mode}, ${call === 'default' ? 'default provider call (responses)' : '.chat()'}`;

      test(`${name}: multi-turn with echoed replies, and streaming`, async () => {
        const messages: ModelMessage[] = [{ role: 'user', content: 'abc' }];
        const first = await generateText({ model: model(), messages, maxOutputTokens: 5, temperature: 0, maxRetries: 0 });
        assert.equal(first.text, successorText('abc', 5));
        assert.equal(first.usage.outputTokens, 5);
        const second = await generateText({ model: model(), messages: [...messages, ...first.response.messages, { role: 'user', content: 'xyz' }], maxOutputTokens: 4, temperature: 0, maxRetries: 0 });
        assert.equal(second.text, successorText('xyz', 4));
        // The default call sends the earlier answer back by reference to the stored item.
        if (call === 'default') assert.match(bodies.at(-1) ?? '', /"type":"item_reference"/);
        const stream = streamText({ model: model(), prompt: 'abc', maxOutputTokens: 20, temperature: 0, maxRetries: 0, onError: () => undefined });
        let text = '';
        for await (const piece of stream.textStream) text += piece;
        assert.equal(text, successorText('abc', 20));
        assert.equal((await stream.usage).outputTokens, 20);
      });

      test(`${name}: structured output (Output.object) validated against its schema`, async () => {
        const result = await generateText({ model: model(), prompt: 'abc', output: Output.object({ schema: Weather }), maxOutputTokens: 300, temperature: 0, maxRetries: 0 });
        const weather = Weather.parse(result.output);
        assert.equal(typeof weather.city, 'string');
      });

      test(`${name}: a tool call round trip (the SDK runs the tool, then the model answers)`, async () => {
        const calls: unknown[] = [];
        const getWeather = tool({
          description: 'Current weather in a city',
          inputSchema: z.object({ city: z.string() }),
          execute: async (input) => {
            calls.push(input);
            return { temperature: 21 };
          },
        });
        const result = await generateText({
          model: model(),
          prompt: 'abc',
          tools: { get_weather: getWeather },
          stopWhen: stepCountIs(2),
          // The first step must call the tool; the second answers with its result.
          prepareStep: ({ stepNumber }) => ({ toolChoice: stepNumber === 0 ? 'required' : 'auto' }),
          maxOutputTokens: 300,
          temperature: 0,
          maxRetries: 0,
        });
        assert.equal(calls.length, 1);
        assert.equal(typeof (calls[0] as { city?: unknown }).city, 'string');
        assert.equal(result.steps.length, 2);
        assert.equal(result.steps[0]?.finishReason, 'tool-calls');
        assert.ok(result.text.length > 0, 'the second step answered in text');
      });

      test(`${name}: a prompt over the context is a 400 context_length_exceeded`, async () => {
        await assert.rejects(
          generateText({ model: model(), prompt: 'x'.repeat(CONTEXT + 10), maxRetries: 0 }),
          (e: unknown) => APICallError.isInstance(e) && e.statusCode === 400 && /context_length_exceeded|maximum context length/.test(e.responseBody ?? ''),
        );
      });
    }
  }
});
