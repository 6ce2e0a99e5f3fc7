/**
 * Counts tokens with a model's own tokenizer, loaded without its weights (node-llama-cpp's
 * `vocabOnly`): a few MB and milliseconds per model. The coordinator meters transport jobs with
 * it and the gateway signs sealed-job receipts with it, so neither takes a worker's word for a
 * count. Model files given here are the operator's own (the catalog's, pinned by SHA-256) or
 * their vocabulary extracted from it: never a file a worker sent.
 */
import { getLlama, LlamaLogLevel, resolveChatWrapper, type ChatWrapper, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';
import type { ChatMessage } from '../protocol/chat.js';
import { promptTokens, responseSoFar, type RenderParams } from './chat-history.js';
import type { Continuation, ToolCallDelta } from '../protocol/job-schemas.js';
import { readGgufVocab } from './gguf-vocab.js';

let llamaInstance: Promise<Llama> | undefined;

/**
 * What llama.cpp prints when node-llama-cpp sizes a vocabulary-only file as if it were a whole
 * model (it tries, fails, and falls back to an estimate): expected, so not shown.
 */
const VOCAB_ONLY_NOISE = /missing tensor|failed to load model|Failed simulating model resource usage/;

/** One CPU llama.cpp backend per process, shared by every counter and verifier. */
export function cpuLlama(): Promise<Llama> {
  llamaInstance ??= getLlama({
    gpu: false,
    build: 'never',
    logLevel: LlamaLogLevel.error,
    logger: (_level, message) => {
      if (!VOCAB_ONLY_NOISE.test(message)) console.error(`[llama.cpp] ${message.trim()}`);
    },
  });
  return llamaInstance;
}

/** A model's tokenizer. */
export class TokenCounter {
  private constructor(
    readonly model: LlamaModel,
    private readonly chatWrapper: ChatWrapper,
    /** Upper bound on the UTF-8 bytes one token decodes to (gguf-vocab.ts). */
    readonly maxTokenBytes: number,
  ) {}

  /** Loads the vocabulary of a GGUF file (a whole model or a vocabulary-only file). */
  static async open(path: string): Promise<TokenCounter> {
    const vocab = await readGgufVocab(path);
    const llama = await cpuLlama();
    const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
    return new TokenCounter(model, resolveChatWrapper(model), vocab.maxTokenBytes);
  }

  /** Tokens the engine evaluates for this chat before generating (template and tools included, and what earlier workers streamed of a continued job). */
  countPrompt(messages: readonly ChatMessage[], params?: RenderParams, continuation?: Continuation): number {
    return promptTokens(this.model, this.chatWrapper, messages, continuation && responseSoFar(continuation, this.chatWrapper), params).length;
  }

  /** Tokens of generated text, as plain text (a streamed "<|eot|>" is text, not a special token). */
  countText(text: string): number {
    return text === '' ? 0 : this.model.tokenize(text, false).length;
  }

  /** Tokens of tool calls as streamed: each call's name and arguments (completionTokensOf). */
  countToolCalls(calls: readonly ToolCallDelta[]): number {
    return calls.reduce((n, c) => n + this.countText(c.name ?? '') + this.countText(c.arguments ?? ''), 0);
  }

  /** The tokens of a prompt, for spot checks (verifier.ts). */
  promptTokens(messages: readonly ChatMessage[], continuation?: string): Token[] {
    return promptTokens(this.model, this.chatWrapper, messages, continuation);
  }

  /** Frees the vocabulary. */
  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
