/**
 * The official `openai` npm client, unchanged, through both base URLs — the coordinator
 * (transport) and the gateway (sealed) — against a real worker running llama.cpp on the test
 * model: multi-turn with echoed replies, streaming, the Responses API, legacy completions,
 * structured output checked against its schema, a tool call round trip, and a prompt over the
 * context refused with OpenAI's 400 before any work.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { successorText } from '../main/models/test-model.js';
import { CONTEXT, KEY, MODEL, startClientsNetwork, type ClientsNetwork } from './clients/network.js';
import { SealedJobError, SilkwormClient } from '../network/client/sdk.js';
import { metricValue } from './harness.js';

const Weather = z.object({ city: z.string(), sunny: z.boolean() });
const WeatherArgs = z.object({ city: z.string() });

describe('the openai client, unchanged, in both modes', () => {
  let net: ClientsNetwork;
  before(async () => {
    net = await startClientsNetwork();
  });
  after(() => net.close());
  const client = (mode: 'transport' | 'sealed') => new OpenAI({ baseURL: net.bases.find((b) => b.mode === mode)!.baseURL, apiKey: KEY, maxRetries: 0 });

  for (const mode of ['transport', 'sealed'] as const) {
    test(`${mode}: multi-turn with the server's own replies echoed back (as returned and as dumped)`, async () => {
      const openai = client(mode);
      const first = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 5, temperature: 0 });
      const reply = first.choices[0]!.message;
      assert.equal(reply.content, successorText('abc', 5));
      assert.equal(reply.refusal, null);
      const next = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }, reply, { role: 'user', content: 'xyz' }], max_tokens: 4, temperature: 0 });
      assert.equal(next.choices[0]?.message.content, successorText('xyz', 4));
      // What Python's model_dump() sends back: every optional field, null.
      const dumped = { ...reply, audio: null, function_call: null, tool_calls: null, annotations: null } as unknown as OpenAI.ChatCompletionMessageParam;
      const again = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }, dumped, { role: 'user', content: 'xyz' }], max_tokens: 4, temperature: 0 });
      assert.equal(again.choices[0]?.message.content, successorText('xyz', 4));
      const unknown = { ...reply, frobnicate: 1 } as unknown as OpenAI.ChatCompletionMessageParam;
      await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }, unknown], max_tokens: 4 }), (e: unknown) => e instanceof OpenAI.BadRequestError && /Unrecognized request argument supplied in 'messages\[1\]': frobnicate/.test(e.message));
    });

    test(`${mode}: chat streaming, and the Responses API with instructions, echoed output, stored turns and streaming`, async () => {
      const openai = client(mode);
      const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 30, temperature: 0, stream: true, stream_options: { include_usage: true } });
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        usage = chunk.usage ?? usage;
      }
      assert.equal(text, successorText('abc', 30));
      assert.equal(usage?.completion_tokens, 30);

      const first = await openai.responses.create({ model: MODEL, instructions: 'Be brief.', input: 'abc', max_output_tokens: 6, temperature: 0 });
      assert.equal(first.output_text, successorText('abc', 6));
      assert.equal(first.status, 'incomplete', 'cut by max_output_tokens');
      assert.ok(first.usage && first.usage.input_tokens > 0 && first.usage.output_tokens === 6);
      const echoed = await openai.responses.create({ model: MODEL, input: [...(first.output as OpenAI.Responses.ResponseInputItem[]), { role: 'user', content: 'xyz' }], max_output_tokens: 4, temperature: 0 });
      assert.equal(echoed.output_text, successorText('xyz', 4));
      const chained = await openai.responses.create({ model: MODEL, previous_response_id: first.id, input: 'xyz', max_output_tokens: 4, temperature: 0 });
      assert.equal(chained.output_text, successorText('xyz', 4));
      const events: string[] = [];
      let streamed = '';
      const live = openai.responses.stream({ model: MODEL, input: 'abc', max_output_tokens: 12, temperature: 0 });
      for await (const event of live) {
        events.push(event.type);
        if (event.type === 'response.output_text.delta') streamed += event.delta;
      }
      const final = await live.finalResponse();
      assert.equal(streamed, successorText('abc', 12));
      assert.equal(final.output_text, streamed);
      assert.deepEqual([events[0], events[1], events.at(-1)], ['response.created', 'response.in_progress', 'response.incomplete']);
      for (const type of ['response.output_item.added', 'response.content_part.added', 'response.output_text.done', 'response.output_item.done']) assert.ok(events.includes(type), type);
    });

    test(`${mode}: structured output is valid JSON of the schema (chat parse, responses parse, json_object)`, async () => {
      const openai = client(mode);
      const parsed = await openai.chat.completions.parse({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], response_format: zodResponseFormat(Weather, 'weather'), max_tokens: 300, temperature: 0 });
      const weather = Weather.parse(parsed.choices[0]?.message.parsed);
      assert.equal(typeof weather.city, 'string');
      const viaResponses = await openai.responses.parse({ model: MODEL, input: 'abc', text: { format: zodTextFormat(Weather, 'weather') }, max_output_tokens: 300, temperature: 0 });
      assert.deepEqual(Weather.parse(viaResponses.output_parsed), weather);
      // Greedy, with room to close the object: sampled at random, an answer can still be inside a
      // string when max_tokens cuts it (finish_reason "length"), which is not JSON.
      const object = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], response_format: { type: 'json_object' }, max_tokens: 200, temperature: 0 });
      assert.equal(object.choices[0]?.finish_reason, 'stop', `the object closed before max_tokens: ${object.choices[0]?.message.content ?? ''}`);
      const value: unknown = JSON.parse(object.choices[0]?.message.content ?? '');
      assert.equal(typeof value, 'object');
      const refused = openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { email: { type: 'string', pattern: '@' } } } } } });
      await assert.rejects(refused, (e: unknown) => e instanceof OpenAI.BadRequestError && /'pattern' is not supported/.test(e.message));
    });

    test(`${mode}: a tool call round trip (streamed and whole), chat and responses`, async () => {
      const openai = client(mode);
      const tools = [zodFunction({ name: 'get_weather', parameters: WeatherArgs, description: 'Current weather in a city' })];
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'abc' }];
      const call = await openai.chat.completions.create({ model: MODEL, messages, tools, tool_choice: 'required', max_tokens: 300, temperature: 0 });
      const choice = call.choices[0]!;
      assert.equal(choice.finish_reason, 'tool_calls');
      const toolCall = choice.message.tool_calls?.[0];
      assert.ok(toolCall?.type === 'function' && toolCall.function.name === 'get_weather');
      const args = WeatherArgs.parse(JSON.parse(toolCall.function.arguments));
      const stream = await openai.chat.completions.create({ model: MODEL, messages, tools, tool_choice: 'required', max_tokens: 300, temperature: 0, stream: true });
      let streamedArgs = '';
      let streamedName = '';
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
          streamedName += delta.function?.name ?? '';
          streamedArgs += delta.function?.arguments ?? '';
        }
      }
      assert.equal(streamedName, 'get_weather');
      assert.deepEqual(JSON.parse(streamedArgs), args);
      const answer = await openai.chat.completions.create({ model: MODEL, messages: [...messages, choice.message, { role: 'tool', tool_call_id: toolCall.id, content: JSON.stringify({ temperature: 21 }) }], tools, max_tokens: 5, temperature: 0 });
      assert.equal(answer.choices[0]?.finish_reason, 'length');
      assert.equal(answer.choices[0]?.message.content?.length, 5, 'the model answered in text after the tool result');

      const responsesTools: OpenAI.Responses.FunctionTool[] = [{ type: 'function', name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true }];
      const called = await openai.responses.create({ model: MODEL, input: 'abc', tools: responsesTools, tool_choice: 'required', max_output_tokens: 300, temperature: 0 });
      const item = called.output.find((o) => o.type === 'function_call');
      assert.ok(item?.type === 'function_call' && item.name === 'get_weather');
      assert.deepEqual(JSON.parse(item.arguments), args);
      const followed = await openai.responses.create({ model: MODEL, input: [{ role: 'user', content: 'abc' }, ...(called.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: item.call_id, output: '{"temperature":21}' }], tools: responsesTools, max_output_tokens: 5, temperature: 0 });
      assert.equal(followed.output_text.length, 5);
    });

    test(`${mode}: a prompt over the context is OpenAI's 400 context_length_exceeded, before any work`, async () => {
      const openai = client(mode);
      const started = net.worker.proc.count('job started');
      const over = (body: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>) => openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(CONTEXT + 10) }], ...body });
      await assert.rejects(over({}), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded' && /maximum context length is 2048 tokens/.test(e.message));
      // It fits alone, but not with the completion asked for.
      await assert.rejects(over({ messages: [{ role: 'user', content: 'x'.repeat(1000) }], max_tokens: 1100 }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
      await assert.rejects(openai.responses.create({ model: MODEL, input: 'x'.repeat(CONTEXT + 10) }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
      assert.equal(net.worker.proc.count('job started'), started, 'no worker started on them');
    });

    test(`${mode}: models.retrieve, legacy completions, penalties, and what cannot be honoured named in a 400`, async () => {
      const openai = client(mode);
      const model = await openai.models.retrieve(MODEL);
      assert.equal(model.id, MODEL);
      assert.ok(Array.isArray((model as unknown as { tiers: unknown }).tiers), 'tiers is an array in both modes');
      await assert.rejects(openai.models.retrieve('gpt-9'), (e: unknown) => e instanceof OpenAI.NotFoundError);
      const completion = await openai.completions.create({ model: MODEL, prompt: 'abc', max_tokens: 5, temperature: 0 });
      assert.equal(completion.choices[0]?.text, successorText('abc', 5));
      let streamed = '';
      for await (const chunk of await openai.completions.create({ model: MODEL, prompt: 'xyz', max_tokens: 7, temperature: 0, stream: true })) streamed += chunk.choices[0]?.text ?? '';
      assert.equal(streamed, successorText('xyz', 7));
      // A negative frequency penalty makes the sampler repeat itself: the seed fixes both runs.
      const sample = async (frequency_penalty?: number) => (await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 120, temperature: 1, seed: 42, ...(frequency_penalty ? { frequency_penalty } : {}) })).choices[0]?.message.content ?? '';
      assert.doesNotMatch(await sample(), /(.)\1{15}/);
      assert.match(await sample(-2), /(.)\1{15}/);
      await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], logprobs: true }), (e: unknown) => e instanceof OpenAI.BadRequestError && /logprobs/.test(e.message) && e.param === 'logprobs');
      await assert.rejects(
        openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }),
        (e: unknown) => e instanceof OpenAI.BadRequestError && /image content parts are not supported/.test(e.message),
      );
      await assert.rejects(openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }, { role: 'tool', tool_call_id: 'nope', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.BadRequestError && /'nope' is not one/.test(e.message));
    });
  }

  test('a job with tools bills the same prompt sealed as in transport: the envelope declares what the template adds', async () => {
    const tools = [zodFunction({ name: 'get_weather', parameters: WeatherArgs, description: 'Current weather in a city' })];
    const ask = (mode: 'transport' | 'sealed') => client(mode).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], tools, max_tokens: 4, temperature: 0 });
    const [transport, sealed] = [await ask('transport'), await ask('sealed')];
    assert.ok(transport.usage && sealed.usage);
    const bodyBytes = JSON.stringify(tools).length;
    assert.ok(transport.usage.prompt_tokens > bodyBytes + 100, `the template documents the tool at length (${transport.usage.prompt_tokens} tokens for ${bodyBytes} bytes of tools)`);
    assert.equal(sealed.usage.prompt_tokens, transport.usage.prompt_tokens, 'the worker is paid for the whole prompt it evaluated');
    assert.equal(await metricValue(net.coordinator.url, 'silkworm_disputes_total', 'kind="prompt_over_bound"'), 0, 'and its claim is not disputed');
  });

  test('a sealed client that does not declare a prompt its template makes longer than its bytes is refused by the worker, before any work', async () => {
    const sdk = new SilkwormClient({ coordinatorUrl: net.coordinator.url, apiKey: KEY, maxAttempts: 1 });
    const started = net.worker.proc.count('job started');
    const undeclared = async () => {
      for await (const event of sdk.chat({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], params: { temperature: 0, tools: [{ name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }] }, maxTokens: 4 })) void event;
    };
    await assert.rejects(undeclared(), (e: unknown) => e instanceof SealedJobError && e.status === 400 && e.code === 'invalid_request' && /Declare the prompt's token count/.test(e.message));
    assert.equal(net.worker.proc.count('job started'), started + 1, 'the worker opened it, counted it, and did no more');
    assert.equal(await metricValue(net.coordinator.url, 'silkworm_disputes_total', 'kind="prompt_over_bound"'), 0);
    let text = '';
    for await (const event of sdk.chat({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], params: { temperature: 0 }, maxTokens: 4 })) if (event.type === 'text') text += event.text;
    assert.equal(text, successorText('abc', 4), 'without tools the byte bound covers the prompt, declared or not');
  });
});
