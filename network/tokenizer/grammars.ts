/**
 * The grammars of JSON output (`response_format`), built the same way wherever a job's answer is
 * produced or judged: the worker's engine enforces them while it samples, and the coordinator's
 * verifier walks them along an answer it re-scores (verifier.ts). Building one parses the schema,
 * so they are cached per schema.
 */
import type { Llama, LlamaGrammar } from 'node-llama-cpp';
import type { JobParams } from '../protocol/job-schemas.js';
import { normalizeJsonSchema } from '../protocol/json-schema.js';

/** A job the engine refuses as asked (a client error: never retried elsewhere). */
export class InvalidJobError extends Error {}

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
