/**
 * Versions of the worker ⇄ coordinator wire protocol.
 * Version 2: the coordinator challenges, the worker proves its identity key in hello, welcome
 * carries the settlement identity and prices, receipts are numbered and acknowledged.
 * Version 3: the coordinator tells a worker when one of its answers failed a check
 * (`check_failed`), so its owner hears of it before the identity is ejected.
 * A coordinator speaks every version in [MIN_PROTOCOL_VERSION, PROTOCOL_VERSION]; a worker
 * announces the range it speaks in `hello`, and the highest common version wins.
 */

/** The newest protocol version this build speaks. */
export const PROTOCOL_VERSION = 3;

/** The oldest protocol version this build still speaks. */
export const MIN_PROTOCOL_VERSION = 2;

/** Coordinator frames newer than the oldest version spoken: sent only where the negotiated version has them. */
export const FRAME_SINCE: Readonly<Record<string, number>> = { check_failed: 3 };

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
