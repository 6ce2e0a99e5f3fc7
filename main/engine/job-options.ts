/**
 * A job's params as node-llama-cpp's generation options: sampling, OpenAI's penalties (llama.cpp's
 * frequency and presence penalties over everything generated so far), JSON output through a
 * grammar (`createGrammarForJsonSchema`, or the built-in JSON grammar for `json_object`) and
 * function calling. Grammars are cached per schema: building one parses the schema each time.
 */
import type { ChatModelFunctions, Llama, LlamaGrammar, LLamaChatGenerateResponseOptions } from 'node-llama-cpp';
import type { JobParams } from '../../network/protocol/job-schemas.js';
import { normalizeJsonSchema } from '../../network/protocol/json-schema.js';
import { functionsOf } from '../../network/tokenizer/chat-history.js';

/** A job the engine refuses as asked (a client error: never retried elsewhere). */
export class InvalidJobError extends Error {}

/** A job whose prompt and max tokens do not fit the context (the engine never truncates). */
export class ContextLengthError extends Error {}

/** The message OpenAI gives for an over-long request. */
export function contextLengthMessage(contextSize: number, promptTokens: number, maxTokens: number): string {
  return `This model's maximum context length is ${contextSize} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`;
}

/** Most grammars kept built. */
const GRAMMAR_CACHE_SIZE = 32;

/** Builds and caches the grammars of JSON output. */
export class GrammarCache {
  private readonly cache = new Map<string, Promise<LlamaGrammar>>();

  constructor(private readonly llama: Llama) {}

  /** The grammar a response format needs; rejects with InvalidJobError when it cannot be built. */
  async get(format: NonNullable<JobParams['responseFormat']>): Promise<LlamaGrammar> {
    const key = format.type === 'json_object' ? 'json' : JSON.stringify(format.schema);
    let grammar = this.cache.get(key);
    if (!grammar) {
      grammar = this.build(format);
      this.cache.set(key, grammar);
      grammar.catch(() => this.cache.delete(key));
      if (this.cache.size > GRAMMAR_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    }
    return grammar;
  }

  private async build(format: NonNullable<JobParams['responseFormat']>): Promise<LlamaGrammar> {
    if (format.type === 'json_object') return this.llama.getGrammarFor('json');
    // Checked again here: the schema came over the wire.
    const checked = normalizeJsonSchema(format.schema);
    if (!checked.ok) throw new InvalidJobError(`The response schema cannot be enforced: ${checked.problem.message}`);
    try {
      return await this.llama.createGrammarForJsonSchema(checked.schema as never);
    } catch (error) {
      throw new InvalidJobError(`The response schema cannot be turned into a grammar: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Generation options every job takes (neither a grammar nor functions). */
export type SamplingOptions = Omit<LLamaChatGenerateResponseOptions<undefined>, 'grammar' | 'functions' | 'documentFunctionParams' | 'maxParallelFunctionCalls' | 'onFunctionCall' | 'onFunctionCallParamsChunk'>;

/** What a job's params set in node-llama-cpp: sampling for every job, then a grammar or functions. */
export interface JobOptions {
  sampling: SamplingOptions;
  grammar?: LlamaGrammar;
  functions?: { functions: ChatModelFunctions; maxParallelFunctionCalls?: number };
}

/** Generation options that follow from a job's params (everything but callbacks and length). */
export async function generationOptions(params: JobParams, grammars: GrammarCache, contextSize: number): Promise<JobOptions> {
  const penalized = params.presencePenalty !== undefined || params.frequencyPenalty !== undefined;
  const functions = functionsOf(params);
  const sampling: SamplingOptions = {
    temperature: params.temperature,
    ...(params.topP !== undefined ? { topP: params.topP } : {}),
    ...(params.seed !== undefined ? { seed: params.seed } : {}),
    ...(params.stop ? { customStopTriggers: params.stop } : {}),
    // OpenAI penalizes every token generated so far, newlines included.
    ...(penalized ? { repeatPenalty: { lastTokens: params.maxTokens, penalizeNewLine: true, ...(params.presencePenalty ? { presencePenalty: params.presencePenalty } : {}), ...(params.frequencyPenalty ? { frequencyPenalty: params.frequencyPenalty } : {}) } } : {}),
    // The prompt was checked to fit with max_tokens: a shift would silently drop part of it.
    contextShift: {
      strategy: () => {
        throw new ContextLengthError(`The answer outgrew the model's context of ${contextSize} tokens.`);
      },
    },
  };
  if (params.responseFormat) return { sampling, grammar: await grammars.get(params.responseFormat) };
  if (functions) return { sampling, functions: { functions, ...(params.parallelToolCalls === false ? { maxParallelFunctionCalls: 1 } : {}) } };
  return { sampling };
}
