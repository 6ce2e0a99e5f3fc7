/** The set of connected, handshaken workers, keyed by worker id. */
import { EventEmitter } from 'node:events';
import { CLOSE_CODES, type WorkerSession } from './worker-session.js';
import type { Tier } from '../protocol/job-schemas.js';

interface RegistryEvents {
  added: [WorkerSession];
  removed: [WorkerSession, string];
  capacity: [];
}

/** Holds one session per worker id; a reconnecting worker replaces its stale session. */
export class WorkerRegistry extends EventEmitter<RegistryEvents> {
  private readonly sessions = new Map<string, WorkerSession>();
  /** Identity key first seen for each worker id: no one else may publish as that worker. */
  private readonly identities = new Map<string, string>();

  /** Trust on first use: binds a worker id to the first identity key it shows. */
  claimIdentity(workerId: string, identityKey: string): boolean {
    const known = this.identities.get(workerId);
    if (known === undefined) this.identities.set(workerId, identityKey);
    return known === undefined || known === identityKey;
  }

  /** Starts tracking a session; call once it is ready (its id is known). */
  add(session: WorkerSession): void {
    const stale = this.sessions.get(session.id);
    if (stale && stale !== session) stale.close(CLOSE_CODES.replaced, 'replaced by a newer connection');
    this.sessions.set(session.id, session);
    session.identityCheck = (workerId, key) => this.claimIdentity(workerId, key);
    session.on('capacity', () => this.emit('capacity'));
    session.once('closed', (reason) => {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
      this.emit('removed', session, reason);
    });
    this.emit('added', session);
  }

  /** The session of a connected worker. */
  get(workerId: string): WorkerSession | undefined {
    return this.sessions.get(workerId);
  }

  /** The highest price coefficient among connected workers serving `model` (at least 1). */
  maxCoefficient(model: string): number {
    let max = 1;
    for (const s of this.sessions.values()) if (s.models.has(model)) max = Math.max(max, s.priceCoefficient);
    return max;
  }

  /** Every connected worker. */
  all(): IterableIterator<WorkerSession> {
    return this.sessions.values();
  }

  /** Number of connected workers. */
  get size(): number {
    return this.sessions.size;
  }

  /** Model ids served by at least one connected worker, with the largest context offered. */
  models(): Map<string, { contextSize: number; workers: number; tiers: Set<Tier> }> {
    const out = new Map<string, { contextSize: number; workers: number; tiers: Set<Tier> }>();
    for (const s of this.sessions.values()) {
      for (const m of s.capabilities?.models ?? []) {
        const seen = out.get(m.id) ?? { contextSize: 0, workers: 0, tiers: new Set<Tier>() };
        seen.tiers.add(s.tier);
        out.set(m.id, { contextSize: Math.max(seen.contextSize, m.contextSize), workers: seen.workers + 1, tiers: seen.tiers });
      }
    }
    return out;
  }

  /** Closes every session (coordinator shutdown). */
  closeAll(): void {
    for (const s of [...this.sessions.values()]) s.close(CLOSE_CODES.shuttingDown, 'coordinator shutting down');
  }
}
