/**
 * Spot checks on the coordinator (`--verify-rate`): a random share of transport jobs for models
 * whose file the coordinator holds is re-scored by the same model (network/tokenizer/verifier.ts)
 * before it is settled. A failing worker earns nothing for the job, the client pays nothing for
 * its part, and the worker takes a strike (reputation.ts ejects at the limit). Clients' sealed
 * jobs cannot be checked: the coordinator never sees their text (sealed workers are checked by
 * probes instead, sealed-probes.ts, with this checker). The verifier applies a job's penalties
 * and JSON grammar as the engine did, and renders a job's tools into its prompt as the engine
 * does; the text of an answer is re-scored, and its calls' arguments under the grammar of the
 * function's parameters, once the verifier confirmed how a call follows the prompt (jobs that
 * force a call are sampled only then). A thinking model's
 * thoughts are re-scored with its text, on plain jobs, once the verifier confirmed how its turns
 * are laid out.
 */
import { failsCheck, Verifier } from '../tokenizer/verifier.js';
import type { JobParams } from '../protocol/job-schemas.js';
import type { SpotCheck } from './job-manager.js';
import type { ModelMeters } from './model-meters.js';
import type { Logger } from './log.js';

/** Options of the spot checker. */
export interface SpotCheckOptions {
  /** Share of eligible transport jobs checked, 0..1. */
  rate: number;
  meters: ModelMeters;
  models: readonly string[];
  threads: number;
  logger: Logger;
  random?: () => number;
  /** Most checks waiting; beyond it, jobs settle unchecked (a check never holds money hostage). */
  maxQueued?: number;
}

/** Samples jobs and re-scores them with the held model files. */
export class SpotChecker implements SpotCheck {
  private readonly verifiers = new Map<string, Verifier>();
  private queued = 0;

  /** Resolves once every held model's verifier is loaded (or failed to load, which is logged). */
  readonly loaded: Promise<void>;

  private constructor(private readonly options: SpotCheckOptions) {
    this.loaded = this.load();
  }

  /**
   * Starts loading a verifier for every held model, in the background: a coordinator restarting
   * on a busy machine listens at once, and jobs are sampled per model as its verifier is ready.
   */
  static start(options: SpotCheckOptions): SpotChecker {
    return new SpotChecker(options);
  }

  private async load(): Promise<void> {
    for (const id of this.options.models) {
      const held = this.options.meters.get(id);
      if (!held) continue;
      try {
        const verifier = await Verifier.open(held.path, { threads: this.options.threads });
        if (verifier.hides.length > 0 && !verifier.scoresThoughts) {
          // Not kept: its memory would serve no check.
          await verifier.dispose();
          this.options.logger.warn({ model: id, hides: verifier.hides }, 'answers of this model are not re-scored (no spot checks, no probes): it writes thoughts apart from its answers, laid out in a way the verifier could not confirm, and scoring them out of place would fail honest workers');
          continue;
        }
        if (verifier.hides.length === 0 && !verifier.scoresCalls) this.options.logger.warn({ model: id }, 'tool calls of this model are not re-scored: the verifier could not confirm how a call follows the prompt');
        if (verifier.scoresThoughts) this.options.logger.info({ model: id }, 'this model thinks before it answers: its plain jobs are re-scored with their thoughts; jobs with penalties, JSON output or tools are not');
        this.verifiers.set(id, verifier);
        this.options.logger.info({ model: id, rate: this.options.rate }, 'verifier loaded: answers of this model can be re-scored');
        if (!verifier.scoresThoughts && !verifier.canScore({ responseFormat: { type: 'json_object' } })) this.options.logger.warn({ model: id }, 'answers in JSON cannot be re-scored with this node-llama-cpp: they are never spot-checked');
      } catch (error) {
        this.options.logger.error({ model: id, err: String(error) }, 'spot checks and probes off for this model: its verifier did not load');
      }
    }
  }

  /** Whether answers of this model, to a job with these params, can be re-scored (its verifier is loaded). */
  checks(model: string, params: Pick<JobParams, 'tools' | 'toolChoice' | 'responseFormat' | 'presencePenalty' | 'frequencyPenalty'> = {}): boolean {
    return this.verifiers.get(model)?.canScore(params) ?? false;
  }

  sample(model: string, params: JobParams): boolean {
    if (!this.checks(model, params) || this.queued >= (this.options.maxQueued ?? 64)) return false;
    return (this.options.random ?? Math.random)() < this.options.rate;
  }

  async check(job: Parameters<SpotCheck['check']>[0]): Promise<string[] | undefined> {
    const verifier = this.verifiers.get(job.model);
    if (!verifier) return undefined;
    this.queued++;
    try {
      const failed: string[] = [];
      let scored = 0;
      for (const attempt of job.attempts) {
        const score = await verifier.score({ messages: job.messages, before: attempt.before, beforeReasoning: attempt.beforeReasoning, text: attempt.text, reasoning: attempt.reasoning, toolCalls: attempt.toolCalls, params: job.params });
        if (score) scored++;
        if (score && failsCheck(score)) {
          failed.push(attempt.workerId);
          this.options.logger.warn({ workerId: attempt.workerId, model: job.model, ...score }, 'spot check failed');
        }
      }
      return scored > 0 ? failed : undefined;
    } finally {
      this.queued--;
    }
  }

  /** Frees every verifier. */
  async dispose(): Promise<void> {
    await this.loaded;
    await Promise.all([...this.verifiers.values()].map((v) => v.dispose()));
  }
}
