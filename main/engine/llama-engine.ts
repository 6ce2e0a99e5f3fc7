/**
 * node-llama-cpp behind a small interface: load a model once, then run chat jobs on a pool of
 * context sequences, streaming text and counting tokens as the engine sees them.
 * Lives only in the job process (a crafted model file must never be parsed elsewhere).
 */
import { availableParallelism, freemem } from 'node:os';
import { getLlama, LlamaChat, LlamaLogLevel, LlamaText, resolveChatWrapper, type ChatWrapper, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
import { appendResponse, ChatShapeError, promptTokens as renderPromptTokens, responseSoFar, toChatHistory, wrapperFor, type ResponseSoFar } from '../../network/tokenizer/chat-history.js';
import { contextLengthMessage, type ChatMessage } from '../../network/protocol/chat.js';
import { isConstrained, type Continuation, type FinishReason, type JobParams, type ToolCallDelta, type Usage } from '../../network/protocol/job-schemas.js';
import type { EngineConfig, EngineInfo } from './job-messages.js';
import { ContextLengthError, generationOptions, GrammarCache, InvalidJobError, type SamplingOptions } from './job-options.js';
import { ToolCallStream } from './tool-call-stream.js';
import { fitSequences, type SequenceFit } from './sequence-fit.js';
import { guardBatchedSampling } from './sample-gate.js';
import { TokenPace } from './token-pace.js';

/** What one generation produced. */
export interface GenerationResult {
  finishReason: FinishReason | 'cancelled';
  usage: Usage;
  /**
   * The answer's completion tokens as the network counts them: the model's tokenizer over the
   * text (and tool calls) this job generated. It can be below `usage.completionTokens`: a model
   * may generate a split the tokenizer merges ("a" + "b" where the vocabulary has "ab"), and the
   * network bills the merged count. The worker compares its receipts with this figure.
   */
  countedCompletionTokens: number;
}

/**
 * Receives the answer as it streams: text, then (with no text) tool-call pieces. A model that
 * thinks before it answers (Qwen 3, DeepSeek R1, gpt-oss) streams its thoughts first, as
 * `reasoning` with no text: they are generated work, billed and shown to the client apart from
 * the answer, as OpenAI-compatible servers return `reasoning_content`.
 */
export type ChunkListener = (text: string, tokens: number, toolCalls?: ToolCallDelta[], reasoning?: string) => void;

/** What bounds one generation besides its params. */
export interface GenerationLimits {
  /** The owner's Polite token-rate cap (all jobs together). */
  maxTokensPerSecond?: number | undefined;
  /**
   * The most prompt tokens this job will be paid for (a sealed job's bound): a prompt that counts
   * more is refused before any work (InvalidJobError). Not checked for a continuation.
   */
  promptBound?: number | undefined;
  /** Hears the prompt's token count once the job is taken, before its first token. */
  onPrompt?: ((promptTokens: number) => void) | undefined;
}

/** A loaded model with its context; one instance per job process. */
export class LlamaEngine {
  private readonly free: LlamaContextSequence[];
  private readonly grammars: GrammarCache;
  /** The owner's Polite token-rate cap holds for all jobs together, not for each. */
  private readonly pace = new TokenPace();
  /**
   * Whether a paced job can be cut into slices: a slice that stops inside a thought resumes it
   * (`appendResponse`), but node-llama-cpp only notices a thought's end marker generated within
   * one call, so a marker of several tokens (no real model's) could be split between slices.
   */
  private readonly slicesResumeThoughts: boolean;

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly chatWrapper: ChatWrapper,
  ) {
    this.free = Array.from({ length: context.totalSequences }, () => context.getSequence());
    this.grammars = new GrammarCache(llama);
    const segments = chatWrapper.settings.segments;
    const suffixes = [segments?.thought?.suffix, segments?.comment?.suffix].filter((suffix) => suffix !== undefined);
    this.slicesResumeThoughts = suffixes.every((suffix) => LlamaText(suffix).tokenize(model.tokenizer, 'trimLeadingSpace').length <= 1);
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
    // Each sequence has a context of its own (node-llama-cpp sizes the cache contextSize × sequences).
    const fit: SequenceFit = config.sequences !== undefined ? { sequences: config.sequences, reason: 'set by the owner (--max-jobs)' } : await fitToMemory(llama, model, contextSize, config);
    const context = await model.createContext({ contextSize, sequences: fit.sequences, threads: config.threads });
    // Sequences sampled together could read each other's logits without it (sample-gate.ts).
    if (context.totalSequences > 1) guardBatchedSampling(context);
    const chatWrapper = resolveChatWrapper(model);
    const engine = new LlamaEngine(llama, model, context, chatWrapper);
    // node-llama-cpp reads the JSON grammar from its package folder: before any sandbox lockdown.
    await engine.grammars.get({ type: 'json_object' });
    return {
      engine,
      info: { gpu: llama.gpu === false ? 'cpu' : llama.gpu, contextSize: context.contextSize, trainContextSize: model.trainContextSize, sequences: context.totalSequences, sequencesReason: fit.reason, loadMs: performance.now() - started },
    };
  }

  /** Number of jobs that can run at once. */
  get capacity(): number {
    return this.context.totalSequences;
  }

  /**
   * Runs one chat job; resolves when it ends (cancelled through `signal` included). Refuses
   * (ContextLengthError) a prompt that does not fit with max_tokens, before any work: nothing is
   * ever truncated. With a `maxTokensPerSecond` cap (the owner's Polite mode) a free-text job is
   * generated in short slices with rests between them, each continuing from the text so far (the
   * KV cache keeps the prefix); a grammar or a tool call cannot be resumed that way, so those
   * jobs run in one pass.
   */
  async generate(messages: readonly ChatMessage[], params: JobParams, continuation: Continuation | undefined, signal: AbortSignal, onChunk: ChunkListener, limits: GenerationLimits = {}): Promise<GenerationResult> {
    const { maxTokensPerSecond, promptBound, onPrompt } = limits;
    let promptTokens: number;
    try {
      promptTokens = renderPromptTokens(this.model, this.chatWrapper, messages, continuation && responseSoFar(continuation, this.chatWrapper), params).length;
    } catch (error) {
      if (error instanceof ChatShapeError) throw new InvalidJobError(error.message);
      throw error;
    }
    if (promptBound !== undefined && continuation === undefined && promptTokens > promptBound) {
      throw new InvalidJobError(
        `The sealed prompt counts ${promptTokens} tokens with this model's template and the offered tools, more than the ${promptBound} the coordinator would bill for it. Declare the prompt's token count in the envelope (promptTokens): Silkworm's SDK and gateway do when the coordinator serves the model's vocabulary.`,
      );
    }
    const contextSize = this.context.contextSize;
    if (promptTokens + params.maxTokens > contextSize) throw new ContextLengthError(contextLengthMessage(contextSize, promptTokens, params.maxTokens));
    const options = await generationOptions(params, this.grammars, contextSize);
    const sequence = this.free.pop();
    if (!sequence) throw new EngineBusyError();
    onPrompt?.(promptTokens);
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: wrapperFor(this.chatWrapper, params) });
    const tools = new ToolCallStream((toolCalls) => onChunk('', 0, toolCalls));
    try {
      const slice = maxTokensPerSecond && !isConstrained(params) && this.slicesResumeThoughts ? Math.max(1, Math.ceil(maxTokensPerSecond / 4)) : params.maxTokens;
      const before = continuation?.text ?? '';
      let text = before;
      // The model's turn so far, thoughts included (an earlier worker's too), for the next slice to go on from.
      let response: ResponseSoFar = continuation ? responseSoFar(continuation, this.chatWrapper) : [];
      let reasoning = '';
      let completionTokens = 0;
      let paced = 0;
      // Every token this attempt generated, for OpenAI's penalties: a paced job runs in slices, and
      // each slice's penalties must cover the whole answer so far, as one run's would (the
      // coordinator's verifier re-scores it that way).
      const generated: Token[] = [];
      const penalty = options.sampling.repeatPenalty;
      if (maxTokensPerSecond) this.pace.begin();
      const usage = () => ({ promptTokens, completionTokens: completionTokens + this.toolCallTokens(tools) });
      const end = (finishReason: GenerationResult['finishReason']): GenerationResult => ({
        finishReason,
        usage: usage(),
        countedCompletionTokens: this.countText(text.slice(before.length)) + this.countText(reasoning) + this.toolCallTokens(tools),
      });
      for (;;) {
        const wanted = Math.min(slice, params.maxTokens - completionTokens);
        const earlier = penalty ? generated.slice() : [];
        const call: SamplingOptions = {
          ...options.sampling,
          ...(penalty && earlier.length > 0 ? { repeatPenalty: { ...penalty, punishTokensFilter: (tokens: Token[]) => [...earlier, ...tokens].slice(-params.maxTokens) } } : {}),
          maxTokens: wanted,
          signal,
          stopOnAbortSignal: true,
          onResponseChunk: (chunk) => {
            completionTokens += chunk.tokens.length;
            if (penalty) for (const token of chunk.tokens) generated.push(token);
            if (chunk.type === undefined) {
              text += chunk.text;
              if (chunk.text !== '' || chunk.tokens.length > 0) onChunk(chunk.text, chunk.tokens.length);
            } else if (chunk.text !== '' || chunk.tokens.length > 0) {
              reasoning += chunk.text;
              onChunk('', chunk.tokens.length, undefined, chunk.text);
            }
          },
        };
        const history = toChatHistory(messages, response);
        const result = options.functions
          ? await chat.generateResponse(history, { ...call, ...options.functions, documentFunctionParams: true, onFunctionCallParamsChunk: tools.onParamsChunk })
          : await chat.generateResponse(history, { ...call, ...(options.grammar ? { grammar: options.grammar } : {}) });
        response = appendResponse(response, result.fullResponse);
        const reason = result.metadata.stopReason;
        const progressed = completionTokens > 0 || text !== before;
        if (reason === 'abort') return end('cancelled');
        if (reason === 'functionCalls') {
          tools.finish(result.functionCalls);
          return end('tool_calls');
        }
        if (reason !== 'maxTokens') return end('stop');
        if (completionTokens >= params.maxTokens || !progressed || slice >= params.maxTokens) return end('length');
        if (maxTokensPerSecond) await this.pace.take(completionTokens - paced, maxTokensPerSecond, signal);
        paced = completionTokens;
      }
    } finally {
      chat.dispose({ disposeSequence: false });
      this.free.push(sequence);
    }
  }

  /** Tokens of the tool calls streamed so far, counted as the coordinator counts them. */
  private toolCallTokens(tools: ToolCallStream): number {
    return tools.assembled().reduce((n, c) => n + this.countText(c.name ?? '') + this.countText(c.arguments ?? ''), 0);
  }

  private countText(text: string): number {
    return text === '' ? 0 : this.model.tokenize(text, false).length;
  }

  /** Frees the context, the model and the backend. */
  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

/**
 * The sequences that fit beside the loaded model: the memory one more sequence costs (as
 * node-llama-cpp estimates it) against free VRAM on a GPU, free RAM and the cores on a CPU.
 */
async function fitToMemory(llama: Llama, model: LlamaModel, contextSize: number, config: EngineConfig): Promise<SequenceFit> {
  const estimate = (sequences: number) => model.fileInsights.estimateContextResourceRequirements({ contextSize, modelGpuLayers: model.gpuLayers, sequences });
  const [one, two] = [estimate(1), estimate(2)];
  const onGpu = llama.gpu !== false && model.gpuLayers > 0;
  const perSequenceBytes = onGpu ? Math.max(two.gpuVram - one.gpuVram, one.gpuVram / 2) : Math.max(two.cpuRam - one.cpuRam, one.cpuRam / 2);
  const vram = onGpu ? await llama.getVramState() : { total: 0, free: 0 };
  // The owner's VRAM cap reserves everything above it for their own programs.
  const reserved = config.maxVramBytes !== undefined ? Math.max(0, vram.total - config.maxVramBytes) : 0;
  return fitSequences({ backend: onGpu ? 'gpu' : 'cpu', cores: availableParallelism(), freeRamBytes: freemem(), freeVramBytes: Math.max(0, vram.free - reserved), perSequenceBytes });
}

/** Thrown when every sequence is in use. */
export class EngineBusyError extends Error {
  constructor() {
    super('Every context sequence is busy.');
  }
}
