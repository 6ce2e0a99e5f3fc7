/**
 * Versions of the worker ⇄ coordinator wire protocol.
 * Version 2: the coordinator challenges, the worker proves its identity key in hello, welcome
 * carries the settlement identity and prices, receipts are numbered and acknowledged.
 * Version 3: the coordinator tells a worker when one of its answers failed a check
 * (`check_failed`), so its owner hears of it before the identity is ejected.
 * Version 4: a thinking model's thoughts travel apart from the answer: the worker streams them
 * as `reasoning` in `job.chunk`, and a job continued after a lost worker carries the thought
 * so far as `continuationReasoning` in `job.offer`.
 * Version 5: the worker claims its prompt's token count with the first piece of an answer
 * (`promptTokens` in the first `job.chunk` or `job.sealed_chunk`), not only in `job.done`, so a
 * job that ends before it (the client left, the worker was lost) still has the claim to judge a
 * client's receipt against.
 * A coordinator speaks every version in [MIN_PROTOCOL_VERSION, PROTOCOL_VERSION]; a worker
 * announces the range it speaks in `hello`, and the highest common version wins.
 */

/** The newest protocol version this build speaks. */
export const PROTOCOL_VERSION = 5;

/** The oldest protocol version this build still speaks. */
export const MIN_PROTOCOL_VERSION = 2;

/** Coordinator frames newer than the oldest version spoken: sent only where the negotiated version has them. */
export const FRAME_SINCE: Readonly<Record<string, number>> = { check_failed: 3 };

/** Optional fields newer than the oldest version spoken, by frame type (either direction). */
const FIELD_SINCE: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'job.chunk': { reasoning: 4, promptTokens: 5 },
  'job.sealed_chunk': { promptTokens: 5 },
  'job.offer': { continuationReasoning: 4 },
};

/**
 * A frame as a peer on `version` reads it: without the optional fields that version lacks (its
 * schema is strict, so it would refuse the frame). Before version 4 a worker's thoughts are not
 * sent apart and a continued job starts its thought again, as those versions did.
 */
export function forVersion<F extends { type: string }>(frame: F, version: number): F {
  const since = FIELD_SINCE[frame.type];
  if (!since) return frame;
  const dropped = Object.keys(since).filter((field) => (since[field] ?? 0) > version && field in frame);
  if (dropped.length === 0) return frame;
  const copy: Record<string, unknown> = { ...frame };
  for (const field of dropped) delete copy[field];
  return copy as F;
}

/** A closed range of protocol versions. */
export interface VersionRange {
  min: number;
  max: number;
}

/** The outcome of matching a peer's version range against ours. */
export type VersionMatch =
  | { ok: true; version: number }
  | { ok: false; code: 'client_too_old' | 'server_too_old'; message: string };

/**
 * Picks the highest version both sides speak, or says which side is too old.
 * "client" is the worker (it connects), "server" the coordinator.
 */
export function negotiateVersion(peer: VersionRange, ours: VersionRange = { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION }): VersionMatch {
  if (peer.max < ours.min) {
    return { ok: false, code: 'client_too_old', message: `Worker speaks protocol ${peer.min}–${peer.max}; this coordinator needs at least ${ours.min}. Update Silkworm.` };
  }
  if (peer.min > ours.max) {
    return { ok: false, code: 'server_too_old', message: `Worker needs protocol ${peer.min} or newer; this coordinator speaks at most ${ours.max}. The coordinator must be updated.` };
  }
  return { ok: true, version: Math.min(peer.max, ours.max) };
}
