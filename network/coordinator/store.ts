/**
 * The coordinator's durable state behind one interface (SQLite embedded; a PostgreSQL
 * implementation can replace it without touching callers). Amounts are bigint nanotons with
 * explicit bounds. Every write that moves money is idempotent by its reference, and a job's
 * books are checked inside the transaction that writes them:
 *   charge = Σ credit.cost,  Σ credit.cost = Σ credit.earned + commission,  charge ≤ hold.
 */
import type { CoordinatorFrame, JobOutcome } from '../protocol/worker-frames.js';
import type { ReputationEvent, SpeedSample } from './reputation.js';
import type { ReceiptSigning } from './receipts.js';
import type { ClientReceipt, ReceiptPause, ReceiptVerdict } from './client-receipts.js';

/** A receipt frame as the worker gets it (numbered, kept until acknowledged). */
export type JobReceiptFrame = Extract<CoordinatorFrame, { type: 'job.receipt' }>;

/** How a job ended. */
export type { JobOutcome };

/** One worker's share of a settled job. */
export interface WorkerCredit {
  /** Earnings account: the payout address in raw form, or `worker:<id>` while the worker has none. */
  account: string;
  workerId: string;
  /** What the client pays for this part (before commission). */
  cost: bigint;
  /** What the worker is credited (cost less commission). */
  earned: bigint;
  promptTokens: number;
  completionTokens: number;
  coefficientMilli: number;
  /** The worker's own figures when they were above what was billed. */
  claimed?: { promptTokens: number; completionTokens: number };
}

/** A job's books as settled. */
export interface SettledJob {
  jobId: string;
  /** The paying client, or 'unmetered' (the operator pays the workers). */
  clientId: string;
  model: string;
  outcome: JobOutcome;
  /** What the client is charged: Σ credit.cost. */
  charge: bigint;
  /** What the coordinator keeps: charge − Σ credit.earned. */
  commission: bigint;
  credits: WorkerCredit[];
  /**
   * A settlement tried again after the store could not be reached (billing.ts). Where its hold is
   * gone (it expired while the settlement waited, and an expiry sweep refunded it) and the job was
   * never settled, its charge is held again from the client's balance in the same transaction;
   * when the balance no longer covers it, the settlement is refused as one beyond its hold.
   */
  late?: boolean;
}

/** An earnings account after a credit: what the next voucher must say. */
export interface AccountTotal {
  account: string;
  cumulative: bigint;
  seq: number;
}

/** Builds the receipt a worker gets for its credit, given the account's new total and the receipt's number. */
export type ReceiptBuilder = (credit: WorkerCredit, total: AccountTotal, receiptSeq: number) => JobReceiptFrame;

/** What the coordinator remembers about a worker identity (reputation.ts decides the numbers). */
export interface WorkerRecord {
  workerId: string;
  /** Ed25519 identity key (base64url) the id is bound to. */
  identityKey: string;
  firstSeen: number;
  reputation: number;
  strikes: number;
  cleanJobs: number;
  disputes: number;
  cutoffs: number;
  verifyFailures: number;
  lostJobs: number;
  /** Coordinator-measured time to first token and generation speed (EWMA); 0 = not measured yet. */
  ttftMs: number;
  tokensPerSecond: number;
  ejectedAt: number | null;
}

/** What the router mirrors of a worker's record on its live session (see CoordinatorStore.recordWorkerEvent). */
export type WorkerStandingFigures = Pick<WorkerRecord, 'identityKey' | 'reputation' | 'ttftMs' | 'tokensPerSecond' | 'ejectedAt'>;

/** A `worker_keys` row as either engine returns it (integers as bigint, string or number). */
export interface WorkerRow {
  worker_id: string;
  identity_key: string;
  first_seen: bigint | string | number;
  reputation: number;
  strikes: bigint | string | number;
  clean_jobs: bigint | string | number;
  disputes: bigint | string | number;
  cutoffs: bigint | string | number;
  verify_failures: bigint | string | number;
  lost_jobs: bigint | string | number;
  ttft_ms: number;
  tokens_per_second: number;
  ejected_at: bigint | string | number | null;
}

/** The record of a `worker_keys` row, the same from SQLite and PostgreSQL. */
export function workerRecordFromRow(row: WorkerRow): WorkerRecord {
  return {
    workerId: row.worker_id,
    identityKey: row.identity_key,
    firstSeen: Number(row.first_seen),
    reputation: Number(row.reputation),
    strikes: Number(row.strikes),
    cleanJobs: Number(row.clean_jobs),
    disputes: Number(row.disputes),
    cutoffs: Number(row.cutoffs),
    verifyFailures: Number(row.verify_failures),
    lostJobs: Number(row.lost_jobs),
    ttftMs: Number(row.ttft_ms),
    tokensPerSecond: Number(row.tokens_per_second),
    ejectedAt: row.ejected_at === null ? null : Number(row.ejected_at),
  };
}

/** A worker's claim the coordinator cut, kept for the operator and for reputation. */
export interface Dispute {
  jobId: string;
  workerId: string;
  kind: string;
  claimed: number;
  counted: number;
  at: number;
}

/** A worker record before and after one event (see CoordinatorStore.recordWorkerEvent). */
export interface WorkerEvent {
  before: WorkerRecord;
  after: WorkerRecord;
}

/** The outcome of binding a worker id to an identity key. */
export type KeyBinding = { status: 'new' | 'known'; record: WorkerRecord } | { status: 'mismatch' } | { status: 'ejected'; record: WorkerRecord };

/** An instance's jobs in flight as the store holds them: its checkpoints (and the newest one's time) and its holds (and when the last expires). */
export interface InstanceWork {
  instance: string;
  checkpoints: number;
  lastCheckpointAt: number | null;
  holds: number;
  holdsExpireAt: number | null;
}

/** Most unacknowledged receipts one read returns (each may be built and signed again). */
export const RESEND_BATCH = 500;

/** Durable coordinator state. */
export interface CoordinatorStore {
  /** A client's spendable balance (holds already taken out). */
  balance(clientId: string): bigint;
  /** Adds to a client's balance once per `reference` (a deposit's transaction hash, say). */
  deposit(clientId: string, amount: bigint, reference: string): boolean;
  /**
   * Holds `amount` for a job until `expiresAt` (unix ms): 'short' when the balance is not
   * enough, 'duplicate' when the job id was ever used (held, settled, or its hold given back
   * whole) — nothing held then. A job id is used once: a settlement kept while the store was away
   * must never land on another job that took the same id after the first one's hold expired.
   */
  reserve(clientId: string, jobId: string, amount: bigint, expiresAt: number): 'held' | 'short' | 'duplicate';
  /** True when a job id was ever held or settled (reserve's 'duplicate'). */
  jobIdUsed(jobId: string): boolean;
  /**
   * Charges a job and credits its workers, refunds the rest of its hold, numbers and stores each
   * worker's receipt — all in one transaction that also checks the books balance. Undefined when
   * the job was settled before (nothing credited twice). Throws (and writes nothing) when the
   * books would not balance or an amount is out of bounds.
   */
  settle(job: SettledJob, receipt: ReceiptBuilder): JobReceiptFrame[] | undefined;
  /**
   * Runs `work` as one commit where the engine allows it (SQLite: one transaction; each
   * settlement in it is a savepoint, so one that throws undoes only itself). Elsewhere each call
   * inside commits on its own. Throws when the commit fails, and then nothing inside was
   * written. The commit may not be on disk yet when this returns: await synced() before telling
   * anyone it happened.
   */
  group<T>(work: () => T): T;
  /**
   * Resolves once every commit made so far is durable (SQLite: its log fsynced on the thread
   * pool, so the event loop never waits on the disk); rejects when the disk reports an error.
   */
  synced(): Promise<void>;
  /**
   * Keeps a job's hold until at least `expiresAt` (unix ms), for a settlement that waits past the
   * job's deadline (a spot check): an expiry sweep would otherwise refund it, and the client could
   * spend it before its worker is paid. Never shortens a hold; false when the job holds nothing.
   */
  extendHold(jobId: string, expiresAt: number): boolean;
  /** Refunds a job's whole hold; these three retire the job id (reserve). */
  release(jobId: string): void;
  /** Refunds every hold that expired by `now`; returns the job ids. */
  releaseExpiredHolds(now: number): string[];
  /** Refunds every hold (at start: no job survives a restart); returns the job ids. */
  releaseAllHolds(): string[];
  /**
   * Records the books of this instance's jobs in flight, each as if it ended now, in place of
   * what the last call recorded (a job no longer listed is forgotten): what the next start of
   * this instance bills for work delivered before it died mid-job (checkpoints). May lag a power
   * cut by one call.
   */
  checkpoint(jobs: readonly SettledJob[]): void;
  /**
   * The books of this instance's jobs as last checkpointed, and any row that cannot be read back;
   * on a shared store, `owner` names another instance's (one that will not run again, retired).
   */
  checkpoints(owner?: string): { jobs: SettledJob[]; unreadable: { jobId: string; why: string }[] };
  /**
   * For an instance of a shared store that will not run again: forgets the listed checkpoints it
   * left (the caller settled them first). Its holds are left to the expiry sweep. SQLite has one
   * instance, whose next start does this itself: it throws.
   */
  forgetCheckpoints(owner: string, jobIds: readonly string[]): void;
  /** What each instance of a shared store has in it now (none on SQLite): for the operator. */
  instanceWork(): InstanceWork[];
  /** The running total of an earnings account. */
  account(account: string): AccountTotal;
  /** Every account whose cumulative earnings exceed what was pushed on chain by `threshold`. */
  unpushed(threshold: bigint): AccountTotal[];
  /** Records that the vault paid an account up to `cumulative`. */
  markPushed(account: string, cumulative: bigint): void;
  /** Binds a worker id to its identity key on first sight; later only the same key may use it. */
  bindWorkerKey(workerId: string, identityKey: string, now: number): KeyBinding;
  workerRecord(workerId: string): WorkerRecord | undefined;
  /**
   * Applies one event (and a speed sample) to a worker's record as one read-and-write, so
   * instances sharing the store never lose each other's updates. Returns the record before and
   * after, or undefined for a worker id never bound. Ejection is durable at once; other moves
   * may be made durable by the next money commit.
   */
  recordWorkerEvent(workerId: string, event: ReputationEvent, now: number, speed?: SpeedSample): WorkerEvent | undefined;
  /**
   * Takes back an ejected identity (the operator's call): no strikes, a new identity's
   * reputation, durable at once. The record after, or undefined when the worker is unknown or
   * not ejected.
   */
  reinstateWorker(workerId: string): WorkerRecord | undefined;
  recordDispute(dispute: Dispute): void;
  disputes(workerId: string): Dispute[];
  /**
   * Records a sealed job's client receipt once per job id and applies the pause rule
   * (client-receipts.ts) over the client's latest receipts since it was last resumed, in one
   * transaction: a receipt recorded again changes nothing and returns the client's state.
   */
  recordClientReceipt(receipt: ClientReceipt): ReceiptVerdict;
  /** When the client's receipts were paused (unix ms), or undefined while they count. */
  receiptsPausedAt(clientId: string): number | undefined;
  /** Every client whose receipts are paused, oldest pause first (at most 1,000). */
  receiptPauses(): ReceiptPause[];
  /** Lets a client's receipts count again, judged from now on; false when they were not paused. */
  resumeReceipts(clientId: string, now: number): boolean;
  /**
   * Receipts of a worker not yet acknowledged, numbered above `after`, in order, at most
   * RESEND_BATCH of them (the worker asks again after the last): as they were first sent.
   * SQLite stores each frame; PostgreSQL stores its figures and builds it again here, its
   * voucher signed with `signing` (the same signature: Ed25519 is deterministic).
   */
  unackedReceipts(workerId: string, after?: number, signing?: ReceiptSigning): JobReceiptFrame[];
  /** Marks a worker's receipts up to `upTo` as durably recorded by the worker. */
  ackReceipts(workerId: string, upTo: number): void;
  /** A small key/value table for settings that must survive restarts (vault address…). */
  getSetting(key: string): string | undefined;
  setSetting(key: string, value: string): void;
  close(): void;
  /**
   * The same store with every call a promise, where its engine is reached over the network
   * (PostgreSQL): what a request does on its way (its hold, settlement, the worker's standing,
   * receipt acknowledgements) goes through it, so the event loop serves other streams while the
   * database answers. Absent on SQLite, whose calls are short and synchronous.
   */
  readonly nonBlocking?: AsyncCoordinatorStore;
  /**
   * Where the engine is reached over the network: whether it answered the last call (a refusal
   * is an answer; a lost connection or a call unanswered is not), and since when (unix ms).
   * Absent on SQLite, which is a file.
   */
  reachability?(): { reachable: boolean; since: number };
  /**
   * Resolves, with why, if the store can be reached no more from this process (the PostgreSQL
   * store's thread stopped); every call fails from then on. Absent on SQLite.
   */
  readonly whenBroken?: Promise<Error>;
}

/** Builds a receipt inside a settlement whose store is asynchronous (it may itself await). */
export type AsyncReceiptBuilder = (credit: WorkerCredit, total: AccountTotal, receiptSeq: number) => JobReceiptFrame | Promise<JobReceiptFrame>;

/**
 * The same store where every call is a promise: an engine reached over the network
 * (PostgreSQL) shared by several coordinator instances. Same meanings, same invariants.
 */
export type AsyncCoordinatorStore = {
  [K in Exclude<keyof CoordinatorStore, 'settle' | 'group' | 'synced' | 'nonBlocking' | 'reachability' | 'whenBroken'>]: (...args: Parameters<CoordinatorStore[K]>) => Promise<ReturnType<CoordinatorStore[K]>>;
} & {
  /**
   * As CoordinatorStore.settle; given what signs vouchers instead of a builder, the store builds
   * each receipt itself (receipts.ts), where it runs the transaction.
   */
  settle(job: SettledJob, receipt: AsyncReceiptBuilder | ReceiptSigning): Promise<JobReceiptFrame[] | undefined>;
};

/**
 * The store could not be reached (a shared database down, restarting, or cut off), as opposed to
 * a store that answered with a refusal: the call may well succeed later.
 */
export class StoreUnavailableError extends Error {
  constructor(
    message: string,
    /** The call wrote nothing (no connection could be made, or it was lost before a write or a COMMIT was sent), so it may be made again as it was. */
    readonly unwritten = false,
  ) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The store can be reached no more from this process (the PostgreSQL store's thread stopped): a
 * restart brings it back. Kept apart so that the instance can say so and stop serving; as an
 * unavailable store, what waits to be written is kept for the next start.
 */
export class StoreBrokenError extends StoreUnavailableError {
  constructor(message: string, unwritten = false) {
    super(message, unwritten);
    this.name = 'StoreBrokenError';
  }
}

/** Either face of a store: a call on it is awaited either way. */
export type EitherStore = CoordinatorStore | AsyncCoordinatorStore;

/**
 * One store call as a promise: on the non-blocking face where the store has one (PostgreSQL),
 * else synchronously (SQLite), a throw then becoming the rejection.
 */
export async function callStore<T>(store: CoordinatorStore, call: (store: EitherStore) => T): Promise<Awaited<T>> {
  return await call(store.nonBlocking ?? store);
}
