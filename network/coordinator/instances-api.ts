/**
 * The operator's view of the instances sharing one PostgreSQL store, and the retirement of one
 * that will not run again. An instance killed mid-job leaves the books of its jobs in flight as
 * it last checkpointed them; its own next start bills them (billing.ts, settleCheckpoints). One
 * that never comes back (its machine and data folder gone) would leave its workers unpaid for
 * that work: retiring it bills the same checkpoints from another instance, then refunds whatever
 * it still holds.
 *
 * Whether an instance is dead cannot be known from here, only guessed, so retirement is the
 * operator's call, and refused while a sign says the instance still runs: it is this one, the
 * bus hears it, or it wrote a checkpoint within the quiet period (a running instance rewrites
 * its checkpoints every few seconds while it has jobs in flight, and deletes them when they end:
 * one that runs only short jobs leaves none, so there is nothing of it to retire). Its holds are
 * left to the expiry sweep, which refunds what the checkpoints did not bill. An instance that was
 * only cut off from the store and comes back after it was retired finds its checkpoints billed: a
 * settlement it kept for one of those jobs then lands as settled before, and its worker is paid
 * what the checkpoint counted, not the whole job.
 */
import type { ServerResponse } from 'node:http';
import type { Billing } from './billing.js';
import { decodePathPart, sendError, sendJson } from './http-util.js';
import type { Logger } from './log.js';
import { callStore, type CoordinatorStore } from './store.js';

/** `${ROUTES.adminInstances}/{id}` + this retires an instance. */
export const RETIRE_SUFFIX = '/retire';

/** How long after its last checkpoint an instance may be retired, by default (they come every few seconds while it runs). */
export const RETIRE_QUIET_MS = 60_000;

/** What the instance endpoints need of the coordinator. */
export interface InstancesContext {
  /** This instance. */
  self: string;
  /** Whether the store is shared (PostgreSQL): on SQLite there is one instance, and nothing to retire. */
  shared: boolean;
  /** The other instances the bus hears now (none without a bus). */
  peers: () => readonly string[];
  store: CoordinatorStore;
  billing: Billing;
  logger: Logger;
  /** How long an instance must have been without a new checkpoint (RETIRE_QUIET_MS). */
  quietMs: number;
}

const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());

/** `GET /v1/admin/instances`: each instance with jobs in the store, and whether it is known to run. */
export async function handleInstances(res: ServerResponse, ctx: InstancesContext): Promise<void> {
  const work = await callStore(ctx.store, (s) => s.instanceWork());
  const running = new Set([ctx.self, ...ctx.peers()]);
  sendJson(res, 200, {
    object: 'list',
    self: ctx.self,
    shared: ctx.shared,
    data: work.map((w) => ({ instance: w.instance, running: running.has(w.instance), checkpoints: w.checkpoints, last_checkpoint_at: iso(w.lastCheckpointAt), holds: w.holds, holds_expire_at: iso(w.holdsExpireAt) })),
  });
}

/** `POST /v1/admin/instances/{id}/retire`: bills a dead instance's checkpoints. */
export async function handleRetireInstance(res: ServerResponse, ctx: InstancesContext, encodedId: string): Promise<void> {
  if (!ctx.shared) return sendError(res, 400, 'This coordinator keeps its books in SQLite, alone: there is no other instance to retire (its own next start settles what it left).', 'invalid_request');
  const id = decodePathPart(encodedId);
  if (id === undefined || id === '' || id.length > 128) return sendError(res, 400, 'Name the instance to retire, as /v1/admin/instances lists it.', 'invalid_request');
  if (id === ctx.self) return sendError(res, 409, `${id} is this instance.`, 'instance_running');
  if (ctx.peers().includes(id)) return sendError(res, 409, `${id} is running: the bus hears it.`, 'instance_running');
  const work = (await callStore(ctx.store, (s) => s.instanceWork())).find((w) => w.instance === id);
  if (!work) return sendError(res, 404, `Instance ${id} has nothing in the store to retire.`, 'unknown_instance');
  const quietFor = work.lastCheckpointAt === null ? undefined : Date.now() - work.lastCheckpointAt;
  if (work.checkpoints === 0 || quietFor === undefined) return sendError(res, 404, `Instance ${id} left no checkpoint to bill; its ${work.holds} hold(s) come back at their expiry.`, 'unknown_instance');
  if (quietFor < ctx.quietMs) {
    return sendError(res, 409, `${id} checkpointed its jobs ${Math.round(quietFor / 1000)} s ago: it may be running. Try again once it has been quiet for ${Math.round(ctx.quietMs / 1000)} s.`, 'instance_running');
  }
  const retired = await ctx.billing.retireInstance(id);
  ctx.logger.warn({ instance: id, settled: retired.settled, refused: retired.refused.length, unreadable: retired.unreadable.length }, 'retired an instance: billed what its jobs in flight had delivered by its last checkpoint');
  for (const { jobId, why } of retired.refused) ctx.logger.error({ instance: id, jobId, err: why }, 'a checkpointed job of a retired instance could not be billed');
  sendJson(res, 200, { instance: id, settled: retired.settled, refused: retired.refused.map((r) => ({ job: r.jobId, why: r.why })), unreadable: retired.unreadable.length });
}
