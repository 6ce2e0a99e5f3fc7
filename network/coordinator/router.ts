/**
 * Routing: which connected worker gets a job. Pure, so the rule is testable on its own:
 * model match, tier at least the one required, free capacity, then lowest
 * (running + 1) × latency in whole milliseconds; ties go to the worker that was handed a job least recently.
 */
import type { Tier } from '../protocol/worker-frames.js';

/** What the router needs to know about a worker. */
export interface RoutableWorker {
  id: string;
  models: ReadonlySet<string>;
  tier: Tier;
  available: boolean;
  running: number;
  maxConcurrentJobs: number;
  latencyMs: number;
  lastAssignedAt: number;
}

const TIER_RANK: Record<Tier, number> = { unsandboxed: 0, sandboxed: 1, tee: 2 };

/** True when a worker of tier `have` may serve a request that requires tier `need`. */
export function tierSatisfies(have: Tier, need: Tier): boolean {
  return TIER_RANK[have] >= TIER_RANK[need];
}

/** What a job asks of its worker. */
export interface RouteRequest {
  model: string;
  minTier: Tier;
  exclude: ReadonlySet<string>;
}

/** Picks the best worker for a job, or undefined when none is free right now. */
export function pickWorker<W extends RoutableWorker>(workers: Iterable<W>, request: RouteRequest): W | undefined {
  let best: W | undefined;
  let bestScore = Infinity;
  for (const w of workers) {
    if (!w.available || w.running >= w.maxConcurrentJobs) continue;
    if (!w.models.has(request.model) || !tierSatisfies(w.tier, request.minTier) || request.exclude.has(w.id)) continue;
    // Latency in whole milliseconds: sub-millisecond jitter on a LAN should not decide alone.
    const score = (w.running + 1) * Math.max(1, Math.round(w.latencyMs));
    if (score < bestScore || (score === bestScore && best !== undefined && w.lastAssignedAt < best.lastAssignedAt)) {
      best = w;
      bestScore = score;
    }
  }
  return best;
}
