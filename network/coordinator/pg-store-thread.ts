/**
 * The worker thread behind the PostgreSQL store's bridge (pg-store-bridge.ts): it owns the pool
 * and the async PgStore, runs each numbered call it is sent and answers with the same number,
 * waking the caller in case it blocks on Atomics.wait. During a settlement it asks the caller to
 * build each receipt (the voucher key stays on the caller).
 *
 * Calls that move money run one after another, in the order they came: each is a SERIALIZABLE
 * transaction, and several at once from one instance would mostly fight over the same rows (a
 * client's balance) and be retried. Everything else (standing, disputes, acknowledgements,
 * reads) runs alongside on the pool's other connections.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { openPgStore, type PgStore, type PgStoreOptions } from './pg-store.js';
import type { AccountTotal, JobReceiptFrame, SettledJob, WorkerCredit } from './store.js';
import type { BridgeMethod, BridgeReply, BridgeRequest } from './pg-store-bridge.js';

const { options, signal, port } = workerData as { options: PgStoreOptions; signal: SharedArrayBuffer; port: MessagePort };
const flag = new Int32Array(signal);
let store: PgStore | undefined;
const built = new Map<number, { resolve: (frame: JobReceiptFrame) => void; reject: (error: Error) => void }>();
let nextBuild = 0;

/** The calls that move money: one at a time, in order. */
const MONEY = new Set<BridgeMethod>(['deposit', 'reserve', 'settle', 'release', 'releaseExpiredHolds', 'releaseAllHolds']);
let moneyTail: Promise<unknown> = Promise.resolve();

/** Posts to the caller and wakes it from Atomics.wait. */
function reply(message: BridgeReply): void {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

function buildReceipt(call: number): (credit: WorkerCredit, total: AccountTotal, seq: number) => Promise<JobReceiptFrame> {
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
  if (request.method === 'settle') return store.settle(request.args[0] as SettledJob, buildReceipt(request.id));
  const method = store[request.method] as (...args: unknown[]) => Promise<unknown>;
  return method.apply(store, request.args);
}

port.on('message', (request: BridgeRequest) => {
  if (request.type === 'built') {
    const waiting = built.get(request.id);
    built.delete(request.id);
    if ('frame' in request) waiting?.resolve(request.frame);
    else waiting?.reject(new Error(`The receipt could not be built: ${request.error}`));
    return;
  }
  let done: Promise<unknown>;
  // Closing waits for the money calls sent before it.
  if (MONEY.has(request.method) || request.method === 'close') {
    done = moneyTail.then(() => run(request));
    moneyTail = done.catch(() => undefined);
  } else {
    done = run(request);
  }
  done.then(
    (value) => reply({ type: 'result', id: request.id, ok: true, value }),
    (error: unknown) => reply({ type: 'result', id: request.id, ok: false, name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) }),
  );
});
