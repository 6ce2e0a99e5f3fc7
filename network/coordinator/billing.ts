/**
 * Money on the coordinator: worst-case holds before work, charges and credits from metered
 * usage (metering.ts) after, cumulative earnings accounts, a signed voucher for every credit
 * once a vault is configured. Receipts are stored with the settlement and delivered to the
 * workers as numbered `job.receipt` frames until acknowledged.
 */
import { EventEmitter } from 'node:events';
import { Address } from '@ton/core';
import { coefficientMilli, DEFAULT_PRICE_LIST, formatTon, jobCost, priceOf, splitCost, type PriceList } from '../protocol/pricing.js';
import { CHAIN_GLOBAL_ID } from '../protocol/voucher.js';
import { buildReceipt, voucherFor, type ReceiptSigning } from './receipts.js';
import { callStore, StoreUnavailableError, type AsyncCoordinatorStore, type CoordinatorStore, type JobOutcome, type JobReceiptFrame, type SettledJob, type WorkerCredit } from './store.js';
import type { MeteredPart } from './metering.js';
import { RetryLater } from './retry-later.js';

/** The receipt frame a worker gets for its part in a job. */
export type JobReceipt = JobReceiptFrame;

interface BillingEvents {
  receipt: [workerId: string, receipt: JobReceipt];
  /** A deferred settlement (SettlementDeferred) landed (no error), or was given up (why). */
  retried: [jobId: string, error: unknown];
}

/** A job in flight, as JobManager meters it so far (Billing.checkpoint). */
export interface InFlightJob {
  jobId: string;
  clientId: string | undefined;
  model: string;
  parts: readonly MeteredPart[];
  /** How it ended, for a job that ended and waits to be settled; else it is checkpointed as 'failed'. */
  outcome?: JobOutcome;
}

/** Most settlements kept to try again while the store cannot be reached; one more fails as before. */
const MAX_DEFERRED_SETTLEMENTS = 10_000;

/**
 * What settleSoon's `done` gets when the store could not be reached: the settlement is kept and
 * tried again until it lands (then its receipts go out, and `retried` is emitted with no error)
 * or is refused (`retried` with the reason: say its hold expired and was refunded meanwhile, and
 * the client's balance no longer covers the charge).
 * Settling twice is harmless: a job already on the books writes nothing the second time.
 */
export class SettlementDeferred extends Error {
  constructor(
    readonly jobId: string,
    cause: StoreUnavailableError,
  ) {
    super(`Job ${jobId} could not be settled yet (${cause.message}); it is tried again until the store answers.`, { cause });
    this.name = 'SettlementDeferred';
  }
}

/** A settlement waiting for its batch; `deferred` once its caller was told it waits for the store. */
interface QueuedSettlement {
  job: SettledJob;
  done: (error?: unknown) => void;
  deferred?: boolean;
}

/** What settling checkpointed jobs did: how many landed, those the books refused, and rows that could not be read back. */
export interface CheckpointsSettled {
  settled: number;
  refused: { jobId: string; why: string }[];
  unreadable: { jobId: string; why: string }[];
}

/** Options of the billing service. */
export interface BillingOptions {
  store: CoordinatorStore;
  prices?: PriceList;
  /** Ed25519 key that signs vouchers (64-byte secret key, @ton/crypto format). */
  voucherKey?: { secretKey: Uint8Array; publicKey: Uint8Array };
  /** The payout vault's address; without it receipts carry no voucher. */
  vault?: string;
  /** The chain's global id every voucher names (CHAIN_GLOBAL_ID; default testnet, as the local chain). */
  chainGlobalId?: number;
  /** Most settlements kept while the store cannot be reached (default MAX_DEFERRED_SETTLEMENTS). */
  maxDeferred?: number;
  /**
   * Where kept settlements are also written, so that a restart or crash during an outage does
   * not lose them (settlement-spool.ts): each is kept there until it lands or is refused.
   */
  spool?: { keep(job: SettledJob): void; drop(jobId: string): void };
}

/**
 * The earnings account of a worker: its payout address in raw form ("0:…", so every friendly
 * spelling of one address is one account), or its worker id while it has none.
 */
export function earningsAccount(workerId: string, payoutAddress: string | undefined): string {
  return payoutAddress ? Address.parse(payoutAddress).toRawString() : `worker:${workerId}`;
}

/** Coordinator-side billing. */
export class Billing extends EventEmitter<BillingEvents> {
  readonly prices: PriceList;
  /** What signs the vouchers on receipts. */
  private readonly signing: ReceiptSigning;

  constructor(private readonly options: BillingOptions) {
    super();
    this.prices = options.prices ?? DEFAULT_PRICE_LIST;
    const { vault, voucherKey } = options;
    this.signing = { globalId: options.chainGlobalId ?? CHAIN_GLOBAL_ID.testnet, ...(vault ? { vault } : {}), ...(voucherKey ? { secretKey: voucherKey.secretKey } : {}) };
  }

  /** The vault vouchers are issued for, if any. */
  get vault(): string | undefined {
    return this.options.vault;
  }

  /** The public key clients and workers check vouchers against (hex). */
  get voucherPublicKey(): string | undefined {
    return this.options.voucherKey ? Buffer.from(this.options.voucherKey.publicKey).toString('hex') : undefined;
  }

  /**
   * The most a job can cost, held before any work: its prompt figure (exact count or bound),
   * every allowed completion token, at the client's highest accepted coefficient, plus one
   * nanoton per possible attempt (each worker's part is rounded up on its own).
   */
  worstCase(model: string, promptFigure: number, maxTokens: number, maxCoefficient: number, attempts: number): bigint {
    return jobCost(priceOf(this.prices, model), { promptTokens: promptFigure, completionTokens: maxTokens }, maxCoefficient) + BigInt(attempts);
  }

  /** Holds the worst case for a job until `expiresAt`, or says why not (short balance, reused id). */
  async reserve(clientId: string, jobId: string, amount: bigint, expiresAt: number): Promise<{ ok: true } | { ok: false; status: 402 | 409; code: 'insufficient_balance' | 'duplicate_job'; message: string }> {
    const held = await callStore(this.options.store, (store) => store.reserve(clientId, jobId, amount, expiresAt));
    if (held === 'held') return { ok: true };
    if (held === 'duplicate') return { ok: false, status: 409, code: 'duplicate_job', message: `Job ${jobId} was seen before.` };
    const balance = await callStore(this.options.store, (store) => store.balance(clientId));
    return { ok: false, status: 402, code: 'insufficient_balance', message: `Insufficient balance: this request may cost up to ${formatTon(amount)} TON (max_tokens × price) and the balance is ${formatTon(balance)} TON. Top up, or lower max_tokens.` };
  }

  /**
   * Charges a job and credits each worker's metered part, in one store transaction that checks
   * the books (charge = Σ credits + commission ≤ hold) and stores each worker's numbered receipt;
   * then emits the receipts for delivery. Returns the charge; once per job id.
   */
  settle(jobId: string, clientId: string | undefined, model: string, outcome: JobOutcome, parts: readonly MeteredPart[]): bigint {
    const sent: [string, JobReceiptFrame][] = [];
    const charge = this.write(this.books(jobId, clientId, model, outcome, parts), sent);
    for (const [workerId, receipt] of sent) this.emit('receipt', workerId, receipt);
    return charge;
  }

  /**
   * settle(), grouped with the other settlements asked for in the same turn of the event loop:
   * one commit for all of them, once this turn's I/O is handled, whose disk flush (fsync on
   * SQLite) runs on the thread pool, so a burst of jobs ending does not stall every stream
   * behind disk flushes. Each settlement still checks its own books and fails alone. `done` is
   * called once the commit is on disk (with the error when this settlement was refused, or the
   * commit or its flush failed); receipts go out only then. Where the store could not be reached
   * (a shared database down or restarting) or written (SQLite on a full or failing disk), `done`
   * gets a SettlementDeferred at once and the settlement is tried again until it lands: the
   * worker is paid for what it delivered. `late`: the settlement waited after its job ended (a
   * spot check, a client's receipt), long enough for its hold to expire and be refunded: it is
   * then charged from the balance, as a kept one is (SettledJob.late).
   */
  settleSoon(jobId: string, clientId: string | undefined, model: string, outcome: JobOutcome, parts: readonly MeteredPart[], done: (error?: unknown) => void, late = false): void {
    let job: SettledJob;
    try {
      job = { ...this.books(jobId, clientId, model, outcome, parts), ...(late ? { late } : {}) };
    } catch (error) {
      // An amount out of bounds: refused like any settlement the books refuse, after this turn.
      setImmediate(() => done(error));
      return;
    }
    this.queued.push({ job, done });
    if (this.queued.length === 1) setImmediate(() => (this.options.store.nonBlocking ? this.flushRemote(this.options.store.nonBlocking) : this.flush()));
  }

  /** Settles once every batch flushed so far was announced (or failed). */
  private announced: Promise<void> = Promise.resolve();

  private readonly queued: QueuedSettlement[] = [];

  /** Settlements the store could not be reached for, waiting to be tried again. */
  private readonly deferred: QueuedSettlement[] = [];
  private readonly retry = new RetryLater(() => this.retryDeferred());

  /** Settlements waiting for the store to be reached again. */
  get deferredSettlements(): number {
    return this.deferred.length;
  }

  /** True while a batch of settlements is with a non-blocking store. */
  private remoteBusy = false;

  /**
   * Where the store answers over the network: the batch's settlements are sent at once (the
   * store runs them in order, each its own transaction) while the event loop goes on serving,
   * and the next batch (what ended meanwhile) goes once this one is answered. Each worker's
   * receipts are announced in the order of their numbers, as on SQLite.
   */
  private flushRemote(store: AsyncCoordinatorStore): void {
    if (this.remoteBusy) return; // the batch in flight sends the queue when it is answered
    const batch = this.queued.splice(0);
    if (batch.length === 0) return;
    this.remoteBusy = true;
    const sent: [string, JobReceiptFrame][] = [];
    void Promise.all(
      batch.map(async (item) => {
        try {
          // Built where the store runs the settlement (no trip back here while its rows are locked).
          const receipts = await store.settle(item.job, this.signing);
          receipts?.forEach((receipt, i) => sent.push([item.job.credits[i]!.workerId, receipt]));
          return undefined;
        } catch (error) {
          return error ?? new Error('settlement failed');
        }
      }),
    ).then((errors) => {
      sent.sort(([, a], [, b]) => a.seq - b.seq);
      for (const [workerId, receipt] of sent) this.emit('receipt', workerId, receipt);
      if (errors.some((error) => !(error instanceof StoreUnavailableError))) this.retry.answered();
      batch.forEach((item, i) => {
        const error = errors[i];
        this.ended(item, error instanceof StoreUnavailableError && this.defer(item, error) ? 'kept' : error);
      });
      this.remoteBusy = false;
      this.flushRemote(store);
    });
  }

  /**
   * Reports how a settlement ended (`error` undefined: it landed): to its caller, or through
   * `retried` for one kept before. 'kept': it waits for the store again, nothing to report yet.
   */
  private ended(item: QueuedSettlement, error: unknown): void {
    if (error === 'kept') return;
    if (item.deferred) {
      // Landed or refused: forgotten. One given up while the store is still away stays kept for the next start.
      if (!(error instanceof StoreUnavailableError)) this.options.spool?.drop(item.job.jobId);
      this.emit('retried', item.job.jobId, error);
    } else item.done(error);
  }

  /** Keeps a settlement to try again once the store answers; false when too many wait already. */
  private defer(item: QueuedSettlement, error: StoreUnavailableError): boolean {
    if (this.deferred.length >= (this.options.maxDeferred ?? MAX_DEFERRED_SETTLEMENTS)) return false;
    this.deferred.push(item);
    // Tried again late, its hold may expire meanwhile: the store then holds its charge again (SettledJob.late).
    item.job.late = true;
    if (!item.deferred) {
      item.deferred = true;
      this.options.spool?.keep(item.job);
      item.done(new SettlementDeferred(item.job.jobId, error));
    }
    this.retry.schedule();
    return true;
  }

  /**
   * Takes up the settlements this instance kept when it last ran (settlement-spool.ts): tried at
   * once, and then as any deferred one, late. Each is reported through `retried`.
   */
  resume(jobs: readonly SettledJob[]): void {
    for (const job of jobs) this.deferred.push({ job: { ...job, late: true }, done: () => undefined, deferred: true });
    if (jobs.length > 0) this.retryDeferred();
  }

  /** Gives up the deferred settlements (the coordinator is closing); returns how many there were. */
  stopRetrying(): number {
    this.retry.stop();
    return this.deferred.splice(0).length;
  }

  private retryDeferred(): void {
    const store = this.options.store.nonBlocking;
    this.queued.push(...this.deferred.splice(0));
    if (store) this.flushRemote(store);
    else this.flush();
  }

  private flush(): void {
    const batch = this.queued.splice(0);
    if (batch.length === 0) return;
    const sent: [string, JobReceiptFrame][] = [];
    const errors: unknown[] = [];
    try {
      this.options.store.group(() => {
        for (const item of batch) {
          try {
            this.write(item.job, sent);
            errors.push(undefined);
          } catch (error) {
            errors.push(error ?? new Error('settlement failed'));
          }
        }
      });
    } catch (error) {
      // The commit failed: nothing of this batch was written, and no receipt goes out. Where the
      // database could not be written (a full or failing disk: the store then fails the whole
      // group, sqlite-store.ts), the batch is kept and tried again.
      const kept = error instanceof StoreUnavailableError;
      for (const item of batch) this.ended(item, kept && this.defer(item, error) ? 'kept' : error);
      return;
    }
    this.retry.answered();
    // Nobody hears of the batch (receipts, the clients' last events) before it is on disk; the
    // disk flush runs off the event loop, so the streams still flowing never wait for it. Batches
    // are announced in commit order even when a later flush completes first: a worker takes its
    // receipts in sequence (one numbered below the last it took reads as already taken).
    const durable = this.options.store.synced();
    const announced = this.announced.then(() => durable).then(
      () => {
        for (const [workerId, receipt] of sent) this.emit('receipt', workerId, receipt);
        batch.forEach((item, i) => this.ended(item, errors[i]));
      },
      (error: unknown) => {
        // Written but not known to be on disk: the batch ends as failed, and no receipt goes out.
        for (const item of batch) this.ended(item, error ?? new Error('the disk flush failed'));
      },
    );
    // The chain itself never fails, so one batch's trouble cannot hold back or fail the next.
    this.announced = announced.catch(() => undefined);
  }

  /** A job's books from its metered parts: each worker's cost and earnings, the charge and the commission. */
  private books(jobId: string, clientId: string | undefined, model: string, outcome: JobOutcome, parts: readonly MeteredPart[]): SettledJob {
    const price = priceOf(this.prices, model);
    const credits: WorkerCredit[] = parts.map((p) => {
      const cost = jobCost(price, p.usage, p.coefficient);
      return {
        account: earningsAccount(p.workerId, p.payoutAddress),
        workerId: p.workerId,
        cost,
        earned: splitCost(cost, this.prices.commissionBps).worker,
        ...p.usage,
        coefficientMilli: Number(coefficientMilli(p.coefficient)),
        ...(p.claimed ? { claimed: p.claimed } : {}),
      };
    });
    const charge = credits.reduce((sum, c) => sum + c.cost, 0n);
    const commission = charge - credits.reduce((sum, c) => sum + c.earned, 0n);
    return { jobId, clientId: clientId ?? 'unmetered', model, outcome, charge, commission, credits };
  }

  /** Settles a job's books on the (synchronous) store and queues its receipts in `sent`; returns the charge. */
  private write(job: SettledJob, sent: [string, JobReceiptFrame][]): bigint {
    const receipts = this.options.store.settle(job, (credit, total, seq) => buildReceipt(this.signing, job, credit, total, seq));
    if (!receipts) return job.charge; // settled before: nothing credited twice
    receipts.forEach((receipt, i) => sent.push([job.credits[i]!.workerId, receipt]));
    return job.charge;
  }

  /**
   * Records the books of the jobs in flight, each as if it ended now (outcome 'failed', as when
   * the coordinator fails a job, unless it ended already): what the next start bills, should
   * this process die before they are settled (CoordinatorStore.checkpoint). Replaces the last call's.
   */
  checkpoint(jobs: readonly InFlightJob[]): Promise<void> {
    const books: SettledJob[] = [];
    for (const j of jobs) {
      try {
        books.push(this.books(j.jobId, j.clientId, j.model, j.outcome ?? 'failed', j.parts));
      } catch {
        // An amount out of bounds: its settlement would be refused too; nothing to keep.
      }
    }
    return callStore(this.options.store, (store) => store.checkpoint(books));
  }

  /**
   * At start: settles the jobs the last run of this instance checkpointed while they were in
   * flight (it died before they ended), for what they had delivered by then, as late
   * settlements: against the hold where it is still there, else charged from the balance when
   * it covers them (on a shared store, another instance's expiry sweep may have refunded the
   * holds while this one was down); then forgets them. Jobs in `skip` (kept settlements, which
   * carry the whole job) are left to those. Their receipts are stored and go out when each
   * worker connects. Returns how many were settled, and those refused (a balance that no longer
   * covers the charge, say).
   */
  async settleCheckpoints(skip: ReadonlySet<string>): Promise<CheckpointsSettled> {
    const found = await callStore(this.options.store, (s) => s.checkpoints());
    const outcome = await this.settleEach(found.jobs.filter((job) => !skip.has(job.jobId)).map((job) => ({ ...job, late: true })));
    await callStore(this.options.store, (s) => s.checkpoint([]));
    return { ...outcome, unreadable: found.unreadable };
  }

  /**
   * For another instance of a shared store that will not run again (it died and its data folder
   * with it): settles what its jobs in flight had delivered by its last checkpoint, as late
   * settlements (against the hold where it is still there, else charged from the balance when it
   * covers them), then forgets those checkpoints. A job settled before is not settled again; the
   * instance's other holds come back at their expiry, as before.
   */
  async retireInstance(owner: string): Promise<CheckpointsSettled> {
    const found = await callStore(this.options.store, (s) => s.checkpoints(owner));
    const outcome = await this.settleEach(found.jobs.map((job) => ({ ...job, late: true })));
    await callStore(this.options.store, (s) => s.forgetCheckpoints(owner, found.jobs.map((job) => job.jobId)));
    return { ...outcome, unreadable: found.unreadable };
  }

  /** Settles each job on its own; a refusal is reported, not thrown, and the rest go on. */
  private async settleEach(jobs: readonly SettledJob[]): Promise<Omit<CheckpointsSettled, 'unreadable'>> {
    const { store } = this.options;
    const refused: { jobId: string; why: string }[] = [];
    let settled = 0;
    for (const job of jobs) {
      try {
        const receipts = store.nonBlocking ? await store.nonBlocking.settle(job, this.signing) : store.settle(job, (credit, total, seq) => buildReceipt(this.signing, job, credit, total, seq));
        if (receipts) {
          settled++;
          // Workers connected here get them now; the others when they connect or ask.
          receipts.forEach((receipt, i) => this.emit('receipt', job.credits[i]!.workerId, receipt));
        }
      } catch (error) {
        if (error instanceof StoreUnavailableError) throw error;
        refused.push({ jobId: job.jobId, why: error instanceof Error ? error.message : String(error) });
      }
    }
    return { settled, refused };
  }

  /** True when a job id was ever held or settled (job ids are unique in the database). */
  jobIdUsed(jobId: string): Promise<boolean> {
    return callStore(this.options.store, (store) => store.jobIdUsed(jobId));
  }

  /** When a client's usage receipts were paused (client-receipts.ts), or undefined while they count. */
  receiptsPausedAt(clientId: string): Promise<number | undefined> {
    return callStore(this.options.store, (store) => store.receiptsPausedAt(clientId));
  }

  /** Keeps a job's hold until at least `expiresAt`, for a settlement that waits (store.ts, extendHold). */
  extendHold(jobId: string, expiresAt: number): Promise<boolean> {
    return callStore(this.options.store, (store) => store.extendHold(jobId, expiresAt));
  }

  /** Refunds a job's whole hold (nothing was delivered, or the job is settled elsewhere). */
  release(jobId: string): Promise<void> {
    return callStore(this.options.store, (store) => store.release(jobId));
  }

  /** A worker's receipts not yet acknowledged, numbered above `after`, to send again (vouchers as first signed). */
  unackedReceipts(workerId: string, after: number): Promise<JobReceiptFrame[]> {
    return callStore(this.options.store, (store) => store.unackedReceipts(workerId, after, this.signing));
  }

  /** A signed voucher for an account's cumulative total, when the account and vault allow one (receipts.ts). */
  voucherFor(account: string, cumulative: bigint, seq: number): Record<string, unknown> | undefined {
    return voucherFor(this.signing, account, cumulative, seq);
  }
}
