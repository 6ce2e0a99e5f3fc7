/**
 * The synchronous face of the PostgreSQL store, so callers written against the embedded
 * CoordinatorStore (one SQLite writer, every call synchronous) run unchanged on PostgreSQL:
 * the async PgStore lives in a worker thread, and each call here posts a request and blocks on
 * Atomics.wait until the thread answers. The coordinator's event loop waits for one round trip
 * per store call (well under a millisecond to a local server); the books stay exact because
 * every money call is one SERIALIZABLE transaction in PostgreSQL, whichever instance makes it.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { BooksError } from './books-check.js';
import type { PgStoreOptions } from './pg-store.js';
import type { AccountTotal, CoordinatorStore, JobReceiptFrame, ReceiptBuilder, WorkerCredit } from './store.js';

/** A request from the caller to the store thread. */
export type BridgeRequest = { type: 'call'; method: Exclude<keyof CoordinatorStore, 'group' | 'synced'> | 'open'; args: unknown[] } | { type: 'built'; id: number; frame: JobReceiptFrame };

/** A message from the store thread: a call's result, or a receipt to build for a settlement. */
export type BridgeReply =
  | { type: 'result'; ok: true; value: unknown }
  | { type: 'result'; ok: false; name: string; message: string }
  | { type: 'build'; id: number; credit: WorkerCredit; total: AccountTotal; seq: number };

/** How long one store call may take before the caller gives up (PostgreSQL unreachable, say). */
const CALL_TIMEOUT_MS = 30_000;

/** A CoordinatorStore on PostgreSQL, naming the instance its holds belong to. */
export type SyncPgStore = CoordinatorStore & { readonly instanceId: string };

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
      port1.postMessage({ type: 'call', method: 'open', args: [] } satisfies BridgeRequest);
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

class PgStoreBridge implements CoordinatorStore {
  private closed = false;

  constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly flag: Int32Array,
    /** The instance named on the holds this store takes. */
    readonly instanceId: string,
  ) {}

  /** Each settlement is its own SERIALIZABLE transaction on PostgreSQL: nothing to group. */
  group<T>(work: () => T): T {
    return work();
  }

  /** Each call committed on PostgreSQL before it returned. */
  synced(): Promise<void> {
    return Promise.resolve();
  }

  /** Sends one call and blocks until its result; builds receipts the thread asks for meanwhile. */
  private call(method: BridgeRequest & { type: 'call' } extends { method: infer M } ? M : never, args: unknown[], builder?: ReceiptBuilder): unknown {
    if (this.closed) throw new Error('The PostgreSQL store is closed.');
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ type: 'call', method, args } satisfies BridgeRequest);
    for (;;) {
      const message = receiveMessageOnPort(this.port)?.message as BridgeReply | undefined;
      if (!message) {
        if (Atomics.wait(this.flag, 0, 0, CALL_TIMEOUT_MS) === 'timed-out') throw new Error(`The PostgreSQL store did not answer ${String(method)} within ${CALL_TIMEOUT_MS / 1000} s.`);
        Atomics.store(this.flag, 0, 0);
        continue;
      }
      if (message.type === 'build') {
        if (!builder) throw new Error('The store thread asked for a receipt outside a settlement.');
        this.port.postMessage({ type: 'built', id: message.id, frame: builder(message.credit, message.total, message.seq) } satisfies BridgeRequest);
        continue;
      }
      if (message.ok) return message.value;
      // Errors cross the thread as plain values; the books' own kind is kept for callers that test for it.
      if (message.name === 'BooksError') throw new BooksError(message.message);
      if (message.name === 'RangeError') throw new RangeError(message.message);
      throw new Error(message.message);
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
  release(jobId: string): void {
    this.call('release', [jobId]);
  }
  releaseExpiredHolds(now: number): string[] {
    return this.call('releaseExpiredHolds', [now]) as string[];
  }
  releaseAllHolds(): string[] {
    return this.call('releaseAllHolds', []) as string[];
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
  unackedReceipts(workerId: string, after?: number): JobReceiptFrame[] {
    return this.call('unackedReceipts', [workerId, ...(after === undefined ? [] : [after])]) as JobReceiptFrame[];
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
      this.call('close', []);
    } finally {
      this.closed = true;
      this.port.close();
      void this.worker.terminate();
    }
  }
}
