/**
 * A job's params as node-llama-cpp's generation options: sampling, OpenAI's penalties (llama.cpp's
 * frequency and presence penalties over everything generated so far), JSON output through a
 * grammar (`createGrammarForJsonSchema`, or the built-in JSON grammar for `json_object`) and
 * function calling. Grammars are built and cached by network/tokenizer/grammars.ts, which the
 * coordinator's verifier shares, so both enforce the same JSON.
 */
import type { ChatModelFunctions, LlamaGrammar, LLamaChatGenerateResponseOptions } from 'node-llama-cpp';
import type { JobParams } from '../../network/protocol/job-schemas.js';
import { functionsOf } from '../../network/tokenizer/chat-history.js';
import type { GrammarCache } from '../../network/tokenizer/grammars.js';

export { GrammarCache, InvalidJobError } from '../../network/tokenizer/grammars.js';

/** A job whose prompt and max tokens do not fit the context (the engine never truncates). */
export class ContextLengthError extends Error {}


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
