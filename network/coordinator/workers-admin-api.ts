/**
 * The operator's view of one worker identity, and the way back for an ejected one. Three failed
 * checks eject an identity for good (reputation.ts), and most ejected identities are cheats;
 * but an honest owner's GPU that was overclocked or failing computes wrong answers too, and
 * their app tells them so (main/app/refusal-words.ts). Once they have fixed it, the operator may
 * take the identity back: it starts over with no strikes and a new identity's reputation, and
 * its history stays counted. The app keeps asking, so it is back on its next try.
 */
import type { ServerResponse } from 'node:http';
import { decodePathPart, sendError, sendJson } from './http-util.js';
import type { Logger } from './log.js';
import { callStore, type CoordinatorStore, type WorkerRecord } from './store.js';

/** `${ROUTES.adminWorkers}/{id}` + this takes back an ejected identity. */
export const REINSTATE_SUFFIX = '/reinstate';

function workerJson(record: WorkerRecord, connected: boolean): Record<string, unknown> {
  return {
    worker: record.workerId,
    identity_key: record.identityKey,
    first_seen: new Date(record.firstSeen).toISOString(),
    reputation: Number(record.reputation.toFixed(4)),
    strikes: record.strikes,
    clean_jobs: record.cleanJobs,
    disputes: record.disputes,
    cutoffs: record.cutoffs,
    verify_failures: record.verifyFailures,
    lost_jobs: record.lostJobs,
    ejected_at: record.ejectedAt === null ? null : new Date(record.ejectedAt).toISOString(),
    connected,
  };
}

function workerIdOf(res: ServerResponse, encoded: string): string | undefined {
  const id = decodePathPart(encoded);
  if (id === undefined || !/^[A-Za-z0-9._:-]{1,128}$/.test(id)) {
    sendError(res, 400, 'Name the worker id, as its app or the coordinator’s log shows it.', 'invalid_request');
    return undefined;
  }
  return id;
}

/** `GET /v1/admin/workers/{id}`: the identity's standing as the coordinator recorded it. */
export async function handleWorkerStanding(res: ServerResponse, store: CoordinatorStore, encodedId: string, connected: (workerId: string) => boolean): Promise<void> {
  const workerId = workerIdOf(res, encodedId);
  if (workerId === undefined) return;
  const record = await callStore(store, (s) => s.workerRecord(workerId));
  if (!record) return sendError(res, 404, `No worker ${workerId} has ever connected here.`, 'unknown_worker');
  sendJson(res, 200, workerJson(record, connected(workerId)));
}

/** `POST /v1/admin/workers/{id}/reinstate`: takes back an ejected identity (operator only). */
export async function handleReinstateWorker(res: ServerResponse, store: CoordinatorStore, encodedId: string, logger: Logger): Promise<void> {
  const workerId = workerIdOf(res, encodedId);
  if (workerId === undefined) return;
  const record = await callStore(store, (s) => s.reinstateWorker(workerId));
  if (!record) {
    const known = await callStore(store, (s) => s.workerRecord(workerId));
    return sendError(res, 404, known ? `Worker ${workerId} is not ejected.` : `No worker ${workerId} has ever connected here.`, known ? 'not_ejected' : 'unknown_worker');
  }
  logger.warn({ workerId, reputation: record.reputation }, 'ejected worker reinstated by the operator');
  sendJson(res, 200, { reinstated: true, ...workerJson(record, false) });
}
