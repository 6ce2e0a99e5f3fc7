/**
 * Applies what the coordinator saw a worker do to its durable record (reputation.ts decides the
 * numbers) and to its live session, which the router reads. An identity that reaches the
 * strike limit is ejected: its session is closed and its key refused from then on.
 */
import { EJECT_STRIKES, type ReputationEvent, type SpeedSample } from './reputation.js';
import { StoreUnavailableError, type CoordinatorStore, type Dispute, type WorkerEvent } from './store.js';
import type { WorkerRegistry } from './worker-registry.js';
import { CHECK_FAILED_MESSAGE, CLOSE_CODES, EJECTED_MESSAGE } from './worker-session.js';
import type { Logger } from './log.js';
import { RetryLater } from './retry-later.js';
import type { StandingWrite } from './settlement-spool.js';
import type { ClientReceipt, ReceiptVerdict } from './client-receipts.js';

/** Most events and disputes kept while the store cannot be reached; more are logged and dropped. */
const MAX_KEPT = 10_000;

/**
 * Where kept writes are also written, so that a restart or crash during an outage does not lose
 * them (settlement-spool.ts): each is kept there until it lands or is given up, and marked begun
 * while a try of it is under way.
 */
export interface StandingSpool {
  keep(write: StandingWrite): number | undefined;
  begin(ids: readonly number[]): void;
  end(done: readonly number[], again: readonly number[]): void;
}

/** A write kept to be made again: what it is, and its id in the spool where it has one. */
interface KeptWrite {
  write: StandingWrite;
  spoolId?: number;
}

/** How one try of a write ended. */
type Outcome = 'landed' | 'kept' | 'failed';

/** Reputation and measured speed, kept in the store and mirrored on live sessions; and the sealed receipts judged against clients (client-receipts.ts). */
export class WorkerStanding {
  /** Writes the store could not be reached for, none of them begun: made again until they land. */
  private readonly kept: KeptWrite[] = [];
  private readonly retry = new RetryLater(() => this.tryKeptAgain());
  /** The round of kept writes under way, if any: resolves once the spool was told how each ended. */
  private round: Promise<void> | undefined;

  constructor(
    private readonly store: CoordinatorStore,
    private readonly registry: WorkerRegistry,
    private readonly logger: Logger,
    private readonly spool?: StandingSpool,
    /** Hears each client whose receipts a receipt recorded here paused (for the metrics). */
    private readonly onReceiptsPaused?: (clientId: string) => void,
  ) {}

  /**
   * Records one event (and, for clean work, a speed sample) for a worker identity. On a store
   * reached over the network the event loop does not wait: the live session follows once the
   * store answers. One that wrote nothing (no connection, a connection lost before any write or
   * COMMIT was sent, or SQLite could not write) is kept and made again until it lands, with the
   * time it happened; one cut off during its write is logged and dropped, as it may have been
   * recorded already. Never throws: a job's
   * settlement follows its workers' events, and must not wait on them.
   */
  record(workerId: string, event: ReputationEvent, speed?: SpeedSample): void {
    this.attempt({ write: { kind: 'event', workerId, event, at: Date.now(), ...(speed ? { speed } : {}) } });
  }

  /** Keeps a cut claim on file for the operator (kept and made again as events are, where the store could not be reached). */
  dispute(dispute: Dispute): void {
    this.attempt({ write: { kind: 'dispute', dispute } });
    this.logger.warn({ ...dispute }, 'worker claim cut');
  }

  /**
   * Keeps a sealed job's client receipt against the worker that disputed it, if any
   * (client-receipts.ts), as disputes are kept; the receipt that pauses the client's receipts is
   * logged for the operator.
   */
  clientReceipt(receipt: ClientReceipt): void {
    this.attempt({ write: { kind: 'receipt', receipt } });
  }

  /** Takes up the writes this instance kept when it last ran (settlement-spool.ts): made at once, then as any kept one. */
  resume(writes: readonly { id: number; write: StandingWrite }[]): void {
    this.kept.push(...writes.map(({ id, write }) => ({ write, spoolId: id })));
    if (writes.length > 0) this.tryKeptAgain();
  }

  /** Writes kept for the store, waiting to be made again. */
  get keptWrites(): number {
    return this.kept.length;
  }

  /** Gives up the kept writes (the coordinator is closing; those in the spool stay there for the next start); returns how many there were. */
  stopRetrying(): number {
    this.retry.stop();
    return this.kept.splice(0).length;
  }

  /**
   * Waits, at most `ms`, for the round of kept writes under way to end (the coordinator is
   * closing): a write still under way stays marked begun in the spool, and the next start drops
   * it rather than risk counting it twice, so a round that can end, ends first.
   */
  async roundEnded(ms: number): Promise<void> {
    if (!this.round) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.round, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** One round: every kept write marked begun in the spool (one commit), made again, and the spool told how each ended (one commit). */
  private tryKeptAgain(): void {
    const round = this.kept.splice(0);
    if (round.length === 0) return;
    const spooled = (items: KeptWrite[]) => items.flatMap((item) => (item.spoolId === undefined ? [] : [item.spoolId]));
    this.spool?.begin(spooled(round));
    const done: KeptWrite[] = [];
    const again: KeptWrite[] = [];
    let left = round.length;
    let ended!: () => void;
    const current = (this.round = new Promise<void>((resolve) => (ended = resolve)));
    for (const item of round) {
      this.attempt(item, (outcome) => {
        (outcome === 'kept' ? again : done).push(item);
        if (--left > 0) return;
        this.spool?.end(spooled(done), spooled(again));
        if (this.round === current) this.round = undefined;
        ended();
      });
    }
  }

  /** Makes a write; `ended` hears how (a write kept for the first time goes to the spool here). */
  private attempt(item: KeptWrite, ended?: (outcome: Outcome) => void): void {
    const failed = (error: unknown): void => {
      if (!(error instanceof StoreUnavailableError && error.unwritten) || this.kept.length >= MAX_KEPT) {
        this.failed(item.write, error);
        return ended?.('failed');
      }
      if (item.spoolId === undefined) {
        const id = this.spool?.keep(item.write);
        if (id !== undefined) item.spoolId = id;
      }
      this.kept.push(item);
      this.retry.schedule();
      ended?.('kept');
    };
    let written: void | Promise<void>;
    try {
      written = this.write(item.write);
    } catch (error) {
      return failed(error);
    }
    const landed = () => {
      this.retry.answered();
      ended?.('landed');
    };
    if (written) written.then(landed, failed);
    else landed();
  }

  /** Makes a write on the store's own face, so SQLite's is made (and mirrored) at once. */
  private write(write: StandingWrite): void | Promise<void> {
    const remote = this.store.nonBlocking;
    if (write.kind === 'dispute') return remote ? remote.recordDispute(write.dispute) : this.store.recordDispute(write.dispute);
    if (write.kind === 'receipt') {
      if (remote) return remote.recordClientReceipt(write.receipt).then((verdict) => this.judged(write.receipt, verdict));
      return this.judged(write.receipt, this.store.recordClientReceipt(write.receipt));
    }
    const { workerId, event, at, speed } = write;
    if (remote) return remote.recordWorkerEvent(workerId, event, at, speed).then((applied) => this.applied(workerId, event, applied));
    this.applied(workerId, event, this.store.recordWorkerEvent(workerId, event, at, speed));
  }

  private failed(write: StandingWrite, error: unknown): void {
    const err = error instanceof Error ? error.message : String(error);
    if (write.kind === 'dispute') this.logger.error({ ...write.dispute, err }, 'recording a dispute failed');
    else if (write.kind === 'receipt') this.logger.error({ ...write.receipt, err }, 'recording a client receipt failed');
    else this.logger.error({ workerId: write.workerId, event: write.event, err }, 'recording a worker event failed');
  }

  private judged(receipt: ClientReceipt, verdict: ReceiptVerdict): void {
    if (!verdict.newlyPaused) return;
    this.onReceiptsPaused?.(receipt.clientId);
    this.logger.warn(
      { clientId: receipt.clientId, disputed: verdict.disputed, workers: verdict.workers },
      'client receipts paused: they fell short of the claims of several workers; its sealed jobs with a receipt key are refused until the operator resumes them',
    );
  }

  /** Mirrors a stored event on the worker's live session; ejects it when this event crossed the limit. */
  private applied(workerId: string, event: ReputationEvent, applied: WorkerEvent | undefined): void {
    if (!applied) return;
    const { before, after: next } = applied;
    const session = this.registry.get(workerId);
    if (session && session.identityKey === next.identityKey) session.applyRecord(next);
    if (event !== 'clean') this.logger.warn({ workerId, event, reputation: Number(next.reputation.toFixed(4)), strikes: next.strikes }, 'worker standing lowered');
    if (event === 'verify_failed' && next.ejectedAt === null) {
      session?.send({ type: 'check_failed', strikes: next.strikes, ejectAt: EJECT_STRIKES, message: CHECK_FAILED_MESSAGE });
    }
    if (next.ejectedAt !== null && before.ejectedAt === null) {
      this.logger.warn({ workerId, strikes: next.strikes }, 'worker ejected');
      session?.send({ type: 'error', code: 'worker_ejected', message: EJECTED_MESSAGE });
      session?.close(CLOSE_CODES.ejected, 'worker_ejected');
    }
  }
}
