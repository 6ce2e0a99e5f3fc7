/**
 * The worker thread behind the PostgreSQL store's bridge (pg-store-bridge.ts): it owns the pool
 * and the async PgStore, runs each numbered call it is sent and answers with the same number,
 * waking the caller in case it blocks on Atomics.wait. A settlement builds its receipts here when
 * the caller sent what signs their vouchers (as the coordinator's billing does); given a builder
 * instead, it asks the caller to build each one.
 *
 * Calls run at once, on the pool's connections, as calls from several instances do: PostgreSQL's
 * row locks keep the books exact (pg-store.ts). The settlements received in one turn go to the
 * database in one call (PgStore's batch, up to 64 a call), a worker's in the order they came; a
 * batch locks its accounts first, so two calls settling for one worker take its receipt numbers
 * one after the other, whichever locks first (billing announces receipts in number order). Releasing all the instance's holds (at start) and closing wait their turn: each waits
 * for every call before it, and every call after it waits for it.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { neverReached, openPgStore, storeUnreachable, type PgStore, type PgStoreOptions } from './pg-store.js';
import type { AccountTotal, JobReceiptFrame, SettledJob, WorkerCredit } from './store.js';
import type { ReceiptSigning } from './receipts.js';
import { unbatch, type BridgeBatch, type BridgeMethod, type BridgeReply, type BridgeRequest } from './pg-store-bridge.js';

const { options, signal, port } = workerData as { options: PgStoreOptions; signal: SharedArrayBuffer; port: MessagePort };
const flag = new Int32Array(signal);
let store: PgStore | undefined;
const built = new Map<number, { resolve: (frame: JobReceiptFrame) => void; reject: (error: Error) => void }>();
let nextBuild = 0;

/** Calls that wait for every call before them, and that every later call waits for. */
const ALONE = new Set<BridgeMethod>(['releaseAllHolds', 'close']);
/** Calls not yet answered. */
const inFlight = new Set<Promise<unknown>>();
/** The last call run alone (settled, whatever its outcome). */
let alone: Promise<unknown> = Promise.resolve();

/** Runs a call when its turn comes (see the header). */
function schedule(request: Extract<BridgeRequest, { type: 'call' }>): Promise<unknown> {
  let done: Promise<unknown>;
  if (ALONE.has(request.method)) {
    const before = Promise.allSettled([alone, ...inFlight]);
    done = before.then(() => run(request));
    alone = done.catch(() => undefined);
  } else {
    done = alone.then(() => run(request));
  }
  inFlight.add(done);
  void done.catch(() => undefined).then(() => inFlight.delete(done));
  return done;
}

/** Replies ready in this turn of the thread's event loop, sent together at its end. */
let replies: BridgeReply[] = [];

/** Queues a message for the caller; at the end of this turn they go, and wake it from Atomics.wait. */
function reply(message: BridgeReply): void {
  if (replies.push(message) === 1) setImmediate(sendReplies);
}

function sendReplies(): void {
  const batch = replies;
  replies = [];
  port.postMessage(batch.length === 1 ? batch[0] : batch);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

/** A builder that asks the caller (which holds the builder it was given) to build each receipt. */
function askCallerToBuild(call: number): (credit: WorkerCredit, total: AccountTotal, seq: number) => Promise<JobReceiptFrame> {
  return (credit, total, seq) => {
    const id = nextBuild++;
    return new Promise((resolve, reject) => {
      built.set(id, { resolve, reject });
      reply({ type: 'build', id, call, credit, total, seq });
    });
  };
}

async function run(request: Extract<BridgeRequest, { type: 'call' }>): Promise<unknown> {
  if (request.method === 'open') {
    store = await openPgStore(options);
    return store.instanceId;
  }
  if (!store) throw new Error('The PostgreSQL store is not open.');
  if (request.method === 'settle') return store.settle(request.args[0] as SettledJob, (request.args[1] as ReceiptSigning | undefined) ?? askCallerToBuild(request.id));
  const method = store[request.method] as (...args: unknown[]) => Promise<unknown>;
  return method.apply(store, request.args);
}

port.on('message', (batch: BridgeBatch<BridgeRequest>) => {
  for (const request of unbatch(batch)) receive(request);
});

function receive(request: BridgeRequest): void {
  if (request.type === 'built') {
    const waiting = built.get(request.id);
    built.delete(request.id);
    if ('frame' in request) waiting?.resolve(request.frame);
    else waiting?.reject(new Error(request.error));
    return;
  }
  schedule(request).then(
    (value) => reply({ type: 'result', id: request.id, ok: true, value }),
    (error: unknown) =>
      reply({
        type: 'result',
        id: request.id,
        ok: false,
        name: storeUnreachable(error) ? 'StoreUnavailableError' : error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
        ...(neverReached(error) ? { unwritten: true } : {}),
      }),
  );
}
