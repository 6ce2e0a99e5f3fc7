/**
 * Spot verification of a worker's answer: one teacher-forced pass of the same model over
 * prompt + answer (node-llama-cpp's controlledEvaluate scores every position in one batch), in
 * the spirit of TOPLOC and proof of sampling. Each returned token must be what the job's sampler
 * could have produced there: the most likely token for a greedy job (near-ties allowed, since
 * GPUs and CPUs round differently), a token inside the top-k / top-p set otherwise. A worker
 * serving another model, or inventing text, fails nearly every position.
 *
 * Runs on the coordinator with the catalog's own file (pinned by SHA-256), on the CPU.
 */
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token, ChatWrapper } from 'node-llama-cpp';
import { resolveChatWrapper } from 'node-llama-cpp';
import type { ChatMessage } from '../protocol/chat.js';
import type { JobParams } from '../protocol/job-schemas.js';
import { promptTokens } from './chat-history.js';
import { cpuLlama } from './token-counter.js';

/** node-llama-cpp's sampler defaults when a job does not set them (LlamaChat). */
const DEFAULT_TOP_K = 40;
const DEFAULT_TOP_P = 0.95;
/** A greedy token within this ratio of the top probability counts as the top (hardware rounding). */
const NEAR_TIE = 0.9;
/** Slack on top-p, for the same reason. */
const TOP_P_SLACK = 0.02;

/** What one check found. */
export interface VerifyScore {
  /** Answer tokens scored. */
  positions: number;
  /** Positions where the returned token is outside what the sampler allows. */
  mismatches: number;
}

/** One answer to check. */
export interface VerifyInput {
  messages: readonly ChatMessage[];
  /** Text generated before this answer (a continuation), '' for none. */
  before: string;
  text: string;
  params: Pick<JobParams, 'temperature' | 'topP'>;
}

/** True when a score is a failure: more than 5 % of positions, and at least 2, out of the allowed set. */
export function failsCheck(score: VerifyScore): boolean {
  return score.mismatches >= 2 && score.mismatches > 0.05 * score.positions;
}

/** A loaded model that re-scores answers; one check at a time. */
export class Verifier {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
    private readonly chatWrapper: ChatWrapper,
  ) {}

  /** Loads the whole model file (CPU) with a context of `contextSize` tokens. */
  static async open(path: string, options: { threads: number; contextSize?: number }): Promise<Verifier> {
    const llama = await cpuLlama();
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    const context = await model.createContext({ contextSize: Math.min(options.contextSize ?? 4096, model.trainContextSize), sequences: 1, threads: options.threads });
    return new Verifier(model, context, context.getSequence(), resolveChatWrapper(model));
  }

  /** The context size: prompt + answer beyond it cannot be checked. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** Scores an answer; undefined when it does not fit the verifier's context or is empty. */
  score(input: VerifyInput): Promise<VerifyScore | undefined> {
    const run = this.queue.then(() => this.scoreNow(input));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async scoreNow(input: VerifyInput): Promise<VerifyScore | undefined> {
    const prompt = promptTokens(this.model, this.chatWrapper, input.messages, input.before || undefined);
    const answer = this.model.tokenize(input.text, false);
    if (answer.length === 0 || prompt.length === 0 || prompt.length + answer.length > this.contextSize) return undefined;
    const greedy = input.params.temperature === 0;
    const options = greedy ? { temperature: 1, topK: 8, topP: 1 } : { temperature: input.params.temperature, topK: DEFAULT_TOP_K, topP: Math.min(1, (input.params.topP ?? DEFAULT_TOP_P) + TOP_P_SLACK) };
    const all: Token[] = [...prompt, ...answer];
    const firstScored = prompt.length - 1;
    const items = all.slice(0, -1).map((token, i) => (i >= firstScored ? ([token, { generateNext: { probabilities: true, options } }] as const) : token));
    await this.sequence.clearHistory();
    const results = await this.sequence.controlledEvaluate(items as Parameters<LlamaContextSequence['controlledEvaluate']>[0]);
    let mismatches = 0;
    for (let i = firstScored; i < all.length - 1; i++) {
      const next = all[i + 1] as Token;
      const probabilities = results[i]?.next.probabilities;
      if (!probabilities || !allowed(probabilities, next, greedy)) mismatches++;
    }
    return { positions: answer.length, mismatches };
  }

  /** Frees the context and the model. */
  async dispose(): Promise<void> {
    await this.queue;
    await this.context.dispose();
    await this.model.dispose();
  }
}

/** Whether `token` is a choice the sampler allowed, given the (sorted) probabilities. */
function allowed(probabilities: Map<Token, number>, token: Token, greedy: boolean): boolean {
  const p = probabilities.get(token);
  if (p === undefined) return false;
  if (!greedy) return true;
  const top = probabilities.values().next().value ?? 0;
  return p >= NEAR_TIE * top;
}
