/**
 * Spot verification of a worker's answer: one teacher-forced pass of the same model over
 * prompt + answer (node-llama-cpp's controlledEvaluate scores every position in one batch), in
 * the spirit of TOPLOC and proof of sampling. Each returned token must be what the job's sampler
 * could have produced there: the most likely token for a greedy job (near-ties allowed, since
 * GPUs and CPUs round differently), a token inside the top-k / top-p set otherwise. A worker
 * serving another model, or inventing text, fails nearly every position.
 *
 * The job's sampling is reproduced as the engine ran it (main/engine/job-options.ts): OpenAI's
 * presence and frequency penalties over the answer so far, and a JSON grammar, walked along the
 * answer, which narrows each position to the tokens it allows (grammar-walk.ts). A job that offers
 * tools is scored after its prompt with the tools rendered, as the engine renders it: the text of
 * the answer, then each call's arguments, after that text, the calls before it and the call's
 * opening as node-llama-cpp lays them out (the call prefix, the function's name, the params
 * prefix), under the grammar of the function's parameters, as the engine sampled them. That
 * layout is not assumed either: the verifier makes one forced call itself when it loads a model
 * (`calibrateCalls`) and scores calls only if its context then holds exactly the rebuilt tokens.
 * Where the job offers several functions, the name called is checked too: a name the sampler
 * could not have reached fails the check outright (`reachable`, `wrongCall`).
 *
 * Models that think before they answer (a chat wrapper with thought segments: Qwen 3, DeepSeek
 * R1…) stream their thoughts apart from the answer (`reasoning`), so the coordinator sees all the
 * model wrote but the markers around the thought, which it puts back from the chat wrapper's
 * segment settings (`thoughtLayout`). Whether it puts them back exactly as the engine evaluates
 * them is not assumed: when the verifier loads such a model it generates one short answer greedily
 * itself and checks that the tokens its context evaluated are the ones it rebuilds from the
 * thought and the text (`calibrate`). Only then are the model's plain jobs (no penalties, grammar
 * or tools) re-scored, thoughts included; otherwise none of its answers are, since scoring them
 * out of place would fail honest workers. Models with comment segments (gpt-oss) are never re-scored.
 *
 * Runs on the coordinator with the catalog's own file (pinned by SHA-256), on the CPU.
 */
import type { LlamaContext, LlamaContextSequence, LlamaGrammar, LlamaModel, Token, ChatWrapper, Llama } from 'node-llama-cpp';
import { jsonDumps, LlamaChat, LlamaText, resolveChatWrapper } from 'node-llama-cpp';
import type { ChatMessage } from '../protocol/chat.js';
import { isConstrained, type JobParams } from '../protocol/job-schemas.js';
import type { GrammarSchema } from '../protocol/json-schema.js';
import { forcesCall, functionsOf, promptTokens, renderTurn, toChatHistory, wrapperFor } from './chat-history.js';
import { cpuLlama } from './token-counter.js';
import { GrammarCache } from './grammars.js';
import { GrammarWalk } from './grammar-walk.js';

/** node-llama-cpp's sampler defaults when a job does not set them (LlamaChat). */
const DEFAULT_TOP_K = 40;
const DEFAULT_TOP_P = 0.95;
/** A greedy token within this ratio of the top probability counts as the top (hardware rounding). */
const NEAR_TIE = 0.9;
/** Slack on top-p, for the same reason. */
const TOP_P_SLACK = 0.02;
/** Candidates scored at each position of a grammar job, among which the grammar's choices are looked for. */
const GRAMMAR_CANDIDATES = 256;
/** Most tokens the calibration of a thinking model may generate to see a whole thought and the answer's start. */
const CALIBRATION_TOKENS = 384;
/** The calibration's chat: short, so that a thinking model's thought ends soon. */
const CALIBRATION_CHAT: readonly ChatMessage[] = [{ role: 'user', content: 'Reply with one word: hi' }];
/** The calibration's forced call: parameters a grammar closes within a few tokens, whatever the model. */
const CALIBRATION_CALL: Pick<JobParams, 'tools' | 'toolChoice'> = {
  tools: [{ name: 'reply', description: 'Reply with one word', parameters: { type: 'object', properties: { word: { enum: ['hi', 'hello'] } }, required: ['word'] } }],
  toolChoice: 'required',
};
/** Most tokens the call calibration may generate. */
const CALIBRATION_CALL_TOKENS = 64;

/** What one check found. */
export interface VerifyScore {
  /** Answer tokens scored. */
  positions: number;
  /** Positions where the returned token is outside what the sampler allows. */
  mismatches: number;
  /** Where the answer left the job's JSON grammar (a token index), when it did: every position from there counts as a mismatch. */
  offGrammarAt?: number;
  /** Tokens of the prompt it was scored after: the engine's rendering, tools included. */
  promptTokens: number;
  /** The first call (its index) to a function the model would not have called, when one is: the check fails outright. */
  wrongCall?: number;
}

/** The params that shape sampling, and so the check. */
export type VerifyParams = Pick<JobParams, 'temperature' | 'topP' | 'maxTokens' | 'presencePenalty' | 'frequencyPenalty' | 'responseFormat' | 'tools' | 'toolChoice'>;

/** One answer to check. */
export interface VerifyInput {
  messages: readonly ChatMessage[];
  /** Text generated before this answer (a continuation), '' for none. */
  before: string;
  /** A thinking model's thought generated before this answer (a continuation's), '' or absent for none. */
  beforeReasoning?: string;
  /** The answer's text (for a job with tools, what came before any call). */
  text: string;
  /** The calls the answer ended with, assembled (name and arguments as streamed); absent or [] for none. */
  toolCalls?: readonly { name?: string; arguments?: string }[];
  /** A thinking model's thoughts, streamed before the text ('' or absent for none). */
  reasoning?: string;
  params: VerifyParams;
}

/**
 * How a thinking model's turn is laid out in tokens around its thought: the thought's opening
 * marker, which LlamaChat adds to the prompt itself when the wrapper opens a thought at the start
 * of every answer (`forced`) or which the model writes, and the closing marker it writes.
 */
export interface ThoughtLayout {
  prefix: Token[];
  forced: boolean;
  suffix: Token[];
}

/** The thought layout of a chat wrapper; undefined when it has no thoughts, or segments the verifier cannot lay out (comments, a thought with no end marker). */
export function thoughtLayout(chatWrapper: ChatWrapper, model: LlamaModel): ThoughtLayout | undefined {
  const segments = chatWrapper.settings.segments;
  const thought = segments?.thought;
  if (!thought || segments.comment !== undefined || thought.suffix === undefined) return undefined;
  const tokens = (text: NonNullable<typeof thought.suffix>) => LlamaText(text).tokenize(model.tokenizer, 'trimLeadingSpace');
  // A prefix the template already wrote into the generation prompt (`openedOnStart`) has no tokens here.
  const openedByTemplate = typeof thought.prefix === 'object' && !LlamaText.isLlamaText(thought.prefix) && 'type' in thought.prefix;
  return { prefix: openedByTemplate ? [] : tokens(thought.prefix as NonNullable<typeof thought.suffix>), forced: openedByTemplate || thought.openOnResponseStart === true, suffix: tokens(thought.suffix) };
}

/**
 * True when a score is a failure: more than 5 % of positions, and at least 2, out of the allowed
 * set; or a call to a function the model would not have called (a worker steering the client's
 * agent), however short.
 */
export function failsCheck(score: VerifyScore): boolean {
  return score.wrongCall !== undefined || (score.mismatches >= 2 && score.mismatches > 0.05 * score.positions);
}

/** Two scores of one answer's parts, in order, as one (the prompt is the first part's). */
function addScores(first: VerifyScore, then: VerifyScore | undefined): VerifyScore {
  if (!then) return first;
  const offGrammarAt = first.offGrammarAt ?? (then.offGrammarAt !== undefined ? first.positions + then.offGrammarAt : undefined);
  const wrongCall = first.wrongCall ?? then.wrongCall;
  return { positions: first.positions + then.positions, mismatches: first.mismatches + then.mismatches, ...(offGrammarAt !== undefined ? { offGrammarAt } : {}), promptTokens: first.promptTokens, ...(wrongCall !== undefined ? { wrongCall } : {}) };
}

/** How the job's sampler chose at each position. */
export interface Sampling {
  greedy: boolean;
  topK: number;
  /** Top-p with the slack for rounding, at most 1. */
  topP: number;
}

/** The sampling a job's params ask for, as the verifier judges it. */
export function samplingOf(params: Pick<JobParams, 'temperature' | 'topP'>): Sampling {
  return { greedy: params.temperature === 0, topK: DEFAULT_TOP_K, topP: Math.min(1, (params.topP ?? DEFAULT_TOP_P) + TOP_P_SLACK) };
}

/**
 * Whether `token` is a choice the sampler allowed at one position: true, false, or undefined
 * when it cannot be told (a grammar allows the token, but too few of its choices were among the
 * candidates to know its rank). `candidates` are the model's most likely tokens at temperature 1,
 * penalties applied, most likely first. `valid` is the grammar's test, when the job has one.
 *
 * The grammar is applied as llama.cpp's sampler applies it: a token sampled without the grammar
 * stands when the grammar accepts it; otherwise the grammar narrows the tokens first and the
 * sampler draws again among those.
 */
export function allowedAt<T>(candidates: readonly (readonly [T, number])[], token: T, sampling: Sampling, valid?: (token: T) => boolean): boolean | undefined {
  if (valid && !valid(token)) return false;
  if (within(candidates, token, sampling)) return true;
  if (!valid) return false;
  const choices: (readonly [T, number])[] = [];
  for (const candidate of candidates) {
    if (choices.length >= sampling.topK) break;
    if (candidate[0] === token || valid(candidate[0])) choices.push(candidate);
  }
  if (within(choices, token, sampling)) return true;
  const unseen = !choices.some(([t]) => t === token);
  if (unseen && (sampling.greedy ? choices.length === 0 : choices.length < sampling.topK)) return undefined;
  return false;
}

/** Whether `token` is in the sampler's set drawn from `pool` (sorted): top-k, then top-p, or the top for greedy. */
function within<T>(pool: readonly (readonly [T, number])[], token: T, sampling: Sampling): boolean {
  return sampleSet(pool, sampling).includes(token);
}

/** The tokens of `pool` (sorted) the sampler could draw: top-k, then top-p, or the top (near-ties allowed) for greedy. */
function sampleSet<T>(pool: readonly (readonly [T, number])[], sampling: Sampling): T[] {
  const top = pool.slice(0, sampling.topK);
  if (top.length === 0) return [];
  if (sampling.greedy) return top.filter(([, p]) => p >= NEAR_TIE * top[0]![1]).map(([t]) => t);
  const total = top.reduce((sum, [, p]) => sum + p, 0);
  const set: T[] = [];
  let before = 0;
  for (const [t, p] of top) {
    if (before < sampling.topP * total) set.push(t);
    before += p;
  }
  return set;
}

/**
 * Every token the sampler could have drawn at one position (the tokens `allowedAt` says yes to,
 * among the candidates): with a grammar, the model's choices it accepts, and its own among
 * themselves where the sampler draws again.
 */
export function samplerChoices<T>(candidates: readonly (readonly [T, number])[], sampling: Sampling, valid?: (token: T) => boolean): T[] {
  if (!valid) return sampleSet(candidates, sampling);
  const choices: (readonly [T, number])[] = [];
  for (const candidate of candidates) {
    if (choices.length >= sampling.topK) break;
    if (valid(candidate[0])) choices.push(candidate);
  }
  return [...new Set([...sampleSet(candidates, sampling).filter(valid), ...sampleSet(choices, sampling)])];
}

/** The segments a model writes that the engine holds back from the answer (thoughts, comments); [] for none. */
export function hiddenSegments(chatWrapper: ChatWrapper): ('thought' | 'comment')[] {
  const segments = chatWrapper.settings.segments;
  return (['thought', 'comment'] as const).filter((kind) => segments?.[kind] !== undefined);
}

/** A loaded model that re-scores answers; one check at a time. */
export class Verifier {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly grammars: GrammarCache;

  /** A thinking model's layout, once `calibrateThoughts` confirmed it: then its plain answers are re-scored, thoughts included. */
  private thoughts: ThoughtLayout | undefined;

  /** Whether `calibrateCalls` confirmed how a call's arguments follow the prompt: then answers that are calls are re-scored. */
  private callsConfirmed = false;

  /** Tokens evaluated to score answers so far (the prompt a check shares with the one before it is not evaluated again). */
  private evaluated = 0;

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
    private readonly chatWrapper: ChatWrapper,
  ) {
    this.grammars = new GrammarCache(llama);
  }

  /**
   * Loads the whole model file (CPU) with a context of `contextSize` tokens. `chatWrapper` is the
   * model's own unless given (tests give another, to lay out turns the test model's template has not).
   */
  static async open(path: string, options: { threads: number; contextSize?: number; chatWrapper?: ChatWrapper }): Promise<Verifier> {
    const llama = await cpuLlama();
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    const context = await model.createContext({ contextSize: Math.min(options.contextSize ?? 4096, model.trainContextSize), sequences: 1, threads: options.threads });
    const verifier = new Verifier(llama, model, context, context.getSequence(), options.chatWrapper ?? resolveChatWrapper(model));
    await verifier.calibrateThoughts();
    await verifier.calibrateCalls();
    return verifier;
  }

  /**
   * For a thinking model: generates one short answer greedily, as the engine does, and keeps the
   * thought layout only if the tokens the context evaluated are exactly those `turnTokens` rebuilds
   * from the streamed thought and text, with the thought closed and some text after it.
   */
  private async calibrateThoughts(): Promise<void> {
    const layout = thoughtLayout(this.chatWrapper, this.model);
    if (!layout) return;
    let reasoning = '';
    let text = '';
    const chat = new LlamaChat({ contextSequence: this.sequence, chatWrapper: this.chatWrapper });
    try {
      await this.sequence.clearHistory();
      await chat.generateResponse(toChatHistory(CALIBRATION_CHAT), {
        maxTokens: CALIBRATION_TOKENS,
        temperature: 0,
        onResponseChunk: (chunk) => {
          if (chunk.type === undefined) text += chunk.text;
          else reasoning += chunk.text;
        },
      });
      const evaluated = this.sequence.contextTokens;
      const rebuilt = this.turnTokens(layout, promptTokens(this.model, this.chatWrapper, CALIBRATION_CHAT), reasoning, text);
      // Stopped by max tokens, the last token was sampled and not yet evaluated; stopped by the
      // end of the turn, every token of the text was (the end token was sampled, and is no text).
      const all = [...rebuilt.prompt, ...rebuilt.answer];
      const lengthFits = evaluated.length === all.length || evaluated.length === all.length - 1;
      if (text !== '' && lengthFits && evaluated.every((token, i) => token === all[i])) this.thoughts = layout;
    } finally {
      chat.dispose({ disposeSequence: false });
    }
  }

  /** The prompt (with a forced thought opening) and the generated tokens of a thinking model's turn. */
  private turnTokens(layout: ThoughtLayout, prompt: Token[], reasoning: string, text: string): { prompt: Token[]; answer: Token[] } {
    const thought = this.model.tokenize(reasoning, false);
    const after = text === '' ? [] : [...layout.suffix, ...this.model.tokenize(text, false)];
    if (layout.forced) return { prompt: [...prompt, ...layout.prefix], answer: [...thought, ...after] };
    return { prompt, answer: [...layout.prefix, ...thought, ...after] };
  }

  /**
   * Makes one forced call greedily, as the engine does (CALIBRATION_CALL), and confirms calls only
   * if the tokens the context evaluated begin with those `callOpenings` and the streamed arguments
   * rebuild (the last call's, after the calls before it, for a wrapper that writes several). Not
   * for models that write thoughts or comments (their calls are not re-scored), nor where a
   * grammar cannot be stepped by hand.
   */
  private async calibrateCalls(): Promise<void> {
    if (this.hides.length > 0 || !GrammarWalk.supported(this.llama)) return;
    const chat = new LlamaChat({ contextSequence: this.sequence, chatWrapper: wrapperFor(this.chatWrapper, CALIBRATION_CALL) });
    const calls: { name: string; arguments: string }[] = [];
    try {
      await this.sequence.clearHistory();
      const result = await chat.generateResponse(toChatHistory(CALIBRATION_CHAT), {
        maxTokens: CALIBRATION_CALL_TOKENS,
        temperature: 0,
        functions: functionsOf(CALIBRATION_CALL) ?? {},
        documentFunctionParams: true,
        onFunctionCallParamsChunk: (chunk) => {
          const call = (calls[chunk.callIndex] ??= { name: chunk.functionName, arguments: '' });
          call.arguments += chunk.paramsChunk;
        },
      });
      // A wrapper that writes calls in a row may go on calling until max tokens: the calls before the last are then in the context too.
      if (!['functionCalls', 'maxTokens'].includes(result.metadata.stopReason ?? '') || calls.length === 0 || calls.some((call) => call === undefined)) return;
      // As the worker streams them: the grammar's closing whitespace is not part of the arguments.
      for (const call of calls) call.arguments = call.arguments.trimEnd();
      const opening = this.callOpenings(CALIBRATION_CHAT, CALIBRATION_CALL, calls)?.at(-1)?.opening;
      if (!opening) return;
      // The last token sampled may not have been evaluated yet (a call cut by max tokens).
      const rebuilt = [...opening, ...this.model.tokenize(calls.at(-1)!.arguments, false, 'trimLeadingSpace')].slice(0, -1);
      const evaluated = this.sequence.contextTokens;
      if (evaluated.length >= rebuilt.length && rebuilt.every((token, i) => token === evaluated[i])) this.callsConfirmed = true;
    } finally {
      chat.dispose({ disposeSequence: false });
    }
  }

  /**
   * The tokens LlamaChat has evaluated when the model starts each call's parameters, in order
   * (`opening`): the rendered chat (the job's functions documented) with the text the model wrote
   * before its calls, then, tokenized apart as LlamaChat does, the section prefix of wrappers that
   * write calls in a section, the calls before this one as LlamaChat keeps them (prefix, name,
   * params prefix, arguments, suffix; the wrapper's text between calls between two of them, none
   * before the call being written), and this call's prefix, name and params prefix; and those it
   * has evaluated when the model starts the call's name (`beforeName`: up to the prefix).
   * Undefined for a wrapper that starts a turn with triggers of its own (then calls take another
   * path).
   */
  private callOpenings(messages: readonly ChatMessage[], params: Pick<JobParams, 'tools' | 'toolChoice'>, calls: readonly { name: string; arguments: string }[], text = ''): { beforeName: Token[]; opening: Token[] }[] | undefined {
    const { state } = renderTurn(this.chatWrapper, messages, text, params);
    if ((state.prefixTriggers?.length ?? 0) > 0 || state.noPrefixTrigger !== undefined) return undefined;
    const turn = state.contextText.tokenize(this.model.tokenizer);
    const settings = this.chatWrapper.settings.functions;
    const named = (value: typeof settings.call.paramsPrefix, name: string) => LlamaText(LlamaText(value).values.map((v) => (typeof v === 'string' ? v.replaceAll('{{functionName}}', name) : v)));
    const opening = (name: string) => LlamaText([settings.call.prefix, name, named(settings.call.paramsPrefix, name)]);
    const kept: LlamaText[] = [];
    const tokens = (...parts: LlamaText[]) => [...turn, ...LlamaText([settings.parallelism?.call.sectionPrefix ?? '', ...parts]).tokenize(this.model.tokenizer, 'trimLeadingSpace')];
    return calls.map((call, index) => {
      const before = kept.flatMap((raw, i) => (i > 0 ? [LlamaText(settings.parallelism?.call.betweenCalls ?? ''), raw] : [raw]));
      if (index < calls.length - 1) kept.push(LlamaText([opening(call.name), call.arguments, named(settings.call.suffix, call.name)]));
      // While the model writes the name, the call so far is its prefix alone.
      return { beforeName: tokens(...before, LlamaText(settings.call.prefix)), opening: tokens(...before, opening(call.name)) };
    });
  }

  /** Tokens evaluated to score answers so far. */
  get tokensEvaluated(): number {
    return this.evaluated;
  }

  /** Whether the tool calls of answers are re-scored (their arguments): `calibrateCalls` confirmed the layout. */
  get scoresCalls(): boolean {
    return this.callsConfirmed;
  }

  /** The context size: prompt + answer beyond it cannot be checked. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** What this model writes apart from its answer's text (thoughts, comments). */
  get hides(): ('thought' | 'comment')[] {
    return hiddenSegments(this.chatWrapper);
  }

  /** Whether this model writes thoughts apart from its text and they can be re-scored with it (`calibrate` confirmed their layout). */
  get scoresThoughts(): boolean {
    return this.thoughts !== undefined;
  }

  /**
   * Whether answers to a job with these params can be re-scored: JSON output only where this
   * node-llama-cpp lets a grammar be stepped by hand (grammar-walk.ts), and a job that must be a
   * tool call only once the call layout is confirmed and without penalties. A thinking model:
   * only plain jobs, once its thought layout is confirmed.
   */
  canScore(params: Pick<JobParams, 'tools' | 'toolChoice' | 'responseFormat' | 'presencePenalty' | 'frequencyPenalty'>): boolean {
    const penalized = Boolean(params.presencePenalty) || Boolean(params.frequencyPenalty);
    if (this.hides.length > 0) return this.thoughts !== undefined && params.tools === undefined && params.responseFormat === undefined && !penalized;
    if (forcesCall(params)) return this.callsConfirmed && !penalized;
    return params.responseFormat === undefined || GrammarWalk.supported(this.llama);
  }

  /** Scores an answer; undefined when it does not fit the verifier's context, is empty, or cannot be scored. */
  score(input: VerifyInput): Promise<VerifyScore | undefined> {
    const run = this.queue.then(() => this.scoreNow(input));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async scoreNow(input: VerifyInput): Promise<VerifyScore | undefined> {
    const { params } = input;
    // A constrained job is never continued (job-manager.ts), so a grammar always starts at the answer.
    if (!this.canScore(params) || (isConstrained(params) && input.before !== '')) return undefined;
    const reasoning = input.reasoning ?? '';
    const calls = input.toolCalls ?? [];
    // An answer that is only calls: their arguments (a continued answer's calls are not scored).
    if (calls.length > 0 && input.text === '' && reasoning === '' && input.before === '') return this.scoreCalls(input.messages, params, calls);
    // A thinking model's continuation is not rebuilt (a model that writes no thoughts is shown none of
    // an earlier worker's, so its continuation is its text alone).
    if (this.thoughts && (input.before !== '' || (input.beforeReasoning ?? '') !== '')) return undefined;
    let prompt = promptTokens(this.model, this.chatWrapper, input.messages, input.before || undefined, params);
    // A model that writes no thoughts cannot have written these: every token of them was invented.
    if (this.hides.length === 0 && reasoning !== '') {
      const invented = this.model.tokenize(reasoning, false).length;
      return { positions: invented, mismatches: invented, promptTokens: prompt.length };
    }
    let answer: Token[];
    if (this.thoughts) {
      // Without a thought, a model that opens its own may still have written an empty one unseen.
      if (reasoning === '' && !this.thoughts.forced) return undefined;
      ({ prompt, answer } = this.turnTokens(this.thoughts, prompt, reasoning, input.text));
    } else answer = this.model.tokenize(input.text, false);
    const grammar = params.responseFormat ? await this.grammars.get(params.responseFormat).catch(() => undefined) : undefined;
    if (params.responseFormat && !grammar) return undefined;
    const scored = await this.scoreAfter(prompt, answer, params, grammar);
    // Text, then calls: their arguments follow the text (so honest text cannot shield invented arguments).
    if (!scored || calls.length === 0 || this.thoughts || input.before !== '') return scored;
    return addScores(scored, await this.scoreCalls(input.messages, params, calls, input.text));
  }

  /**
   * Scores each call's arguments after its opening (`callOpenings`), under the grammar of the
   * function's parameters, and adds the scores up. Undefined when calls are not confirmed, the
   * job is penalized (the penalties' history around a call is not reproduced), or no call has
   * arguments to score (functions without parameters). Calls stop at a name the job did not offer,
   * which no engine could have sampled (the job manager refuses such calls first).
   */
  private async scoreCalls(messages: readonly ChatMessage[], params: VerifyParams, calls: readonly { name?: string; arguments?: string }[], text = ''): Promise<VerifyScore | undefined> {
    if (!this.callsConfirmed || params.presencePenalty || params.frequencyPenalty) return undefined;
    const offered = functionsOf(params) ?? {};
    const known: { name: string; arguments: string; schema: GrammarSchema | undefined }[] = [];
    const placeholder = this.chatWrapper.settings.functions.call.emptyCallParamsPlaceholder;
    const emptyParams = placeholder === undefined || placeholder === '' ? '' : jsonDumps(placeholder);
    for (const call of calls) {
      if (call.name === undefined || !Object.hasOwn(offered, call.name)) break;
      const schema = params.tools?.find((tool) => tool.name === call.name)?.parameters;
      // A function without parameters: LlamaChat keeps the wrapper's placeholder for its arguments, if any.
      known.push({ name: call.name, arguments: schema === undefined ? emptyParams : (call.arguments ?? ''), schema });
    }
    const openings = this.callOpenings(messages, params, known, text);
    if (!openings) return undefined;
    // Among several functions, the one called is the model's choice too.
    const names = Object.keys(offered);
    const nameGrammar = names.length > 1 ? await this.nameGrammar(names) : undefined;
    let total: VerifyScore | undefined;
    for (const [i, call] of known.entries()) {
      const { beforeName, opening } = openings[i]!;
      const grammar = call.schema === undefined ? undefined : await this.grammars.get({ type: 'json_schema', schema: call.schema }).catch(() => undefined);
      // Tokenized as text that follows other text (no leading space of its own, as some tokenizers add at the start).
      let scored = grammar && (await this.scoreAfter(opening, this.model.tokenize(call.arguments, false, 'trimLeadingSpace'), params, grammar));
      if (nameGrammar) {
        const chosen = await this.reachable(beforeName, `${call.name}\n`, params, nameGrammar, this.chatWrapper.settings.functions.call.optionalPrefixSpace === true);
        const positions = 1 + (scored?.positions ?? 0);
        // A function the model would not have called: the whole call is out of place, its arguments too.
        scored = chosen ? addScores({ positions: 1, mismatches: 0, promptTokens: beforeName.length }, scored) : { positions, mismatches: positions, promptTokens: beforeName.length, wrongCall: i };
      }
      if (scored) total = total ? addScores(total, scored) : scored;
    }
    return total;
  }

  /** Scores `answer` as sampled after `prompt` by the job's sampler, under `grammar` when it has one. */
  private async scoreAfter(prompt: Token[], answer: Token[], params: VerifyParams, grammar: LlamaGrammar | undefined): Promise<VerifyScore | undefined> {
    if (answer.length === 0 || prompt.length === 0 || prompt.length + answer.length > this.contextSize) return undefined;
    const walk = grammar ? new GrammarWalk(this.llama, this.model, grammar) : undefined;
    const sampling = samplingOf(params);
    const candidates = await this.candidatesAfter(prompt, answer, (index) => this.optionsAt(params, walk !== undefined, answer, index));
    let mismatches = 0;
    for (const [at, next] of answer.entries()) {
      const probabilities = candidates[at];
      const verdict = probabilities ? allowedAt(probabilities, next, sampling, walk && ((t) => walk.allows(t))) : false;
      if (verdict === false) mismatches++;
      if (walk) {
        if (!walk.allows(next)) {
          // Text outside the job's format: nothing after it could have been sampled under the grammar.
          return { positions: answer.length, mismatches: mismatches + (answer.length - at - 1), offGrammarAt: at, promptTokens: prompt.length };
        }
        walk.accept(next);
      }
    }
    return { positions: answer.length, mismatches, promptTokens: prompt.length };
  }

  /**
   * The model's most likely tokens (with their probabilities, most likely first) at each position
   * of `answer` after `prompt`, from one teacher-forced pass. What the context already holds of
   * the prompt is kept (the prompt of a job's other attempts, a call's text and earlier calls);
   * only the rest is evaluated, the scored positions always.
   */
  private async candidatesAfter(prompt: Token[], answer: Token[], optionsAt: (index: number) => ReturnType<Verifier['optionsAt']>): Promise<((readonly [Token, number])[] | undefined)[]> {
    const all: Token[] = [...prompt, ...answer];
    const firstScored = prompt.length - 1;
    await this.sequence.adaptStateToTokens(all.slice(0, firstScored), false);
    const kept = this.sequence.nextTokenIndex;
    const items = all.slice(kept, -1).map((token, j) => {
      const i = kept + j;
      return i >= firstScored ? ([token, { generateNext: { probabilities: true, options: optionsAt(i - firstScored) } }] as const) : token;
    });
    this.evaluated += items.length;
    const results = await this.sequence.controlledEvaluate(items as Parameters<LlamaContextSequence['controlledEvaluate']>[0]);
    return answer.map((_, at) => {
      const probabilities = results[firstScored + at - kept]?.next.probabilities;
      return probabilities ? [...probabilities] : undefined;
    });
  }

  /**
   * Whether the sampler could have written `text` next after `context`, under `grammar`: its
   * tokens are walked in order, and where one is outside what the sampler could draw, another
   * token it could draw that also begins the rest of `text` (the same text split otherwise, as
   * a model under a grammar may split it) keeps the text reachable. `optionalSpace`: the grammar
   * lets the model write a space before `text` or not.
   */
  private async reachable(context: Token[], text: string, params: VerifyParams, grammar: LlamaGrammar, optionalSpace: boolean): Promise<boolean> {
    const tokens = this.model.tokenize(text, false, 'trimLeadingSpace');
    if (tokens.length === 0 || context.length + tokens.length > this.contextSize) return true;
    const walk = new GrammarWalk(this.llama, this.model, grammar);
    const sampling = samplingOf(params);
    const candidates = await this.candidatesAfter(context, tokens, () => ({ temperature: 1, topK: GRAMMAR_CANDIDATES, topP: 1 }));
    let rest = text;
    for (const [at, token] of tokens.entries()) {
      const before = [...context, ...tokens.slice(0, at)];
      const piece = (t: Token) => this.model.detokenize([t], false, before);
      const valid = (t: Token) => walk.allows(t);
      if (!valid(token)) return false;
      const probabilities = candidates[at] ?? [];
      if (allowedAt(probabilities, token, sampling, valid) === false) {
        const rests = at === 0 && optionalSpace ? [rest, ` ${rest}`] : [rest];
        const splitOtherwise = samplerChoices(probabilities, sampling, valid).some((t) => {
          const written = piece(t);
          return t !== token && written !== '' && rests.some((r) => r.startsWith(written));
        });
        if (!splitOtherwise) return false;
      }
      walk.accept(token);
      rest = rest.slice(piece(token).length);
    }
    return true;
  }

  /** The grammar node-llama-cpp samples a function's name under: an optional space (as the wrapper says), one of the offered names, a newline. */
  private nameGrammar(names: readonly string[]): Promise<LlamaGrammar> {
    const space = this.chatWrapper.settings.functions.call.optionalPrefixSpace ? '[ ]? ' : '';
    // Names are letters, digits, _ and - (job-schemas.ts): quoted as they are.
    return this.llama.createGrammar({ grammar: `root ::= ${space}(${names.map((name) => JSON.stringify(name)).join(' | ')}) [\\n]` });
  }

  /** The sampler options to score answer position `index` with: temperature 1, the job's penalties over the answer so far. */
  private optionsAt(params: VerifyParams, grammar: boolean, answer: readonly Token[], index: number) {
    const wide = grammar ? GRAMMAR_CANDIDATES : DEFAULT_TOP_K;
    const penalized = Boolean(params.presencePenalty) || Boolean(params.frequencyPenalty);
    return {
      temperature: 1,
      topK: wide,
      topP: 1,
      // As the engine sets them: every token generated so far, up to max_tokens of them.
      ...(penalized
        ? {
            repeatPenalty: {
              punishTokens: () => answer.slice(Math.max(0, index - params.maxTokens), index),
              maxPunishTokens: params.maxTokens,
              ...(params.presencePenalty ? { presencePenalty: params.presencePenalty } : {}),
              ...(params.frequencyPenalty ? { frequencyPenalty: params.frequencyPenalty } : {}),
            },
          }
        : {}),
    };
  }

  /** Frees the context and the model. */
  async dispose(): Promise<void> {
    await this.queue;
    await this.context.dispose();
    await this.model.dispose();
  }
}
