/**
 * How a chat request becomes the text a model evaluates, written once for every party that
 * counts tokens: the worker's engine (which generates), the coordinator (which meters and spot
 * checks) and the client's gateway (which signs a usage receipt). They must agree to the token,
 * tools included: the functions a job offers are rendered into the prompt by the model's chat
 * wrapper (node-llama-cpp), and a forced call (tool_choice 'required' or a named function) opens
 * the model's turn with the wrapper's call prefix (see `forcedCallWrapper`).
 */
import { LlamaText, type ChatHistoryItem, type ChatModelFunctionCall, type ChatModelFunctions, type ChatModelResponse, type ChatModelSegment, type ChatWrapper, type LlamaModel, type Token } from 'node-llama-cpp';
import type { ChatMessage } from '../protocol/chat.js';
import { forcesCall, type Continuation, type JobParams } from '../protocol/job-schemas.js';

/** The parts of a job's params that change what the model sees. */
export type RenderParams = Pick<JobParams, 'tools' | 'toolChoice'>;

/** Thrown for a chat whose tool turns do not pair up (checkToolTurns refuses these first). */
export class ChatShapeError extends Error {}

/** Parses JSON text, or keeps it as a string (tool results may be plain text). */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** What a model wrote of its turn so far: text and segments (thoughts), in order. */
export type ResponseSoFar = (string | ChatModelSegment)[];

/**
 * `so far` followed by a newly generated piece (LlamaChat's `fullResponse`, which holds only what
 * that call generated): text joins text, and a segment left open goes on with the same kind's
 * text, so the model resumes inside its thought rather than starting a new one.
 */
export function appendResponse(soFar: ResponseSoFar, more: readonly (string | { type: 'segment'; segmentType: ChatModelSegment['segmentType']; text: string; ended: boolean })[]): ResponseSoFar {
  const out: ResponseSoFar = soFar.map((item) => (typeof item === 'string' ? item : { ...item }));
  for (const item of more) {
    const last = out.at(-1);
    if (typeof item === 'string') {
      if (typeof last === 'string') out[out.length - 1] = last + item;
      else if (item !== '') out.push(item);
    } else if (last !== undefined && typeof last !== 'string' && !last.ended && last.segmentType === item.segmentType) {
      out[out.length - 1] = { ...last, text: last.text + item.text, ended: item.ended };
    } else out.push({ type: 'segment', segmentType: item.segmentType, text: item.text, ended: item.ended });
  }
  return out;
}

/**
 * What earlier workers streamed of a turn, as the model's response so far: the thought (still
 * open unless text followed it, so the model goes on thinking), then the text. A model that
 * writes no thoughts is shown none (only a dishonest worker could have streamed them).
 */
export function responseSoFar(continuation: Continuation, chatWrapper: ChatWrapper): ResponseSoFar {
  const { text } = continuation;
  const reasoning = chatWrapper.settings.segments?.thought ? continuation.reasoning : '';
  return [...(reasoning !== '' ? [{ type: 'segment' as const, segmentType: 'thought' as const, text: reasoning, ended: text !== '' }] : []), ...(text !== '' ? [text] : [])];
}

/**
 * Turns OpenAI-style messages (plus what was already generated: text from an earlier worker, or
 * an earlier slice's text and thoughts) into chat history. An assistant turn, its tool calls,
 * their results and whatever the assistant said after them form one model response, as
 * node-llama-cpp renders function calling.
 */
export function toChatHistory(messages: readonly ChatMessage[], continuation?: string | ResponseSoFar): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const calls = new Map<string, ChatModelFunctionCall>();
  for (const m of messages) {
    if (m.role === 'system') history.push({ type: 'system', text: m.content });
    else if (m.role === 'user') history.push({ type: 'user', text: m.content });
    else if (m.role === 'tool') {
      const call = calls.get(m.toolCallId);
      if (!call) throw new ChatShapeError(`A tool message answers '${m.toolCallId}', which no assistant call made.`);
      call.result = jsonOrText(m.content);
      calls.delete(m.toolCallId);
    } else {
      const last = history.at(-1);
      // After tool results the assistant goes on in the same model response.
      const response: ChatModelResponse['response'] = last?.type === 'model' && last.response.some((r) => typeof r === 'object' && r.type === 'functionCall') ? last.response : [];
      if (m.content !== '') response.push(m.content);
      for (const toolCall of m.toolCalls ?? []) {
        const call: ChatModelFunctionCall = { type: 'functionCall', name: toolCall.name, params: jsonOrText(toolCall.arguments), result: undefined };
        calls.set(toolCall.id, call);
        response.push(call);
      }
      if (response !== (last as ChatModelResponse | undefined)?.response) history.push({ type: 'model', response });
    }
  }
  if (calls.size > 0) throw new ChatShapeError(`Tool call '${[...calls.keys()][0]}' has no result.`);
  const generated = typeof continuation === 'string' ? (continuation ? [continuation] : []) : (continuation ?? []);
  if (generated.length > 0) {
    const last = history.at(-1);
    if (last?.type === 'model') history[history.length - 1] = { type: 'model', response: [...last.response, ...generated] };
    else history.push({ type: 'model', response: generated });
  }
  return history;
}

/** The functions a job offers the model, as node-llama-cpp takes them (none: undefined). */
export function functionsOf(params: RenderParams | undefined): ChatModelFunctions | undefined {
  if (!params?.tools) return undefined;
  const named = typeof params.toolChoice === 'object' ? params.toolChoice.name : undefined;
  const entries = params.tools.filter((t) => named === undefined || t.name === named).map((t) => [t.name, { ...(t.description ? { description: t.description } : {}), ...(t.parameters ? { params: t.parameters } : {}) }] as const);
  return Object.fromEntries(entries) as ChatModelFunctions;
}

export { forcesCall };

/** Whether a forced call opens the model's turn now: it starts, or goes on after tool results (a text turn is never forced again). */
function opensWithCall(chatHistory: readonly ChatHistoryItem[]): boolean {
  const last = chatHistory.at(-1);
  const end = last?.type === 'model' ? last.response.at(-1) : 'not a model turn';
  return end === undefined || (typeof end === 'object' && end.type === 'functionCall');
}

/**
 * A chat wrapper whose model turn, when it starts (or resumes after tool results), is a function
 * call already engaged: node-llama-cpp writes the wrapper's call prefix after the rendered chat
 * itself and lets the model only name a function (a grammar over the offered names) and write its
 * parameters (a grammar from their schema). The prefix is not in the rendered text: LlamaChat
 * adds it, and a prefix in both places would have the model read it twice.
 */
export function forcedCallWrapper(inner: ChatWrapper): ChatWrapper {
  const forced = Object.create(inner) as ChatWrapper;
  forced.generateContextState = (options) => {
    const state = inner.generateContextState(options);
    if (!opensWithCall(options.chatHistory)) return state;
    return { ...state, functionCall: { initiallyEngaged: true, disengageInitiallyEngaged: [] } } as ReturnType<ChatWrapper['generateContextState']>;
  };
  return forced;
}

/** The wrapper that renders a job: the model's own, or its forced-call form. */
export function wrapperFor(chatWrapper: ChatWrapper, params: RenderParams | undefined): ChatWrapper {
  return forcesCall(params) ? forcedCallWrapper(chatWrapper) : chatWrapper;
}

/**
 * The tokens the engine evaluates before it generates: the rendered chat with the job's
 * functions, the model's turn prefix included (and, for a continuation, the text already
 * generated).
 */
export function promptTokens(model: LlamaModel, chatWrapper: ChatWrapper, messages: readonly ChatMessage[], continuation?: string | ResponseSoFar, params?: RenderParams): Token[] {
  const { state, opensWithCall: forced } = renderTurn(chatWrapper, messages, continuation, params);
  // A forced call's prefix is evaluated before the model writes anything: it counts as prompt.
  return LlamaText([state.contextText, forced ? chatWrapper.settings.functions.call.prefix : '']).tokenize(model.tokenizer);
}

/**
 * The model's turn as the chat wrapper renders it (the job's functions documented, what was
 * generated so far included), and whether the job forces a call there.
 */
export function renderTurn(chatWrapper: ChatWrapper, messages: readonly ChatMessage[], continuation?: string | ResponseSoFar, params?: RenderParams): { state: ReturnType<ChatWrapper['generateContextState']>; opensWithCall: boolean } {
  const history = toChatHistory(messages, continuation);
  const withTurn: ChatHistoryItem[] = history.at(-1)?.type === 'model' ? history : [...history, { type: 'model', response: [] }];
  const functions = functionsOf(params);
  const state = chatWrapper.generateContextState({ chatHistory: withTurn, ...(functions ? { availableFunctions: functions, documentFunctionParams: true } : {}) });
  return { state, opensWithCall: forcesCall(params) && opensWithCall(withTurn) };
}
