/**
 * Applies what the coordinator saw a worker do to its durable record (reputation.ts decides the
 * numbers) and to its live session, which the router reads. An identity that reaches the
 * strike limit is ejected: its session is closed and its key refused from then on.
 */
import type { ReputationEvent, SpeedSample } from './reputation.js';
import { callStore, type CoordinatorStore, type Dispute, type WorkerEvent } from './store.js';
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

  /**
   * Records one event (and, for clean work, a speed sample) for a worker identity. On a store
   * reached over the network the event loop does not wait: the live session follows once the
   * store answers (a failure is logged; the record is then as it was).
   */
  record(workerId: string, event: ReputationEvent, speed?: SpeedSample): void {
    // One store call: the read and the write are one transaction where instances share the store.
    const now = Date.now();
    const { nonBlocking } = this.store;
    if (!nonBlocking) return this.applied(workerId, event, this.store.recordWorkerEvent(workerId, event, now, speed));
    nonBlocking.recordWorkerEvent(workerId, event, now, speed).then(
      (applied) => this.applied(workerId, event, applied),
      (error: unknown) => this.logger.error({ workerId, event, err: error instanceof Error ? error.message : String(error) }, 'recording a worker event failed'),
    );
  }

  /** Mirrors a stored event on the worker's live session; ejects it when this event crossed the limit. */
  private applied(workerId: string, event: ReputationEvent, applied: WorkerEvent | undefined): void {
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
    callStore(this.store, (store) => store.recordDispute(dispute)).catch((error: unknown) =>
      this.logger.error({ ...dispute, err: error instanceof Error ? error.message : String(error) }, 'recording a dispute failed'),
    );
    this.logger.warn({ ...dispute }, 'worker claim cut');
  }
}
