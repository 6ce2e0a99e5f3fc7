/**
 * Applies what the coordinator saw a worker do to its durable record (reputation.ts decides the
 * numbers) and to its live session, which the router reads. An identity that reaches the
 * strike limit is ejected: its session is closed and its key refused from then on.
 */
import type { ReputationEvent, SpeedSample } from './reputation.js';
import { StoreUnavailableError, type CoordinatorStore, type Dispute, type WorkerEvent } from './store.js';
import type { WorkerRegistry } from './worker-registry.js';
import { CLOSE_CODES } from './worker-session.js';
import type { Logger } from './log.js';
import { RetryLater } from './retry-later.js';

/** Most events and disputes kept while the store cannot be reached; more are logged and dropped. */
const MAX_KEPT = 10_000;

/** A write to the store that may be made again as it was, and how to report its end. */
interface KeptWrite {
  /** Makes the write: on the store's own face, so SQLite's is made (and mirrored) at once. */
  write: () => void | Promise<void>;
  failed: (error: unknown) => void;
}

/** Reputation and measured speed, kept in the store and mirrored on live sessions. */
export class WorkerStanding {
  /** Writes the store could not be reached for, none of them begun: made again until they land. */
  private readonly kept: KeptWrite[] = [];
  private readonly retry = new RetryLater(() => {
    for (const again of this.kept.splice(0)) this.attempt(again);
  });

  constructor(
    private readonly store: CoordinatorStore,
    private readonly registry: WorkerRegistry,
    private readonly logger: Logger,
  ) {}

  /**
   * Records one event (and, for clean work, a speed sample) for a worker identity. On a store
   * reached over the network the event loop does not wait: the live session follows once the
   * store answers. One that could not reach the store at all (or that SQLite could not write)
   * is kept and made again until it lands, with the time it happened; one cut off during the
   * call is logged and dropped, as it may have been recorded already. Never throws: a job's
   * settlement follows its workers' events, and must not wait on them.
   */
  record(workerId: string, event: ReputationEvent, speed?: SpeedSample): void {
    // One store call: the read and the write are one transaction where instances share the store.
    const now = Date.now();
    const remote = this.store.nonBlocking;
    this.attempt({
      write: remote
        ? async () => this.applied(workerId, event, await remote.recordWorkerEvent(workerId, event, now, speed))
        : () => this.applied(workerId, event, this.store.recordWorkerEvent(workerId, event, now, speed)),
      failed: (error) => this.logger.error({ workerId, event, err: error instanceof Error ? error.message : String(error) }, 'recording a worker event failed'),
    });
  }

  /** Writes kept for the store, waiting to be made again. */
  get keptWrites(): number {
    return this.kept.length;
  }

  /** Gives up the kept writes (the coordinator is closing); returns how many there were. */
  stopRetrying(): number {
    this.retry.stop();
    return this.kept.splice(0).length;
  }

  private attempt(item: KeptWrite): void {
    let written: void | Promise<void>;
    try {
      written = item.write();
    } catch (error) {
      return this.notWritten(item, error);
    }
    if (written) written.then(() => this.retry.answered(), (error: unknown) => this.notWritten(item, error));
    else this.retry.answered();
  }

  private notWritten(item: KeptWrite, error: unknown): void {
    if (!(error instanceof StoreUnavailableError && error.unwritten) || this.kept.length >= MAX_KEPT) return item.failed(error);
    this.kept.push(item);
    this.retry.schedule();
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

  /** Keeps a cut claim on file for the operator (kept and made again as events are, where the store could not be reached). */
  dispute(dispute: Dispute): void {
    const failed = (error: unknown) => this.logger.error({ ...dispute, err: error instanceof Error ? error.message : String(error) }, 'recording a dispute failed');
    const remote = this.store.nonBlocking;
    this.attempt({ write: remote ? () => remote.recordDispute(dispute) : () => this.store.recordDispute(dispute), failed });
    this.logger.warn({ ...dispute }, 'worker claim cut');
  }
}
