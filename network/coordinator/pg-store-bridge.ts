/**
 * The PostgreSQL store as a CoordinatorStore, with two faces on one worker thread that owns the
 * async PgStore and its pool:
 * - `nonBlocking`: every call a promise. What a request does on its way (its hold, settlement,
 *   the worker's standing, acknowledgements) goes through it, so the event loop serves other
 *   streams while PostgreSQL answers.
 * - the synchronous methods, for callers written against the embedded store (one SQLite writer,
 *   every call synchronous) and used off the request path (a worker's identity at connect,
 *   settings at start): each posts a numbered call and blocks on Atomics.wait until the thread
 *   answers; answers to non-blocking calls that arrive meanwhile go to their callers.
 * The books stay exact whichever instance calls: each money call is one transaction in
 * PostgreSQL (pg-store.ts), and the settlements the thread receives in one turn go to the
 * database in one call, which locks the accounts it credits before it numbers their receipts
 * (pg-store-thread.ts).
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { BooksError } from './books-check.js';
import type { ReceiptSigning } from './receipts.js';
import type { PgStoreOptions } from './pg-store.js';
import { StoreBrokenError, StoreUnavailableError, type AccountTotal, type AsyncCoordinatorStore, type AsyncReceiptBuilder, type CoordinatorStore, type JobReceiptFrame, type ReceiptBuilder, type SettledJob, type WorkerCredit } from './store.js';

/** The store methods a caller may ask the thread to run. */
export type BridgeMethod = Exclude<keyof CoordinatorStore, 'group' | 'synced' | 'nonBlocking' | 'reachability' | 'whenBroken'> | 'open';

/** A request from the caller to the store thread: a numbered call, or a receipt it asked to have built. */
export type BridgeRequest =
  | { type: 'call'; id: number; method: BridgeMethod; args: unknown[] }
  | { type: 'built'; id: number; frame: JobReceiptFrame }
  | { type: 'built'; id: number; error: string };

/**
 * What crosses the thread boundary in one postMessage: one message, or every message one side
 * had for the other in one turn of its event loop (each postMessage costs a copy and a wake-up).
 */
export type BridgeBatch<T> = T | T[];

/** The messages of a batch, in order. */
export function unbatch<T>(batch: BridgeBatch<T>): T[] {
  return Array.isArray(batch) ? batch : [batch];
}

/** A message from the store thread: a call's result, or a receipt to build for the settlement `call`. */
export type BridgeReply =
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; name: string; message: string; unwritten?: boolean }
  | { type: 'build'; id: number; call: number; credit: WorkerCredit; total: AccountTotal; seq: number };

/** How long one store call may take before the caller gives up (PostgreSQL unreachable, say). */
const CALL_TIMEOUT_MS = 30_000;
/** How long reachability() trusts what the last call said before it asks the database again. */
const PROBE_AFTER_MS = 5_000;

/** A CoordinatorStore on PostgreSQL, naming the instance its holds belong to, with its non-blocking face. */
export type SyncPgStore = CoordinatorStore & { readonly instanceId: string; readonly nonBlocking: AsyncCoordinatorStore };

/** Every method of the non-blocking face, each one call to the thread. */
const NON_BLOCKING_METHODS = [
  'balance',
  'deposit',
  'reserve',
  'jobIdUsed',
  'settle',
  'extendHold',
  'release',
  'releaseExpiredHolds',
  'releaseAllHolds',
  'checkpoint',
  'checkpoints',
  'forgetCheckpoints',
  'instanceWork',
  'account',
  'unpushed',
  'markPushed',
  'bindWorkerKey',
  'workerRecord',
  'recordWorkerEvent',
  'reinstateWorker',
  'recordDispute',
  'disputes',
  'recordClientReceipt',
  'receiptsPausedAt',
  'receiptPauses',
  'resumeReceipts',
  'unackedReceipts',
  'ackReceipts',
  'getSetting',
  'setSetting',
  'close',
] as const satisfies readonly (keyof AsyncCoordinatorStore)[];

/** An error that crossed the thread as plain values; the books' own kind is kept for callers that test for it. */
function rebuildError(name: string, message: string, unwritten = false): Error {
  if (name === 'BooksError') return new BooksError(message);
  if (name === 'RangeError') return new RangeError(message);
  if (name === 'StoreUnavailableError') return new StoreUnavailableError(message, unwritten);
  return new Error(message);
}

/**
 * Opens the PostgreSQL store (migrating it) behind the synchronous CoordinatorStore interface.
 * The thread starts and connects while the caller's event loop runs; only later calls block.
 */
export async function openPgStoreSync(options: PgStoreOptions): Promise<SyncPgStore> {
  const fromSource = import.meta.url.endsWith('.ts');
  const thread = new URL(fromSource ? './pg-store-thread.ts' : './pg-store-thread.js', import.meta.url);
  const signal = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const workerOptions = { workerData: { options, signal, port: port2 }, transferList: [port2] };
  // A thread inherits neither the parent's loader hooks nor (on Node 20) an --import of them:
  // from source, a one-line bootstrap loads the thread's TypeScript through tsx's API.
  const worker = fromSource
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.tsImport(${JSON.stringify(thread.href)}, ${JSON.stringify(import.meta.url)}))`, { ...workerOptions, eval: true })
    : new Worker(thread, workerOptions);
  try {
    const opened = await new Promise<BridgeReply>((resolve, reject) => {
      port1.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`The PostgreSQL store thread exited (${code}) while opening.`)));
      port1.postMessage({ type: 'call', id: 0, method: 'open', args: [] } satisfies BridgeRequest);
    });
    if (opened.type !== 'result' || !opened.ok) throw new Error(`Cannot open the PostgreSQL store: ${opened.type === 'result' && !opened.ok ? opened.message : 'unexpected reply'}`);
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    port1.removeAllListeners('message');
    worker.unref();
    return new PgStoreBridge(worker, port1, new Int32Array(signal), opened.value as string);
  } catch (error) {
    port1.close();
    await worker.terminate();
    throw error;
  }
}

/** A non-blocking call waiting for the thread's answer. */
interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  builder?: AsyncReceiptBuilder;
  timer: NodeJS.Timeout;
}

class PgStoreBridge implements CoordinatorStore {
  private closed = false;
  /** Why the store thread stopped, once it did: every call fails from then on. */
  private broken: string | undefined;
  private onBroken: (error: Error) => void = () => {};
  /** Resolves with why, if the store thread stops while the store is open (it never comes back). */
  readonly whenBroken = new Promise<Error>((resolve) => (this.onBroken = resolve));
  /** Call ids; 0 was the opening call. */
  private nextId = 1;
  /** Non-blocking calls in flight, by id. */
  private readonly waiting = new Map<number, Waiting>();
  /**
   * The same calls as promises: the caller's event loop goes on serving while PostgreSQL
   * answers (what a request does on its way: hold, settlement, standing, acknowledgements).
   */
  readonly nonBlocking: AsyncCoordinatorStore;

  constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly flag: Int32Array,
    /** The instance named on the holds this store takes. */
    readonly instanceId: string,
  ) {
    port.on('message', (batch: BridgeBatch<BridgeReply>) => {
      for (const message of unbatch(batch)) this.dispatch(message);
    });
    port.unref();
    // A thread that dies (an error nothing caught there, or its exit) takes every call with it.
    worker.on('error', (error) => this.stopped(`it failed: ${error instanceof Error ? error.message : String(error)}`));
    worker.on('exit', (code) => this.stopped(`it exited with code ${code}`));
    const face: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const method of NON_BLOCKING_METHODS) {
      face[method] =
        method === 'settle'
          ? // What signs vouchers goes to the thread, which builds the receipts itself; a builder stays here and the thread asks it.
            (job, receipt) => (typeof receipt === 'function' ? this.callLater('settle', [job], receipt as AsyncReceiptBuilder) : this.callLater('settle', [job, receipt]))
          : (...args) => this.callLater(method, args);
    }
    this.nonBlocking = face as unknown as AsyncCoordinatorStore;
  }

  /** Nothing to group here: the thread sends the settlements of one turn in one transaction itself. */
  group<T>(work: () => T): T {
    return work();
  }

  /** Each call committed on PostgreSQL before it returned. */
  synced(): Promise<void> {
    return Promise.resolve();
  }

  /** Calls made in this turn of the event loop, sent to the thread together at its end. */
  private outgoing: BridgeRequest[] = [];

  /** Sends a message now, after what waits for the end of the turn (the thread sees them in order). */
  private post(request: BridgeRequest): void {
    this.sendOutgoing();
    this.port.postMessage(request);
  }

  /** Queues a non-blocking call for the end of this turn of the event loop. */
  private postSoon(request: BridgeRequest): void {
    if (this.outgoing.push(request) === 1) setImmediate(() => this.sendOutgoing());
  }

  private sendOutgoing(): void {
    if (this.outgoing.length === 0) return;
    const batch = this.outgoing;
    this.outgoing = [];
    this.port.postMessage(batch.length === 1 ? batch[0] : batch);
  }

  /** The store thread stopped while the store was open: what waits is refused, and so is every call from now on. */
  private stopped(why: string): void {
    if (this.closed || this.broken) return;
    this.broken = `The PostgreSQL store's thread stopped (${why}): this instance can read or write nothing more until it restarts.`;
    // Calls under way may have been written before it stopped.
    const error = new StoreBrokenError(this.broken);
    for (const [, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.waiting.clear();
    this.port.unref();
    this.heard(false);
    this.onBroken(error);
  }

  /** Sends one call; its answer comes to dispatch(). Only `close` is still sent once closed (by close() itself). */
  private callLater(method: BridgeMethod, args: unknown[], builder?: AsyncReceiptBuilder): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('The PostgreSQL store is closed.'));
    if (this.broken) return Promise.reject(new StoreBrokenError(this.broken, true));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.waiting.delete(id)) return;
        if (this.waiting.size === 0) this.port.unref();
        this.heard(false);
        reject(new StoreUnavailableError(`The PostgreSQL store did not answer ${method} within ${CALL_TIMEOUT_MS / 1000} s.`));
      }, CALL_TIMEOUT_MS);
      timer.unref();
      this.waiting.set(id, { resolve, reject, timer, ...(builder ? { builder } : {}) });
      // An answer awaited keeps the process alive, as any pending I/O does.
      if (this.waiting.size === 1) this.port.ref();
      this.postSoon({ type: 'call', id, method, args });
    });
  }

  /** A message for a non-blocking call: its answer, or a receipt its settlement needs built. */
  private dispatch(message: BridgeReply): void {
    if (message.type === 'build') {
      const builder = this.waiting.get(message.call)?.builder;
      const failed = (error: unknown) => this.post({ type: 'built', id: message.id, error: error instanceof Error ? error.message : String(error) });
      if (!builder) return failed('No settlement is waiting for this receipt.');
      // Answered at once when the builder is synchronous: this may run inside a blocking call's
      // wait (no microtask runs there), and that call may be queued behind this settlement.
      let built: ReturnType<AsyncReceiptBuilder>;
      try {
        built = builder(message.credit, message.total, message.seq);
      } catch (error) {
        return failed(error);
      }
      if (built instanceof Promise) built.then((frame) => this.post({ type: 'built', id: message.id, frame }), failed);
      else this.post({ type: 'built', id: message.id, frame: built });
      return;
    }
    const waiting = this.waiting.get(message.id);
    if (!waiting) return; // timed out already
    this.waiting.delete(message.id);
    clearTimeout(waiting.timer);
    if (this.waiting.size === 0) this.port.unref();
    this.heard(message.ok || message.name !== 'StoreUnavailableError');
    if (message.ok) waiting.resolve(message.value);
    else waiting.reject(rebuildError(message.name, message.message, message.unwritten));
  }

  /** Whether PostgreSQL answered the last call that ended (a refusal is an answer), since when so, and when last heard of. */
  private link = { reachable: true, since: Date.now(), checked: Date.now() };
  private probing = false;

  private heard(answered: boolean): void {
    const now = Date.now();
    if (answered !== this.link.reachable) this.link = { reachable: answered, since: now, checked: now };
    else this.link.checked = now;
  }

  /**
   * Whether the database answered the last call, and since when (unix ms). Where no call ended
   * for PROBE_AFTER_MS, a cheap one is sent in the background, so that the next look is fresh.
   */
  reachability(): { reachable: boolean; since: number } {
    if (!this.probing && !this.closed && !this.broken && Date.now() - this.link.checked > PROBE_AFTER_MS) {
      this.probing = true;
      this.nonBlocking.getSetting('reachability-probe').then(
        () => (this.probing = false),
        () => (this.probing = false),
      );
    }
    return { reachable: this.link.reachable, since: this.link.since };
  }

  /**
   * Sends one call and blocks until its result; builds receipts the thread asks for meanwhile.
   * Answers to non-blocking calls that arrive during the wait go to their callers.
   */
  private call(method: BridgeMethod, args: unknown[], builder?: ReceiptBuilder): unknown {
    if (this.closed) throw new Error('The PostgreSQL store is closed.');
    if (this.broken) throw new StoreBrokenError(this.broken, true);
    const id = this.nextId++;
    Atomics.store(this.flag, 0, 0);
    this.post({ type: 'call', id, method, args });
    const received: BridgeReply[] = [];
    for (;;) {
      if (received.length === 0) {
        const batch = receiveMessageOnPort(this.port)?.message as BridgeBatch<BridgeReply> | undefined;
        if (batch === undefined) {
          if (Atomics.wait(this.flag, 0, 0, CALL_TIMEOUT_MS) === 'timed-out') {
            this.heard(false);
            throw new StoreUnavailableError(`The PostgreSQL store did not answer ${String(method)} within ${CALL_TIMEOUT_MS / 1000} s.`);
          }
          Atomics.store(this.flag, 0, 0);
          continue;
        }
        received.push(...unbatch(batch));
      }
      const message = received.shift()!;
      if (message.type === 'build' && message.call === id) {
        if (!builder) throw new Error('The store thread asked for a receipt outside a settlement.');
        let frame: JobReceiptFrame;
        try {
          frame = builder(message.credit, message.total, message.seq);
        } catch (error) {
          this.post({ type: 'built', id: message.id, error: error instanceof Error ? error.message : String(error) });
          continue;
        }
        this.post({ type: 'built', id: message.id, frame });
        continue;
      }
      if (message.type !== 'result' || message.id !== id) {
        this.dispatch(message);
        continue;
      }
      // Answers that came in the same batch after this one go to their callers.
      for (const later of received) this.dispatch(later);
      this.heard(message.ok || message.name !== 'StoreUnavailableError');
      if (message.ok) return message.value;
      throw rebuildError(message.name, message.message, message.unwritten);
    }
  }

  balance(clientId: string): bigint {
    return this.call('balance', [clientId]) as bigint;
  }
  deposit(clientId: string, amount: bigint, reference: string): boolean {
    return this.call('deposit', [clientId, amount, reference]) as boolean;
  }
  reserve(clientId: string, jobId: string, amount: bigint, expiresAt: number): 'held' | 'short' | 'duplicate' {
    return this.call('reserve', [clientId, jobId, amount, expiresAt]) as 'held' | 'short' | 'duplicate';
  }
  jobIdUsed(jobId: string): boolean {
    return this.call('jobIdUsed', [jobId]) as boolean;
  }
  settle(...[job, receipt]: Parameters<CoordinatorStore['settle']>): ReturnType<CoordinatorStore['settle']> {
    return this.call('settle', [job], receipt) as ReturnType<CoordinatorStore['settle']>;
  }
  extendHold(jobId: string, expiresAt: number): boolean {
    return this.call('extendHold', [jobId, expiresAt]) as boolean;
  }
  release(jobId: string): void {
    this.call('release', [jobId]);
  }
  releaseExpiredHolds(now: number): string[] {
    return this.call('releaseExpiredHolds', [now]) as string[];
  }
  releaseAllHolds(): string[] {
    return this.call('releaseAllHolds', []) as string[];
  }
  checkpoint(jobs: readonly SettledJob[]): void {
    this.call('checkpoint', [jobs]);
  }
  checkpoints(owner?: string): ReturnType<CoordinatorStore['checkpoints']> {
    return this.call('checkpoints', [owner]) as ReturnType<CoordinatorStore['checkpoints']>;
  }
  forgetCheckpoints(owner: string, jobIds: readonly string[]): void {
    this.call('forgetCheckpoints', [owner, jobIds]);
  }
  instanceWork(): ReturnType<CoordinatorStore['instanceWork']> {
    return this.call('instanceWork', []) as ReturnType<CoordinatorStore['instanceWork']>;
  }
  account(name: string): AccountTotal {
    return this.call('account', [name]) as AccountTotal;
  }
  unpushed(threshold: bigint): AccountTotal[] {
    return this.call('unpushed', [threshold]) as AccountTotal[];
  }
  markPushed(name: string, cumulative: bigint): void {
    this.call('markPushed', [name, cumulative]);
  }
  bindWorkerKey(...args: Parameters<CoordinatorStore['bindWorkerKey']>): ReturnType<CoordinatorStore['bindWorkerKey']> {
    return this.call('bindWorkerKey', args) as ReturnType<CoordinatorStore['bindWorkerKey']>;
  }
  workerRecord(workerId: string): ReturnType<CoordinatorStore['workerRecord']> {
    return this.call('workerRecord', [workerId]) as ReturnType<CoordinatorStore['workerRecord']>;
  }
  recordWorkerEvent(...args: Parameters<CoordinatorStore['recordWorkerEvent']>): ReturnType<CoordinatorStore['recordWorkerEvent']> {
    return this.call('recordWorkerEvent', args) as ReturnType<CoordinatorStore['recordWorkerEvent']>;
  }
  recordDispute(...args: Parameters<CoordinatorStore['recordDispute']>): void {
    this.call('recordDispute', args);
  }
  disputes(workerId: string): ReturnType<CoordinatorStore['disputes']> {
    return this.call('disputes', [workerId]) as ReturnType<CoordinatorStore['disputes']>;
  }
  recordClientReceipt(...args: Parameters<CoordinatorStore['recordClientReceipt']>): ReturnType<CoordinatorStore['recordClientReceipt']> {
    return this.call('recordClientReceipt', args) as ReturnType<CoordinatorStore['recordClientReceipt']>;
  }
  reinstateWorker(workerId: string): ReturnType<CoordinatorStore['reinstateWorker']> {
    return this.call('reinstateWorker', [workerId]) as ReturnType<CoordinatorStore['reinstateWorker']>;
  }
  receiptsPausedAt(clientId: string): number | undefined {
    return this.call('receiptsPausedAt', [clientId]) as number | undefined;
  }
  receiptPauses(): ReturnType<CoordinatorStore['receiptPauses']> {
    return this.call('receiptPauses', []) as ReturnType<CoordinatorStore['receiptPauses']>;
  }
  resumeReceipts(clientId: string, now: number): boolean {
    return this.call('resumeReceipts', [clientId, now]) as boolean;
  }
  unackedReceipts(workerId: string, after?: number, signing?: ReceiptSigning): JobReceiptFrame[] {
    return this.call('unackedReceipts', [workerId, after, signing]) as JobReceiptFrame[];
  }
  ackReceipts(workerId: string, upTo: number): void {
    this.call('ackReceipts', [workerId, upTo]);
  }
  getSetting(key: string): string | undefined {
    return this.call('getSetting', [key]) as string | undefined;
  }
  setSetting(key: string, value: string): void {
    this.call('setSetting', [key, value]);
  }
  close(): void {
    if (this.closed) return;
    try {
      if (!this.broken) this.call('close', []);
    } finally {
      this.closed = true;
      for (const [, waiting] of this.waiting) {
        clearTimeout(waiting.timer);
        waiting.reject(new Error('The PostgreSQL store closed before it answered.'));
      }
      this.waiting.clear();
      this.port.close();
      void this.worker.terminate();
    }
  }
}
