/**
 * node-llama-cpp behind a small interface: load a model once, then run chat jobs on a pool of
 * context sequences, streaming text and counting tokens as the engine sees them.
 * Lives only in the job process (a crafted model file must never be parsed elsewhere).
 */
import { getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper, type ChatWrapper, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel } from 'node-llama-cpp';
import { promptTokens as renderPromptTokens, toChatHistory } from '../../network/tokenizer/chat-history.js';
import type { ChatMessage } from '../../network/protocol/chat.js';
import type { FinishReason, JobParams, Usage } from '../../network/protocol/worker-frames.js';
import type { EngineConfig, EngineInfo } from './job-messages.js';

/** What one generation produced. */
export interface GenerationResult {
  finishReason: FinishReason | 'cancelled';
  usage: Usage;
}

/** Receives generated text as it streams. */
export type ChunkListener = (text: string, tokens: number) => void;

/** A loaded model with its context; one instance per job process. */
export class LlamaEngine {
  private readonly free: LlamaContextSequence[];

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly chatWrapper: ChatWrapper,
  ) {
    this.free = Array.from({ length: context.totalSequences }, () => context.getSequence());
  }

  /** Loads the model; rejects with the engine's message when the file is not a usable model. */
  static async load(config: EngineConfig, log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void): Promise<{ engine: LlamaEngine; info: Omit<EngineInfo, 'pid' | 'tokensPerSecond' | 'tier' | 'sandboxReason' | 'hpkePublicKey'> }> {
    const started = performance.now();
    const llama = await getLlama({
      gpu: config.gpu === 'cpu' ? false : 'auto',
      build: 'never',
      maxThreads: config.threads,
      // A VRAM cap leaves the rest of the GPU's memory to the owner: automatic layer
      // offloading then fits within what is left.
      ...(config.maxVramBytes ? { vramPadding: (total: number) => Math.max(0, total - (config.maxVramBytes ?? total)) } : {}),
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => log(level === LlamaLogLevel.error || level === LlamaLogLevel.fatal ? 'error' : 'warn', message.trim()),
    });
    const model = await llama.loadModel({ modelPath: config.modelPath, gpuLayers: config.gpuLayers ?? 'auto' });
    const contextSize = Math.min(config.contextSize, model.trainContextSize);
    const context = await model.createContext({ contextSize, sequences: config.sequences, threads: config.threads });
    const chatWrapper = resolveChatWrapper(model);
    const engine = new LlamaEngine(llama, model, context, chatWrapper);
    return {
      engine,
      info: { gpu: llama.gpu === false ? 'cpu' : llama.gpu, contextSize: context.contextSize, trainContextSize: model.trainContextSize, loadMs: performance.now() - started },
    };
  }

  /** Number of jobs that can run at once. */
  get capacity(): number {
    return this.context.totalSequences;
  }

  /**
   * Runs one chat job; resolves when it ends (cancelled through `signal` included). With a
   * `maxTokensPerSecond` cap (the owner's Polite mode) it generates in short slices and rests
   * between them, continuing each slice from the text so far (the KV cache keeps the prefix).
   */
  async generate(messages: readonly ChatMessage[], params: JobParams, continuation: string | undefined, signal: AbortSignal, onChunk: ChunkListener, maxTokensPerSecond?: number): Promise<GenerationResult> {
    const sequence = this.free.pop();
    if (!sequence) throw new EngineBusyError();
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: this.chatWrapper });
    try {
      const promptTokens = renderPromptTokens(this.model, this.chatWrapper, messages, continuation).length;
      const slice = maxTokensPerSecond ? Math.max(1, Math.ceil(maxTokensPerSecond / 4)) : params.maxTokens;
      const started = performance.now();
      let text = continuation ?? '';
      let completionTokens = 0;
      for (;;) {
        const wanted = Math.min(slice, params.maxTokens - completionTokens);
        const result = await chat.generateResponse(toChatHistory(messages, text || undefined), {
          maxTokens: wanted,
          temperature: params.temperature,
          ...(params.topP !== undefined ? { topP: params.topP } : {}),
          ...(params.seed !== undefined ? { seed: params.seed } : {}),
          ...(params.stop ? { customStopTriggers: params.stop } : {}),
          signal,
          stopOnAbortSignal: true,
          onResponseChunk: (chunk) => {
            completionTokens += chunk.tokens.length;
            if (chunk.type === undefined) text += chunk.text;
            if (chunk.type === undefined && (chunk.text !== '' || chunk.tokens.length > 0)) onChunk(chunk.text, chunk.tokens.length);
          },
        });
        const reason = result.metadata.stopReason;
        const progressed = completionTokens > 0 || text !== (continuation ?? '');
        if (reason === 'abort') return { finishReason: 'cancelled', usage: { promptTokens, completionTokens } };
        if (reason !== 'maxTokens') return { finishReason: 'stop', usage: { promptTokens, completionTokens } };
        if (completionTokens >= params.maxTokens || !progressed) return { finishReason: 'length', usage: { promptTokens, completionTokens } };
        const ahead = (completionTokens / (maxTokensPerSecond ?? Infinity)) * 1000 - (performance.now() - started);
        if (ahead > 0) await sleep(ahead, signal);
      }
    } finally {
      chat.dispose({ disposeSequence: false });
      this.free.push(sequence);
    }
  }

  /** Frees the context, the model and the backend. */
  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** Thrown when every sequence is in use. */
export class EngineBusyError extends Error {
  constructor() {
    super('Every context sequence is busy.');
  }
}
