/**
 * Routing: which connected worker gets a job. Pure, so the rule is testable on its own.
 *
 * Eligible: sharing on, a free slot, the model, the tier at least the one required, a price
 * coefficient within the client's cap, a context that fits the job, not excluded, not ejected.
 * Among those, the lowest  expected time × (running + 1) ÷ reputation  wins, where expected
 * time = time to first token + max_tokens ÷ tokens per second, both as the coordinator measured
 * them (never what the worker reports: pongs and announced speeds are the worker's word), plus,
 * for a worker connected to another instance, the bus's measured round trip to that instance
 * (its offer goes there and its frames come back).
 * An unmeasured worker is assumed to be a typical GPU (PRIOR_*), so it gets a job soon enough to
 * be measured, and what it then shows decides; but reputation starts low for a new identity, so
 * a newcomer gets traffic mainly when established workers are busy. Scores within 1 % tie; ties
 * go to a worker connected to this instance over one reached through another instance (a
 * relayed job costs both instances and the bus a hop per frame), then to the worker handed a
 * job least recently. In a large fleet a random sample of the eligible
 * workers is scored (ROUTE_SAMPLE), so a decision's cost does not grow with the fleet.
 */
import type { Tier } from '../protocol/worker-frames.js';

/** Assumed for a worker not measured yet: a typical consumer GPU on a mid-size model. */
export const PRIOR_TTFT_MS = 250;
export const PRIOR_TOKENS_PER_SECOND = 50;

/** What the router needs to know about a worker. */
export interface RoutableWorker {
  id: string;
  models: ReadonlySet<string>;
  tier: Tier;
  available: boolean;
  running: number;
  maxConcurrentJobs: number;
  lastAssignedAt: number;
  priceCoefficient: number;
  /** Context size per model, in tokens. */
  contextSizes: ReadonlyMap<string, number>;
  /** Reputation in (0, 1] (reputation.ts); 0 = ejected. */
  reputation: number;
  /** Coordinator-measured averages; 0 = not measured. */
  ttftMs: number;
  tokensPerSecond: number;
  /** The coordinator instance the worker is connected to; undefined = this one. */
  readonly instance?: string | undefined;
  /**
   * What reaching the worker through the bus adds to a job's time, as this instance measured it
   * (bus.ts: the round trip to the worker's instance); 0 or absent for a worker connected here.
   */
  readonly relayMs?: number;
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
  /** The client's highest acceptable price coefficient. */
  maxCoefficient: number;
  /** Prompt tokens (or a bound) + max_tokens: the context the job needs. */
  contextNeeded: number;
  maxTokens: number;
}

/** Exploration: a small share of decisions picks uniformly, so new workers get measured. */
export interface Exploration {
  rate: number;
  random: () => number;
}

/** True when a worker could take this job at all (ignoring whether it is free right now). */
export function canServe(w: RoutableWorker, request: Omit<RouteRequest, 'exclude' | 'maxTokens'>): boolean {
  return (
    w.reputation > 0 &&
    w.models.has(request.model) &&
    tierSatisfies(w.tier, request.minTier) &&
    w.priceCoefficient <= request.maxCoefficient &&
    (w.contextSizes.get(request.model) ?? 0) >= request.contextNeeded
  );
}

/**
 * True when `request` can be served by no more workers than `than`: the same model, a tier at
 * least as high, a price cap no higher, a context no smaller, and every worker `than` excludes
 * excluded too. Where no worker was free for `than`, none is free for it either (until a worker
 * frees a slot or joins).
 */
export function asksNoLess(request: Omit<RouteRequest, 'maxTokens'>, than: Omit<RouteRequest, 'maxTokens'>): boolean {
  if (request.model !== than.model || TIER_RANK[request.minTier] < TIER_RANK[than.minTier]) return false;
  if (request.maxCoefficient > than.maxCoefficient || request.contextNeeded < than.contextNeeded) return false;
  for (const id of than.exclude) if (!request.exclude.has(id)) return false;
  return true;
}

/** The expected cost of giving this job to this worker (lower is better). */
export function routeScore(w: RoutableWorker, maxTokens: number): number {
  const ttft = w.ttftMs > 0 ? w.ttftMs : PRIOR_TTFT_MS;
  const speed = w.tokensPerSecond > 0 ? w.tokensPerSecond : PRIOR_TOKENS_PER_SECOND;
  return ((ttft + (w.relayMs ?? 0) + (maxTokens * 1000) / speed) * (w.running + 1)) / w.reputation;
}

/** Above this many candidates, routing scores a random sample of them rather than all. */
export const ROUTE_SAMPLE = 64;

/** True when a worker could take this job now. */
function eligibleNow(w: RoutableWorker, request: RouteRequest): boolean {
  return w.available && w.running < w.maxConcurrentJobs && !request.exclude.has(w.id) && canServe(w, request);
}

/**
 * The workers scored for a job. With more than 4 × ROUTE_SAMPLE candidates, up to ROUTE_SAMPLE
 * eligible ones found by random probes (the best of 64 random workers is in the top few
 * percent of the fleet, and routing then costs the same with 100 workers or 100,000); when the
 * probes find none (most of the fleet busy), every candidate is looked at.
 */
function eligibleSample<W extends RoutableWorker>(workers: readonly W[], request: RouteRequest, random: () => number): W[] {
  if (workers.length > 4 * ROUTE_SAMPLE) {
    const found: W[] = [];
    const probed = new Set<number>();
    for (let probe = 0; probe < 4 * ROUTE_SAMPLE && found.length < ROUTE_SAMPLE; probe++) {
      const index = Math.floor(random() * workers.length);
      if (probed.has(index)) continue;
      probed.add(index);
      const w = workers[index];
      if (w && eligibleNow(w, request)) found.push(w);
    }
    if (found.length > 0) return found;
  }
  return workers.filter((w) => eligibleNow(w, request));
}

/** Between two workers whose scores tie: one on this instance first, then the one idle longer. */
function winsTie(w: RoutableWorker, best: RoutableWorker): boolean {
  const local = w.instance === undefined;
  if (local !== (best.instance === undefined)) return local;
  return w.lastAssignedAt < best.lastAssignedAt;
}

/** Picks the best worker for a job, or undefined when none is free right now. */
export function pickWorker<W extends RoutableWorker>(workers: readonly W[] | Iterable<W>, request: RouteRequest, exploration?: Exploration): W | undefined {
  const all = Array.isArray(workers) ? (workers as readonly W[]) : [...workers];
  const eligible = eligibleSample(all, request, exploration?.random ?? Math.random);
  if (eligible.length === 0) return undefined;
  if (exploration && eligible.length > 1 && exploration.random() < exploration.rate) {
    return eligible[Math.floor(exploration.random() * eligible.length)];
  }
  let best: W | undefined;
  let bestScore = Infinity;
  for (const w of eligible) {
    const score = routeScore(w, request.maxTokens);
    const tie = best !== undefined && Math.abs(score - bestScore) <= 0.01 * bestScore;
    if ((!tie && score < bestScore) || (tie && best !== undefined && winsTie(w, best))) {
      best = w;
      bestScore = tie ? Math.min(score, bestScore) : score;
    }
  }
  return best;
}
