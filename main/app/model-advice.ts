/**
 * Which model to serve, as advice: for each catalog model, what this PC would earn per hour at
 * the network's current prices, and the best one recommended. The speed is estimated from what
 * this PC measured for the model it serves: generation is bound by memory bandwidth, so tokens
 * per second scale with 1 / model size; a model only partly in GPU memory runs at a fraction of
 * that. Earnings count generated tokens at full load, after the coordinator's commission.
 */
import type { CoordinatorTerms } from '../worker/worker.js';
import type { FitVerdictView } from '../ipc/views-models.js';

/** What this PC measured for the model it serves (or served last). */
export interface MeasuredSpeed {
  sizeBytes: number;
  tokensPerSecond: number;
}

/** A model's estimate: speed, and nanotons per hour at full load. */
export interface EarningEstimate {
  tokensPerSecond: number;
  nanotonsPerHour: bigint;
}

/** How much slower a model runs when part of it is in system memory (a rough, cautious factor). */
const PARTLY_ON_GPU = 0.3;

/** The estimate for one model; null when it does not fit, or speed or prices are unknown. */
export function estimateEarning(model: { id: string; sizeBytes: number; verdict: FitVerdictView }, measured: MeasuredSpeed | null, pricing: CoordinatorTerms['pricing'] | undefined): EarningEstimate | null {
  if (!measured || !pricing || measured.tokensPerSecond <= 0 || model.sizeBytes <= 0) return null;
  if (model.verdict === 'too-big' || model.verdict === 'unknown') return null;
  const speed = measured.tokensPerSecond * (measured.sizeBytes / model.sizeBytes) * (model.verdict === 'partial-gpu' ? PARTLY_ON_GPU : 1);
  const price = BigInt((pricing.models[model.id] ?? pricing.default).completionPerMillion);
  const tokensPerHour = BigInt(Math.round(speed * 3600));
  const nanotonsPerHour = (tokensPerHour * price * BigInt(10_000 - pricing.commissionBps)) / (1_000_000n * 10_000n);
  return { tokensPerSecond: Math.round(speed * 10) / 10, nanotonsPerHour };
}

/** The model that earns most per hour among those that fit well (fully on the GPU, or on a CPU-only PC); null when none can be estimated. */
export function recommendModel(items: readonly { id: string; verdict: FitVerdictView; estimate: EarningEstimate | null }[]): string | null {
  const good = items.filter((item) => item.estimate && (item.verdict === 'fits-gpu' || item.verdict === 'cpu-only'));
  const pool = good.length > 0 ? good : items.filter((item) => item.estimate);
  let best: (typeof items)[number] | null = null;
  for (const item of pool) if (!best || (item.estimate?.nanotonsPerHour ?? 0n) > (best.estimate?.nanotonsPerHour ?? 0n)) best = item;
  return best?.id ?? null;
}
