/**
 * Applies what the coordinator saw a worker do to its durable record (reputation.ts decides the
 * numbers) and to its live session, which the router reads. An identity that reaches the
 * strike limit is ejected: its session is closed and its key refused from then on.
 */
import type { ReputationEvent, SpeedSample } from './reputation.js';
import type { CoordinatorStore, Dispute } from './store.js';
import type { WorkerRegistry } from './worker-registry.js';
import { CLOSE_CODES } from './worker-session.js';
import type { Logger } from './log.js';

/** Reputation and measured speed, kept in the store and mirrored on live sessions. */
export class WorkerStanding {
  constructor(
    private readonly store: CoordinatorStore,
    private readonly registry: WorkerRegistry,
    private readonly logger: Logger,
  ) {}

  /** Records one event (and, for clean work, a speed sample) for a worker identity. */
  record(workerId: string, event: ReputationEvent, speed?: SpeedSample): void {
    // One store call: the read and the write are one transaction where instances share the store.
    const applied = this.store.recordWorkerEvent(workerId, event, Date.now(), speed);
    if (!applied) return;
    const { before, after: next } = applied;
    const session = this.registry.get(workerId);
    if (session && session.identityKey === next.identityKey) session.applyRecord(next);
    if (event !== 'clean') this.logger.warn({ workerId, event, reputation: Number(next.reputation.toFixed(4)), strikes: next.strikes }, 'worker standing lowered');
    if (next.ejectedAt !== null && before.ejectedAt === null) {
      this.logger.warn({ workerId, strikes: next.strikes }, 'worker ejected');
      session?.send({ type: 'error', code: 'worker_ejected', message: 'This worker failed too many spot checks and is no longer accepted on this network.' });
      session?.close(CLOSE_CODES.ejected, 'worker_ejected');
    }
  }

  /** Keeps a cut claim on file for the operator. */
  dispute(dispute: Dispute): void {
    this.store.recordDispute(dispute);
    this.logger.warn({ ...dispute }, 'worker claim cut');
  }
}
