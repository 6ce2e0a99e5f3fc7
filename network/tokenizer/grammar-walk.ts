/**
 * A JSON grammar stepped along an answer token by token, to ask at each position which tokens it
 * allows. node-llama-cpp steps a grammar only inside its own sampling loop; this reaches the same
 * native calls its LlamaChat uses to test and accept a token (`AddonSampler`'s
 * canBeNextTokenForGrammarEvaluationState and acceptGrammarEvaluationStateToken). They are not
 * public API, so `supported` checks for them: without them (another node-llama-cpp) answers in
 * JSON are simply not re-scored, as before, and the coordinator says so when it loads a verifier.
 * verifier.test.ts holds them to the engine's own grammar sampling.
 */
import { LlamaGrammarEvaluationState, type Llama, type LlamaGrammar, type LlamaModel, type Token } from 'node-llama-cpp';

/** The two native calls. */
interface GrammarCalls {
  canBeNextTokenForGrammarEvaluationState(state: unknown, token: number): boolean;
  acceptGrammarEvaluationStateToken(state: unknown, token: number): void;
}

function callsOf(llama: Llama): GrammarCalls | undefined {
  const sampler = (llama as unknown as { _bindings?: { AddonSampler?: Partial<GrammarCalls> } })._bindings?.AddonSampler;
  if (typeof sampler?.canBeNextTokenForGrammarEvaluationState !== 'function' || typeof sampler.acceptGrammarEvaluationStateToken !== 'function') return undefined;
  return sampler as GrammarCalls;
}

/** One grammar's state along one answer. */
export class GrammarWalk {
  private readonly calls: GrammarCalls;
  private readonly state: unknown;
  /** Tokens already tested at the current position (a position asks about many). */
  private readonly tested = new Map<Token, boolean>();

  constructor(llama: Llama, model: LlamaModel, grammar: LlamaGrammar) {
    const calls = callsOf(llama);
    const state = (new LlamaGrammarEvaluationState({ model, grammar }) as unknown as { _state?: unknown })._state;
    if (!calls || state === undefined) throw new Error('This node-llama-cpp cannot step a grammar by hand.');
    this.calls = calls;
    this.state = state;
  }

  /** Whether this node-llama-cpp exposes what a walk needs. */
  static supported(llama: Llama): boolean {
    return callsOf(llama) !== undefined;
  }

  /** Whether the grammar allows `token` next. */
  allows(token: Token): boolean {
    let allowed = this.tested.get(token);
    if (allowed === undefined) {
      allowed = this.calls.canBeNextTokenForGrammarEvaluationState(this.state, token);
      this.tested.set(token, allowed);
    }
    return allowed;
  }

  /** Moves past `token` (which the grammar allows). */
  accept(token: Token): void {
    this.calls.acceptGrammarEvaluationStateToken(this.state, token);
    this.tested.clear();
  }
}
