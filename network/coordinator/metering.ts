/**
 * Metering: what each worker is credited and the client charged for a job, from what the
 * coordinator counted or bounded itself. A worker's claim can only lower a figure, never raise
 * it: billed = min(claim, the coordinator's figure). Pure, so the rule reads like a table.
 *
 * The coordinator's figures:
 * - completion, transport mode with the model's vocabulary: the exact token count of the text
 *   the attempt streamed; without it: the UTF-8 bytes streamed (no token decodes to nothing);
 * - completion, sealed mode: the plaintext bytes of the sealed chunks, then the client's signed
 *   receipt (the gateway counts the opened text with the same tokenizer; a client whose receipts
 *   fall short of many workers' claims has them paused, client-receipts.ts);
 * - every attempt: at most the max_tokens it was given;
 * - prompt: counted with the vocabulary (chat template included), else a bound from the
 *   request's size; billed once per job, to the attempt that first streamed (or, when none did,
 *   the last one that accepted the job), and only once some worker accepted it.
 * A claim above the coordinator's figure (beyond the tolerance of honest re-tokenization) is a
 * dispute, counted against the worker.
 */
import type { Usage } from '../protocol/worker-frames.js';

/** What the coordinator saw of one attempt (one worker's turn at a job). */
export interface AttemptObservation {
  workerId: string;
  payoutAddress: string | undefined;
  coefficient: number;
  /** The worker accepted the job (its engine started on the prompt). */
  accepted: boolean;
  /** The attempt streamed at least one piece of answer. */
  streamed: boolean;
  /** The coordinator's figure for this attempt's completion tokens (count or bound, ≤ its max_tokens). */
  completionFigure: number;
  /** True when completionFigure is an exact tokenizer count, false when it is a size bound. */
  completionExact: boolean;
  /** What the worker claimed: its job.done usage, or the sum of its chunk `tokens` (bounded at the attempt's max_tokens + 1). */
  completionClaim: number;
  /** The worker's prompt claim (from job.done, else from its first chunk), when the attempt had no continuation. */
  promptClaim?: number;
}

/** The job as a whole. */
export interface MeterInput {
  attempts: readonly AttemptObservation[];
  /** The coordinator's prompt figure (count or bound). */
  promptFigure: number;
  promptExact: boolean;
  /** Sealed jobs: what the client's gateway counted and signed. */
  clientReceipt?: Usage;
}

/** One worker's billed part of a job. */
export interface MeteredPart {
  workerId: string;
  payoutAddress: string | undefined;
  coefficient: number;
  usage: Usage;
  /** The worker's claims, when they were above what is billed. */
  claimed?: Usage;
}

/** A claim the coordinator cut. */
export interface MeteredDispute {
  workerId: string;
  kind: 'completion_over_count' | 'completion_over_bound' | 'prompt_over_count' | 'prompt_over_bound' | 'over_client_receipt';
  claimed: number;
  counted: number;
}

/** Parts to credit (empty parts dropped) and disputes to record. */
export interface MeterResult {
  parts: MeteredPart[];
  disputes: MeteredDispute[];
}

/**
 * How far an exact count may sit below an honest claim: an engine may generate a token split
 * the tokenizer would merge ("a" + "b" where the vocabulary has "ab"), so its own count can be a
 * little higher. Billing still takes the lower figure; only larger gaps are disputes.
 */
export function beyondTolerance(claimed: number, counted: number, exact: boolean): boolean {
  return exact ? claimed > Math.floor(counted * 1.1) + 2 : claimed > counted;
}

/** The attempt credited with the prompt: the first that streamed, else the last that accepted. */
export function promptAttempt(attempts: readonly AttemptObservation[]): number {
  const streamed = attempts.findIndex((a) => a.streamed);
  if (streamed >= 0) return streamed;
  for (let i = attempts.length - 1; i >= 0; i--) if (attempts[i]?.accepted) return i;
  return -1;
}

/** Meters a job (see the rules at the top of this file). */
export function meterJob(input: MeterInput): MeterResult {
  const disputes: MeteredDispute[] = [];
  const promptIndex = promptAttempt(input.attempts);
  const parts = input.attempts.map((a, index): MeteredPart => {
    let completion = Math.min(a.completionClaim, a.completionFigure);
    if (beyondTolerance(a.completionClaim, a.completionFigure, a.completionExact)) {
      disputes.push({ workerId: a.workerId, kind: a.completionExact ? 'completion_over_count' : 'completion_over_bound', claimed: a.completionClaim, counted: a.completionFigure });
    }
    let prompt = 0;
    if (index === promptIndex) {
      prompt = input.promptFigure;
      if (a.promptClaim !== undefined) {
        if (beyondTolerance(a.promptClaim, input.promptFigure, input.promptExact)) {
          disputes.push({ workerId: a.workerId, kind: input.promptExact ? 'prompt_over_count' : 'prompt_over_bound', claimed: a.promptClaim, counted: input.promptFigure });
        }
        prompt = Math.min(prompt, a.promptClaim);
      }
    }
    const receipt = input.clientReceipt;
    if (receipt) {
      // Sealed jobs are one attempt: the client's count caps it. A claim above it beyond the
      // tolerance is on file against both sides (client-receipts.ts), as neither can be believed alone.
      const promptCut = index === promptIndex && prompt > receipt.promptTokens && a.promptClaim !== undefined && beyondTolerance(a.promptClaim, receipt.promptTokens, true);
      if (beyondTolerance(a.completionClaim, receipt.completionTokens, true) || promptCut) {
        disputes.push({ workerId: a.workerId, kind: 'over_client_receipt', claimed: a.completionClaim, counted: receipt.completionTokens });
      }
      completion = Math.min(completion, receipt.completionTokens);
      if (index === promptIndex) prompt = Math.min(prompt, receipt.promptTokens);
    }
    const usage = { promptTokens: prompt, completionTokens: completion };
    const claimedPrompt = index === promptIndex ? (a.promptClaim ?? prompt) : 0;
    const cut = a.completionClaim > completion || claimedPrompt > prompt;
    return { workerId: a.workerId, payoutAddress: a.payoutAddress, coefficient: a.coefficient, usage, ...(cut ? { claimed: { promptTokens: claimedPrompt, completionTokens: a.completionClaim } } : {}) };
  });
  return { parts: parts.filter((p) => p.usage.promptTokens > 0 || p.usage.completionTokens > 0), disputes };
}

/**
 * A sealed job the coordinator sent itself (a probe, sealed-probes.ts): it wrote the prompt and
 * opened the answer, and counted both with the model's own tokenizer, so its counts are exact and
 * are the coordinator's figures, like a transport job's. A claim above them beyond the tolerance
 * is a dispute against the worker. The prompt's count replaces the sealed-size bound, which does
 * not cover what the chat template adds (a job's tools are documented in its prompt); the
 * completion's can only fall below the bound of what was streamed.
 */
export function withOwnCount(input: MeterInput, counted: Usage): MeterInput {
  return {
    ...input,
    promptFigure: counted.promptTokens,
    promptExact: true,
    attempts: input.attempts.map((a) => ({ ...a, completionFigure: Math.min(a.completionFigure, counted.completionTokens), completionExact: true })),
  };
}
