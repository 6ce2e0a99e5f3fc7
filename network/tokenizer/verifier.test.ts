/**
 * The verifier against the real engine on generated models: an honest answer passes however the
 * job sampled it (greedy, temperature, OpenAI's penalties, a JSON grammar), and an answer from
 * another model, or text the model did not write, fails. Scoring the same honest answers without
 * the job's penalties or grammar finds "mismatches": that is why they must be applied.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaEngine } from '../../main/engine/llama-engine.js';
import { successorText, writeTestModel } from '../../main/models/test-model.js';
import type { ChatMessage } from '../protocol/chat.js';
import type { JobParams } from '../protocol/job-schemas.js';
import { TokenCounter } from './token-counter.js';
import { ChatMLChatWrapper, DeepSeekChatWrapper, HarmonyChatWrapper, Llama3_1ChatWrapper, LlamaChat, QwenChatWrapper, resolveChatWrapper, type ChatWrapper, type LlamaContext, type LlamaContextSequence, type LlamaModel } from 'node-llama-cpp';
import { functionsOf, promptTokens, toChatHistory } from './chat-history.js';
import { cpuLlama } from './token-counter.js';
import { allowedAt, failsCheck, hiddenSegments, samplerChoices, samplingOf, Verifier, type VerifyScore } from './verifier.js';

const MESSAGES: ChatMessage[] = [{ role: 'user', content: 'abc' }];
const SCHEMA = { type: 'object', properties: { city: { type: 'string' }, sunny: { type: 'boolean' } }, required: ['city', 'sunny'] };
const WEATHER = { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
/** A function without parameters. */
const CLOCK = { name: 'now', description: 'The time' };

/** What a suite checks with: the engine of the catalog's model, one of another model, and the verifier of the catalog's file. */
interface ModelsUnderTest {
  /** The catalog's model file. */
  path: string;
  honest: LlamaEngine;
  other: LlamaEngine;
  verifier: Verifier;
}

/**
 * Loads the models of a suite before its tests and frees them after: the test model (or its
 * thinking variant), the same with the successor two steps ahead (it writes "egik…" where the
 * catalog's model writes "defg…"), and a verifier of the first file.
 */
function loadModels(options: { thinking?: boolean; engineContext: number; verifierContext?: number }, loaded: (models: ModelsUnderTest) => void): void {
  let dir = '';
  let models: ModelsUnderTest | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-verifier-'));
    const load = async (file: string, step: number) => {
      const modelPath = join(dir, file);
      await writeTestModel(modelPath, { step, ...(options.thinking ? { thinking: true } : {}) });
      return (await LlamaEngine.load({ modelPath, threads: 1, contextSize: options.engineContext, sequences: 1, gpu: 'cpu', warmupTokens: 0, sandbox: false }, () => {})).engine;
    };
    models = { path: join(dir, 'model.gguf'), honest: await load('model.gguf', 1), other: await load('other.gguf', 2), verifier: await Verifier.open(join(dir, 'model.gguf'), { threads: 1, ...(options.verifierContext ? { contextSize: options.verifierContext } : {}) }) };
    loaded(models);
  });
  after(async () => {
    await models?.verifier.dispose();
    await models?.honest.dispose();
    await models?.other.dispose();
    await rm(dir, { recursive: true, force: true });
  });
}

describe('the verifier re-scores answers as the job sampled them', () => {
  let honest: LlamaEngine;
  let other: LlamaEngine;
  let verifier: Verifier;
  let path = '';
  loadModels({ engineContext: 1024 }, (models) => ({ path, honest, other, verifier } = models));

  const answer = async (engine: LlamaEngine, params: JobParams) => {
    let text = '';
    await engine.generate(MESSAGES, params, undefined, new AbortController().signal, (piece) => {
      text += piece;
    });
    return text;
  };
  const score = async (text: string, params: JobParams): Promise<VerifyScore> => {
    const result = await verifier.score({ messages: MESSAGES, before: '', text, params });
    assert.ok(result, 'scored');
    return result;
  };

  test('plain jobs: the honest answer passes, the other model’s greedy answer fails everywhere', async () => {
    const greedy: JobParams = { maxTokens: 40, temperature: 0 };
    assert.deepEqual(await score(await answer(honest, greedy), greedy), { positions: 40, mismatches: 0, promptTokens: 11 });
    assert.deepEqual(await score(await answer(other, greedy), greedy), { positions: 40, mismatches: 40, promptTokens: 11 });
    const sampled: JobParams = { maxTokens: 40, temperature: 1, seed: 7 };
    assert.equal((await score(await answer(honest, sampled), sampled)).mismatches, 0);
  });

  test('thoughts streamed for a model that writes none were invented, every token of them, however honest the text', async () => {
    const greedy: JobParams = { maxTokens: 40, temperature: 0 };
    const text = await answer(honest, greedy);
    const padded = await verifier.score({ messages: MESSAGES, before: '', text, reasoning: 'Let me think.', params: greedy });
    assert.ok(padded && failsCheck(padded), `failed: ${JSON.stringify(padded)}`);
    assert.equal(padded.mismatches, padded.positions);
    // A continuation's thought (only a dishonest worker could have sent one) is not shown to such a model: its text alone is scored.
    const continued = await verifier.score({ messages: MESSAGES, before: text.slice(0, 10), beforeReasoning: 'Let me think.', text: text.slice(10), params: greedy });
    assert.deepEqual(continued && { positions: continued.positions, mismatches: continued.mismatches }, { positions: 30, mismatches: 0 });
  });

  test('penalties: an honest penalized answer passes only when scored with the penalties', async () => {
    const params: JobParams = { maxTokens: 200, temperature: 1, seed: 3, frequencyPenalty: 2, presencePenalty: 2 };
    const text = await answer(honest, params);
    assert.deepEqual(await score(text, params), { positions: 200, mismatches: 0, promptTokens: 11 });
    const { frequencyPenalty: _f, presencePenalty: _p, ...unpenalized } = params;
    assert.ok((await score(text, unpenalized)).mismatches > 0, 'without the penalties the honest answer looks wrong');
    const greedy: JobParams = { maxTokens: 200, temperature: 0, frequencyPenalty: 2, presencePenalty: 2 };
    assert.ok(failsCheck(await score(await answer(other, greedy), greedy)), 'the other model fails');
  });

  test('a paced (Polite) worker’s penalized answer passes: its penalties cover the whole answer across its slices', async () => {
    // Negative penalties loop on what was written, so a slice that forgot the earlier ones shows.
    const params: JobParams = { maxTokens: 200, temperature: 1, seed: 1, frequencyPenalty: -1, presencePenalty: -0.5 };
    let text = '';
    await honest.generate(MESSAGES, params, undefined, new AbortController().signal, (piece) => void (text += piece), { maxTokensPerSecond: 400 }); // slices of 100 tokens
    assert.deepEqual(await score(text, params), { positions: 200, mismatches: 0, promptTokens: 11 });
  });

  test('a JSON schema: the honest answer passes under the grammar and would fail without it; the other model’s fails', async () => {
    for (const temperature of [0, 1]) {
      const params: JobParams = { maxTokens: 300, temperature, seed: 11, responseFormat: { type: 'json_schema', schema: SCHEMA } };
      const text = await answer(honest, params);
      assert.deepEqual(Object.keys(JSON.parse(text) as object), ['city', 'sunny']);
      const scored = await score(text, params);
      assert.equal(scored.mismatches, 0, `temperature ${temperature}`);
      const { responseFormat: _r, ...free } = params;
      assert.ok(failsCheck(await score(text, free)), `temperature ${temperature}: scored without the grammar, the honest answer would fail`);
    }
    const greedy: JobParams = { maxTokens: 300, temperature: 0, responseFormat: { type: 'json_schema', schema: SCHEMA } };
    const forged = await answer(other, greedy);
    assert.deepEqual(Object.keys(JSON.parse(forged) as object), ['city', 'sunny'], 'the other model wrote valid JSON of the schema too');
    assert.ok(failsCheck(await score(forged, greedy)));
  });

  test('JSON the model did not write fails, and so does text outside the grammar, from where it leaves it', async () => {
    const params: JobParams = { maxTokens: 300, temperature: 0, responseFormat: { type: 'json_schema', schema: SCHEMA } };
    const invented = await score('{"city":"Paris","sunny":true}', params);
    assert.ok(failsCheck(invented), JSON.stringify(invented));
    assert.equal(invented.offGrammarAt, undefined, 'it is valid JSON of the schema');
    const offFormat = await score('{"town":"defghijk"}', params);
    assert.deepEqual(offFormat, { positions: 19, mismatches: 17, offGrammarAt: 2, promptTokens: 11 }, '"t" is not a key of the schema: it and all after it are mismatches');
    assert.ok(failsCheck(await score('Sure! Here it is.', { maxTokens: 30, temperature: 0, responseFormat: { type: 'json_object' } })));
  });

  test('a job that offers tools, answered in text: scored after the prompt the engine rendered, tools included, and a call after the text too', async () => {
    const counter = await TokenCounter.open(path);
    try {
      for (const temperature of [0, 1]) {
        const params: JobParams = { maxTokens: 40, temperature, seed: 2, tools: [WEATHER] };
        const honestScore = await score(await answer(honest, params), params);
        assert.equal(honestScore.mismatches, 0, `temperature ${temperature}`);
        assert.equal(honestScore.promptTokens, counter.countPrompt(MESSAGES, params), 'the prompt as the engine renders it');
        assert.ok(honestScore.promptTokens > counter.countPrompt(MESSAGES) + 100, 'the tools are in it');
      }
      const greedy: JobParams = { maxTokens: 40, temperature: 0, tools: [WEATHER] };
      assert.ok(failsCheck(await score(await answer(other, greedy), greedy)), 'the other model fails');
      // Honest text, then a call with invented arguments: the arguments are scored after the text.
      const withCall = await verifier.score({ messages: MESSAGES, before: '', text: successorText('abc', 10), toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }], params: greedy });
      assert.deepEqual(withCall && { positions: withCall.positions, mismatches: withCall.mismatches }, { positions: 10 + 16, mismatches: 6 }, '"Paris" and its closing quote: the model would have written "#$%…"');
    } finally {
      await counter.dispose();
    }
    assert.equal(verifier.canScore({ responseFormat: { type: 'json_object' } }), true, 'this node-llama-cpp lets the verifier step a grammar');
    assert.equal(verifier.canScore({}), true);
    assert.deepEqual(verifier.hides, [], 'the test model answers without thoughts');
  });

  test('an answer that is a call: its arguments are scored under the function’s grammar, after the opening the engine evaluated', async () => {
    assert.equal(verifier.scoresCalls, true, 'the verifier rebuilt its own forced call token for token');
    const calls = async (engine: LlamaEngine, params: JobParams) => {
      let text = '';
      const assembled: { name?: string; arguments: string }[] = [];
      await engine.generate(MESSAGES, params, undefined, new AbortController().signal, (piece, _n, deltas) => {
        text += piece;
        for (const delta of deltas ?? []) {
          const call = (assembled[delta.index] ??= { arguments: '' });
          call.name ??= delta.name;
          call.arguments += delta.arguments ?? '';
        }
      });
      assert.equal(text, '', 'a forced call writes no text');
      return assembled;
    };
    const scoreCalls = async (toolCalls: { name?: string; arguments: string }[], params: JobParams) => {
      const result = await verifier.score({ messages: MESSAGES, before: '', text: '', toolCalls, params });
      assert.ok(result, 'scored');
      return result;
    };
    // 'required' (this model calls get_weather rather than now()), or get_weather named.
    for (const forcing of [{ tools: [WEATHER, CLOCK], toolChoice: 'required' }, { tools: [WEATHER, CLOCK], toolChoice: { name: 'get_weather' } }] as const) {
      for (const temperature of [0, 1]) {
        const params: JobParams = { maxTokens: 40, temperature, seed: 5, ...forcing, tools: [...forcing.tools] };
        assert.equal(verifier.canScore(params), true);
        const honestCalls = await calls(honest, params);
        if (forcing.toolChoice !== 'required' || temperature === 0) assert.equal(honestCalls[0]?.name, 'get_weather', 'named, or the greedy choice');
        const scored = await scoreCalls(honestCalls, params);
        assert.equal(scored.mismatches, 0, `${JSON.stringify(forcing.toolChoice)}, temperature ${temperature}: ${JSON.stringify(honestCalls)}`);
        // Every token of the arguments (one per character on this model), and the choice of function where there was one.
        assert.equal(scored.positions, (honestCalls[0]?.name === 'get_weather' ? (honestCalls[0]?.arguments.length ?? 0) : 0) + (forcing.toolChoice === 'required' ? 1 : 0));
      }
    }
    const greedy: JobParams = { maxTokens: 40, temperature: 0, tools: [WEATHER, CLOCK], toolChoice: { name: 'get_weather' } };
    const invented = await scoreCalls([{ name: 'get_weather', arguments: '{"city":"Paris, France"}' }], greedy);
    assert.ok(failsCheck(invented), `arguments the model did not write: ${JSON.stringify(invented)}`);
    assert.equal(invented.offGrammarAt, undefined, 'they are valid for the schema');
    const offSchema = await scoreCalls([{ name: 'get_weather', arguments: '{"town":"defghijk"}' }], greedy);
    assert.equal(offSchema.offGrammarAt, 2, '"t" is not a parameter of get_weather: it and all after it are mismatches');
    assert.ok(failsCheck(await scoreCalls(await calls(other, greedy), greedy)), 'the other model’s call fails');
    // The same honest call in a job that let the model choose to call: the same opening follows the prompt.
    const auto: JobParams = { maxTokens: 40, temperature: 0, tools: [WEATHER, CLOCK] };
    assert.equal((await scoreCalls(await calls(honest, greedy), auto)).mismatches, 0);
    // A call to a function the model would not have called fails outright, however short: a worker steering the client's agent.
    const required: JobParams = { ...greedy, toolChoice: 'required' };
    const steered = await scoreCalls([{ name: 'now', arguments: '{}' }], required);
    assert.deepEqual(steered, { positions: 1, mismatches: 1, promptTokens: steered.promptTokens, wrongCall: 0 });
    assert.ok(failsCheck(steered));
    const steeredWithArguments = await scoreCalls([{ name: 'now', arguments: '{}' }, ...(await calls(honest, greedy))], required);
    assert.equal(steeredWithArguments.wrongCall, 0, 'honest arguments after it do not make it right');
    // Not scored: a function the job did not offer; one without parameters where the job named it (nothing was the model's choice).
    assert.equal(await verifier.score({ messages: MESSAGES, before: '', text: '', toolCalls: [{ name: 'get_time', arguments: '{}' }], params: greedy }), undefined);
    assert.equal(await verifier.score({ messages: MESSAGES, before: '', text: '', toolCalls: [{ name: 'now', arguments: '{}' }], params: { ...greedy, toolChoice: { name: 'now' } } }), undefined);
    const penalized: JobParams = { ...greedy, frequencyPenalty: 1 };
    assert.equal(verifier.canScore(penalized), false);
    assert.equal(await verifier.score({ messages: MESSAGES, before: '', text: '', toolCalls: await calls(honest, greedy), params: penalized }), undefined);
  });
});

test('which models write apart from their text: thoughts (Qwen 3, DeepSeek R1), and comments too (gpt-oss)', () => {
  assert.deepEqual(hiddenSegments(new QwenChatWrapper()), ['thought']);
  assert.deepEqual(hiddenSegments(new DeepSeekChatWrapper()), ['thought']);
  assert.deepEqual(hiddenSegments(new HarmonyChatWrapper()), ['thought', 'comment']);
  assert.deepEqual(hiddenSegments(new Llama3_1ChatWrapper()), []);
  assert.deepEqual(hiddenSegments(new ChatMLChatWrapper()), []);
});

describe('a model that chooses to call after some text: the call is scored after that text', () => {
  // The test model never writes "||call: " of its own, but it writes "defgh…" after "abc": a chat
  // wrapper whose call prefix is "fgh" makes it write the text "de", then open a call, through
  // node-llama-cpp's own detection, as a real model opens one.
  let dir = '';
  let model: LlamaModel;
  let context: LlamaContext;
  let sequence: LlamaContextSequence;
  let verifier: Verifier;
  let wrapper: ChatWrapper;
  /** The same, writing calls in a section as Llama 3.1 or Qwen do: several in a row, "B" between two. */
  let parallel: { wrapper: ChatWrapper; verifier: Verifier };
  const withFunctions = (own: ChatWrapper, functions: ChatWrapper['settings']['functions']) => {
    const custom = Object.create(own) as ChatWrapper;
    Object.defineProperty(custom, 'settings', { value: { ...own.settings, functions } });
    return custom;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-verifier-calls-'));
    const path = join(dir, 'model.gguf');
    await writeTestModel(path);
    model = await (await cpuLlama()).loadModel({ modelPath: path, gpuLayers: 0 });
    context = await model.createContext({ contextSize: 1024, threads: 1 });
    sequence = context.getSequence();
    const own = resolveChatWrapper(model);
    const functions = { ...own.settings.functions, call: { ...own.settings.functions.call, prefix: 'fgh', prefixAlternateMatches: [] } };
    wrapper = withFunctions(own, functions);
    verifier = await Verifier.open(path, { threads: 1, contextSize: 1024, chatWrapper: wrapper });
    const sections = withFunctions(own, { ...functions, parallelism: { call: { sectionPrefix: '', betweenCalls: 'B', sectionSuffix: 'END' } } });
    parallel = { wrapper: sections, verifier: await Verifier.open(path, { threads: 1, contextSize: 1024, chatWrapper: sections }) };
  });
  after(async () => {
    await verifier.dispose();
    await parallel.verifier.dispose();
    await context.dispose();
    await model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('honest text and arguments pass; invented arguments after honest text fail, and invented text before an honest call', async () => {
    assert.equal(verifier.scoresCalls, true, 'its forced call, with this prefix, was rebuilt token for token');
    const params: JobParams = { maxTokens: 30, temperature: 0, tools: [WEATHER] };
    await sequence.clearHistory();
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: wrapper });
    let args = '';
    const result = await chat.generateResponse(toChatHistory(MESSAGES), { maxTokens: params.maxTokens, temperature: 0, functions: functionsOf(params)!, documentFunctionParams: true, onFunctionCallParamsChunk: (chunk) => void (args += chunk.paramsChunk) });
    chat.dispose({ disposeSequence: false });
    assert.equal(result.response, 'de', 'the text before the call');
    assert.ok(args.startsWith('{"city":"'), args);
    // The layout the verifier rebuilds: the turn rendered with its text, then the call's opening, then the arguments.
    const opening = [...promptTokens(model, wrapper, MESSAGES, 'de', params), ...model.tokenize('fghget_weather(', false)];
    assert.deepEqual(sequence.contextTokens.slice(0, opening.length + args.length - 1), [...opening, ...model.tokenize(args, false)].slice(0, -1), 'what LlamaChat evaluated (the last token sampled is not evaluated yet)');
    const call = { name: 'get_weather', arguments: args };
    const honest = await verifier.score({ messages: MESSAGES, before: '', text: 'de', toolCalls: [call], params });
    assert.deepEqual(honest && { positions: honest.positions, mismatches: honest.mismatches }, { positions: 2 + args.length, mismatches: 0 }, 'the text, then every token of the arguments');
    const inventedArgs = await verifier.score({ messages: MESSAGES, before: '', text: 'de', toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris, France"}' }], params });
    assert.ok(inventedArgs && failsCheck(inventedArgs), `honest text does not shield invented arguments: ${JSON.stringify(inventedArgs)}`);
    const inventedText = await verifier.score({ messages: MESSAGES, before: '', text: 'Sure', toolCalls: [call], params });
    assert.ok(inventedText && failsCheck(inventedText), JSON.stringify(inventedText));
  });

  test('several calls in a row: each is scored after the ones before it, so a padded or invented later call fails', async () => {
    assert.equal(parallel.verifier.scoresCalls, true);
    // A word of at most 6 characters: each call closes, and the model goes on to the next.
    const say = { name: 'say', parameters: { type: 'object', properties: { word: { type: 'string', maxLength: 6 } }, required: ['word'] } };
    const params: JobParams = { maxTokens: 80, temperature: 0, tools: [say] };
    await sequence.clearHistory();
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: parallel.wrapper });
    const args: string[] = [];
    const result = await chat.generateResponse(toChatHistory(MESSAGES), { maxTokens: params.maxTokens, temperature: 0, functions: functionsOf(params)!, documentFunctionParams: true, onFunctionCallParamsChunk: (chunk) => void (args[chunk.callIndex] = (args[chunk.callIndex] ?? '') + chunk.paramsChunk) });
    chat.dispose({ disposeSequence: false });
    const calls = args.map((a) => ({ name: 'say', arguments: a.trimEnd() }));
    assert.equal(result.response, 'de');
    assert.equal(calls.length, 3, 'two whole calls, and a third cut by max_tokens');
    assert.equal(calls[0]?.arguments, '{"word":"#$%&\'("}');
    // What LlamaChat evaluated before the third call's arguments: the calls before it, "B" between them only.
    const kept = calls.slice(0, 2).map((c) => `fghsay(${c.arguments})`).join('B');
    const opening = [...promptTokens(model, parallel.wrapper, MESSAGES, 'de', params), ...model.tokenize(`${kept}fghsay(`, false)];
    assert.deepEqual(sequence.contextTokens.slice(0, opening.length), opening);
    const score = (toolCalls: { name: string; arguments: string }[]) => parallel.verifier.score({ messages: MESSAGES, before: '', text: 'de', toolCalls, params });
    const evaluated = parallel.verifier.tokensEvaluated;
    const honest = await score(calls);
    assert.deepEqual(honest && { positions: honest.positions, mismatches: honest.mismatches }, { positions: 2 + calls.reduce((n, c) => n + c.arguments.length, 0), mismatches: 0 }, 'the text and every call');
    // Four passes (the text, then each call), the prompt evaluated once: each pass keeps what it shares with the one before.
    const spent = parallel.verifier.tokensEvaluated - evaluated;
    assert.ok(spent < opening.length + 60, `${spent} tokens evaluated for the last call's context of ${opening.length} (each pass from the start: about ${4 * opening.length})`);
    const invented = await score([calls[0]!, { name: 'say', arguments: '{"word":"Paris!"}' }]);
    assert.ok(invented && failsCheck(invented), `an invented second call: ${JSON.stringify(invented)}`);
    const padded = await score([...calls.slice(0, 2), { name: 'say', arguments: '{"word":"#$%&\'("}' }, { name: 'say', arguments: '{"word":"Paris!"}' }]);
    assert.ok(padded && failsCheck(padded), `a call added after honest ones: ${JSON.stringify(padded)}`);
  });
});

describe('a model that thinks before it answers is re-scored with its thoughts, once their layout is confirmed', () => {
  let honest: LlamaEngine;
  let other: LlamaEngine;
  let verifier: Verifier;
  loadModels({ thinking: true, engineContext: 512, verifierContext: 512 }, (models) => ({ honest, other, verifier } = models));

  const answer = async (engine: LlamaEngine, params: JobParams) => {
    const out = { text: '', reasoning: '' };
    await engine.generate(MESSAGES, params, undefined, new AbortController().signal, (piece, _n, _calls, reasoning) => {
      out.text += piece;
      out.reasoning += reasoning ?? '';
    });
    return out;
  };
  const score = (out: { text: string; reasoning: string }, params: JobParams) => verifier.score({ messages: MESSAGES, before: '', ...out, params });

  test('the layout is confirmed at load, for plain jobs only', () => {
    assert.deepEqual(verifier.hides, ['thought']);
    assert.equal(verifier.scoresThoughts, true, 'the verifier rebuilt its own greedy answer token for token');
    assert.equal(verifier.canScore({}), true);
    assert.equal(verifier.canScore({ frequencyPenalty: 1 }), false);
    assert.equal(verifier.canScore({ responseFormat: { type: 'json_object' } }), false);
    assert.equal(verifier.canScore({ tools: [{ name: 'f' }] }), false);
    assert.equal(verifier.scoresCalls, false, 'calls of a thinking model are not re-scored');
    assert.equal(verifier.canScore({ tools: [{ name: 'f' }], toolChoice: 'required' }), false);
  });

  test('honest thoughts and answers pass, greedy or sampled; invented thoughts and another model fail', async () => {
    const greedy: JobParams = { maxTokens: 40, temperature: 0 };
    const honestGreedy = await answer(honest, greedy);
    assert.equal(honestGreedy.reasoning, '!"');
    const scored = await score(honestGreedy, greedy);
    assert.ok(scored);
    assert.deepEqual({ positions: scored.positions, mismatches: scored.mismatches }, { positions: 40, mismatches: 0 }, 'the thought, its end marker and the answer: every generated token');
    for (const seed of [1, 2, 3]) {
      const sampledParams: JobParams = { maxTokens: 60, temperature: 1, seed };
      const sampled = await score(await answer(honest, sampledParams), sampledParams);
      assert.ok(sampled && !failsCheck(sampled), `seed ${seed}: ${JSON.stringify(sampled)}`);
    }
    const padded = await score({ ...honestGreedy, reasoning: `${honestGreedy.reasoning}${'Let me think about this carefully. '.repeat(3)}` }, greedy);
    assert.ok(padded && failsCheck(padded), `thoughts the model did not write fail: ${JSON.stringify(padded)}`);
    const cheaper = await answer(other, greedy);
    const wrong = await score(cheaper, greedy);
    assert.ok(wrong && failsCheck(wrong), `another model's thoughts and answer fail: ${JSON.stringify(wrong)}`);
    assert.equal(await score({ text: '', reasoning: '' }, greedy), undefined, 'nothing to score');
  });
});

describe('allowedAt: the sampler’s set at one position', () => {
  // Tokens 1..5 with falling probabilities at temperature 1.
  const candidates = [[1, 0.5], [2, 0.2], [3, 0.15], [4, 0.1], [5, 0.05]] as const;
  const sampled = { greedy: false, topK: 40, topP: 0.8 };
  const greedy = { greedy: true, topK: 40, topP: 1 };

  test('samplerChoices lists exactly the candidates allowedAt says yes to, with a grammar or without', () => {
    const evens = (t: number) => t % 2 === 0;
    for (const sampling of [sampled, greedy, { greedy: false, topK: 2, topP: 1 }])
      for (const valid of [undefined, evens]) {
        const choices = samplerChoices(candidates, sampling, valid);
        assert.deepEqual(candidates.map(([t]) => t).filter((t) => allowedAt(candidates, t, sampling, valid) === true), [...choices].sort(), `${JSON.stringify(sampling)}, ${valid ? 'even tokens only' : 'no grammar'}`);
      }
    assert.deepEqual(samplerChoices(candidates, greedy, evens), [2], 'greedy under a grammar: the grammar’s top');
  });

  test('without a grammar: top-p for sampled jobs, the top (near-ties allowed) for greedy ones', () => {
    assert.equal(allowedAt(candidates, 3, sampled), true, '0.7 before it < 0.8');
    assert.equal(allowedAt(candidates, 4, sampled), false, '0.85 before it');
    assert.equal(allowedAt(candidates, 9, sampled), false, 'not among the candidates');
    assert.equal(allowedAt(candidates, 1, greedy), true);
    assert.equal(allowedAt(candidates, 2, greedy), false);
    assert.equal(allowedAt([[1, 0.5], [2, 0.46]], 2, greedy), true, 'a near-tie');
    assert.equal(allowedAt(candidates, 2, { ...sampled, topK: 1 }), false, 'outside top-k');
  });

  test('with a grammar: its choices are ranked among themselves; what it forbids never passes', () => {
    const onlyEven = (t: number) => t % 2 === 0;
    assert.equal(allowedAt(candidates, 1, greedy, onlyEven), false, 'the grammar forbids it, however likely');
    assert.equal(allowedAt(candidates, 2, greedy, onlyEven), true, 'the top of what the grammar allows');
    assert.equal(allowedAt(candidates, 4, greedy, onlyEven), false);
    assert.equal(allowedAt(candidates, 4, sampled, onlyEven), true, 'among 2 and 4, 2 holds 0.67 < 0.8');
    assert.equal(allowedAt(candidates, 8, sampled, onlyEven), undefined, 'allowed, unseen, and fewer than top-k choices seen: cannot tell');
    assert.equal(allowedAt(candidates, 8, greedy, onlyEven), false, 'greedy would have taken 2');
    assert.equal(allowedAt(candidates, 8, greedy, (t) => t === 8), undefined, 'no choice of the grammar was among the candidates');
    assert.equal(allowedAt(candidates, 8, { ...sampled, topK: 2 }, onlyEven), false, 'two choices seen fill top-k');
  });

  test('the job’s top-p gets a little slack for rounding, never past 1', () => {
    assert.equal(samplingOf({ temperature: 0.7, topP: 0.5 }).topP, 0.52);
    assert.equal(samplingOf({ temperature: 0.7, topP: 1 }).topP, 1);
    assert.equal(samplingOf({ temperature: 0 }).greedy, true);
  });
});
