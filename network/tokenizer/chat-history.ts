/**
 * How a chat request becomes the text a model evaluates, written once for every party that
 * counts tokens: the worker's engine (which generates), the coordinator (which meters and spot
 * checks) and the client's gateway (which signs a usage receipt). They must agree to the token.
 */
import type { ChatHistoryItem, ChatWrapper, LlamaModel, Token } from 'node-llama-cpp';
import type { ChatMessage } from '../protocol/chat.js';

/** Turns OpenAI-style messages (plus text already generated elsewhere) into chat history. */
export function toChatHistory(messages: readonly ChatMessage[], continuation?: string): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m) =>
    m.role === 'system' ? { type: 'system', text: m.content } : m.role === 'user' ? { type: 'user', text: m.content } : { type: 'model', response: [m.content] },
  );
  if (continuation) {
    const last = history.at(-1);
    if (last?.type === 'model') history[history.length - 1] = { type: 'model', response: [...last.response, continuation] };
    else history.push({ type: 'model', response: [continuation] });
  }
  return history;
}

/**
 * The tokens the engine evaluates before it generates: the rendered chat, the model's turn
 * prefix included (and, for a continuation, the text already generated).
 */
export function promptTokens(model: LlamaModel, chatWrapper: ChatWrapper, messages: readonly ChatMessage[], continuation?: string): Token[] {
  const history = toChatHistory(messages, continuation);
  const withTurn: ChatHistoryItem[] = history.at(-1)?.type === 'model' ? history : [...history, { type: 'model', response: [] }];
  return chatWrapper.generateContextState({ chatHistory: withTurn }).contextText.tokenize(model.tokenizer);
}
