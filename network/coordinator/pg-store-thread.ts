/**
 * The worker thread behind the synchronous PostgreSQL store (pg-store-bridge.ts): it owns the
 * pool and the async PgStore, runs each call it is sent and wakes the waiting caller. During a
 * settlement it asks the caller to build each receipt (the voucher key stays on the caller).
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { openPgStore, type PgStore, type PgStoreOptions } from './pg-store.js';
import type { AccountTotal, JobReceiptFrame, SettledJob, WorkerCredit } from './store.js';
import type { BridgeReply, BridgeRequest } from './pg-store-bridge.js';

const { options, signal, port } = workerData as { options: PgStoreOptions; signal: SharedArrayBuffer; port: MessagePort };
const flag = new Int32Array(signal);
let store: PgStore | undefined;
const built = new Map<number, (frame: JobReceiptFrame) => void>();
let nextBuild = 0;

/** Posts to the caller and wakes it from Atomics.wait. */
function reply(message: BridgeReply): void {
  port.postMessage(message);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

function buildReceipt(credit: WorkerCredit, total: AccountTotal, seq: number): Promise<JobReceiptFrame> {
  const id = nextBuild++;
  return new Promise((resolve) => {
    built.set(id, resolve);
    reply({ type: 'build', id, credit, total, seq });
  });
}

async function run(request: Extract<BridgeRequest, { type: 'call' }>): Promise<unknown> {
  if (request.method === 'open') {
    store = await openPgStore(options);
    return store.instanceId;
  }
  if (!store) throw new Error('The PostgreSQL store is not open.');
  if (request.method === 'settle') return store.settle(request.args[0] as SettledJob, buildReceipt);
  const method = store[request.method] as (...args: unknown[]) => Promise<unknown>;
  return method.apply(store, request.args);
}

port.on('message', (request: BridgeRequest) => {
  if (request.type === 'built') {
    built.get(request.id)?.(request.frame);
    built.delete(request.id);
    return;
  }
  run(request).then(
    (value) => reply({ type: 'result', ok: true, value }),
    (error: unknown) => reply({ type: 'result', ok: false, name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) }),
  );
});
