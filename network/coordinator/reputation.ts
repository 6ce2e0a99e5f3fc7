/**
 * Reputation: how much traffic a worker identity has earned, from what the coordinator itself
 * saw. A new identity costs an attacker nothing, so it starts low and must earn traffic with
 * clean work; disputes (claims above the coordinator's count), cut-offs (output past the
 * bound), failed spot checks and lost jobs lower it quickly, clean jobs raise it slowly. Failed
 * spot checks also add strikes, and enough strikes eject the identity for good. Pure: the store
 * persists the numbers, the router reads them.
 */
import type { WorkerRecord } from './store.js';

/** Where a new identity starts (the router divides by this: new workers look 5× slower). */
export const NEW_IDENTITY_REPUTATION = 0.2;
/** Strikes (failed spot checks) after which an identity is ejected. */
export const EJECT_STRIKES = 3;
/** Weight of the newest sample in the coordinator's speed averages. */
const SPEED_WEIGHT = 0.3;

/** Something the coordinator saw a worker do. */
export type ReputationEvent = 'clean' | 'dispute' | 'cut_off' | 'verify_failed' | 'lost';

/** How each event moves the score (multiplied; clean moves a fraction of the way to 1). */
export const REPUTATION_RULES: Readonly<Record<ReputationEvent, { factor: number; strike: boolean }>> = {
  clean: { factor: 0.05, strike: false },
  dispute: { factor: 0.5, strike: false },
  cut_off: { factor: 0.3, strike: false },
  verify_failed: { factor: 0.1, strike: true },
  lost: { factor: 0.85, strike: false },
};

/** The record of an identity seen for the first time. */
export function newWorkerRecord(workerId: string, identityKey: string, now: number): WorkerRecord {
  return {
    workerId,
    identityKey,
    firstSeen: now,
    reputation: NEW_IDENTITY_REPUTATION,
    strikes: 0,
    cleanJobs: 0,
    disputes: 0,
    cutoffs: 0,
    verifyFailures: 0,
    lostJobs: 0,
    ttftMs: 0,
    tokensPerSecond: 0,
    ejectedAt: null,
  };
}

/** The record after an event (a new object; ejection happens at EJECT_STRIKES). */
export function applyReputationEvent(record: WorkerRecord, event: ReputationEvent, now: number): WorkerRecord {
  const rule = REPUTATION_RULES[event];
  const next = { ...record };
  next.reputation = event === 'clean' ? record.reputation + (1 - record.reputation) * rule.factor : record.reputation * rule.factor;
  if (event === 'clean') next.cleanJobs++;
  if (event === 'dispute') next.disputes++;
  if (event === 'cut_off') next.cutoffs++;
  if (event === 'verify_failed') next.verifyFailures++;
  if (event === 'lost') next.lostJobs++;
  if (rule.strike) next.strikes++;
  if (next.strikes >= EJECT_STRIKES && next.ejectedAt === null) next.ejectedAt = now;
  return next;
}

/**
 * The record of an ejected identity the operator takes back (its owner fixed what made its
 * answers fail): no strikes, and the standing of a new identity; its history stays counted.
 */
export function reinstatedRecord(record: WorkerRecord): WorkerRecord {
  return { ...record, ejectedAt: null, strikes: 0, reputation: NEW_IDENTITY_REPUTATION };
}

/** A job's speed as the coordinator measured it (either may be missing). */
export interface SpeedSample {
  ttftMs?: number;
  tokensPerSecond?: number;
}

/**
 * What the coordinator saw of one attempt, as a speed sample: its time to first token (from the
 * offer, at least 1 ms) and, over 4 tokens or more, its tokens per second after the first. A job
 * through the bus saw the round trip to the worker's instance on top (`relayMs`): that is the
 * path's, which routing adds back for the next job sent that way, not the worker's.
 */
export function attemptSpeed(times: { offeredAt: number; firstChunkAt: number; lastChunkAt?: number | undefined }, tokens: number, relayMs = 0): SpeedSample {
  const seconds = ((times.lastChunkAt ?? times.firstChunkAt) - times.firstChunkAt) / 1000;
  return { ttftMs: Math.max(1, times.firstChunkAt - times.offeredAt - relayMs), ...(tokens >= 4 && seconds > 0 ? { tokensPerSecond: (tokens - 1) / seconds } : {}) };
}

/** Folds one coordinator-measured job into the speed averages (a value ≤ 0 is "not measured"). */
export function observeSpeed(record: WorkerRecord, sample: SpeedSample): WorkerRecord {
  const blend = (old: number, value: number | undefined) => (value === undefined || !(value > 0) ? old : old > 0 ? old + SPEED_WEIGHT * (value - old) : value);
  return { ...record, ttftMs: blend(record.ttftMs, sample.ttftMs), tokensPerSecond: blend(record.tokensPerSecond, sample.tokensPerSecond) };
}

/** The record after one event and, for clean work, its speed sample: what a store applies in one transaction. */
export function applyWorkerEvent(record: WorkerRecord, event: ReputationEvent, now: number, speed?: SpeedSample): WorkerRecord {
  const next = applyReputationEvent(record, event, now);
  return speed ? observeSpeed(next, speed) : next;
}
