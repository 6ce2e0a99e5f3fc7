/**
 * The coordinator as one process: an HTTP server (OpenAI-compatible API, /healthz, /metrics)
 * and the WebSocket endpoint workers connect to, on the same port.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { MAX_FRAME_BYTES, WORKER_SOCKET_PATH, type CoordinatorFrame } from '../protocol/worker-frames.js';
import { ROUTES } from '../protocol/http-contract.js';
import { priceListToWire } from '../protocol/pricing.js';
import { formatHostPort } from '../protocol/host-port.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, watchBusRoundTrips, watchDeferredSettlements, watchProbeCoverage, watchStoreReachability } from './metrics.js';
import { WorkerRegistry } from './worker-registry.js';
import { heartbeatSchedule, WorkerSession } from './worker-session.js';
import { JobManager } from './job-manager.js';
import { transportBackend, type ApiContext } from './openai-api.js';
import { routeOpenAi } from '../node-kit/openai/routes.js';
import { ResponseStore } from '../node-kit/openai/response-store.js';
import { applyCors } from '../node-kit/cors.js';
import { decodePathPart, sendError } from './http-util.js';
import { loadCoordinatorKeys } from './keys.js';
import { openCoordinatorStore, redactStoreUrl, type StoreSpec } from './open-store.js';
import { callStore, StoreUnavailableError, type CoordinatorStore, type JobReceiptFrame, type SettledJob } from './store.js';
import { Billing } from './billing.js';
import { SettlementSpool } from './settlement-spool.js';
import { handleBalance, handleDeposit, handlePricing } from './money-api.js';
import { handleReinstateWorker, handleWorkerStanding, REINSTATE_SUFFIX } from './workers-admin-api.js';
import { handleInstances, handleRetireInstance, RETIRE_QUIET_MS, RETIRE_SUFFIX, type InstancesContext } from './instances-api.js';
import { handleListWorkers, handleReceiptPauses, handleResumeReceipts, handleSealedJob, handleUsageReceipt, receiptJobId, ReceiptWaits, RECEIPT_WAIT_MS } from './sealed-api.js';
import { ModelMeters } from './model-meters.js';
import { WorkerStanding } from './worker-standing.js';
import { RetryLater } from './retry-later.js';
import { SpotChecker } from './spot-check.js';
import { BUILT_IN_PROBE_PROMPTS, SealedProber, type ProbePrompt } from './sealed-probes.js';
import type { PriceList } from '../protocol/pricing.js';
import { startSettlement, type Settlement } from './settlement.js';
import { CHAIN_GLOBAL_ID } from '../protocol/voucher.js';
import { handleCatalog, handleCatalogFile, type CoordinatorCatalog } from './catalog-api.js';
import { CATALOG_FILES_PATH, CATALOG_PATH } from '../protocol/catalog.js';
import { createTonProofApi, type TonProofApi } from './ton-proof-api.js';
import { ClusterBus } from './bus.js';

/** Everything a coordinator is started with. */
export interface CoordinatorOptions {
  host: string;
  port: number;
  dataDir: string;
  /** Accepted client API keys; empty = the API is open (loopback development only). */
  apiKeys: string[];
  /** Clients are not charged (workers are still credited); implied when there are no keys. */
  unmetered?: boolean;
  /** Key for the operator's endpoints (/v1/admin/…); without one they are disabled. */
  adminKey?: string;
  /** How long another instance must have been without a new checkpoint before it may be retired (instances-api.ts; default 60 s). */
  retireQuietMs?: number;
  prices?: PriceList;
  /** Settlement on TON: without it, earnings are credited and receipts carry no voucher. */
  chain?: { url: string; apiKey?: string; network: 'testnet' | 'mainnet'; pushThreshold: bigint; pushIntervalMs: number; initialVaultFunding?: bigint };
  /** The payout vault vouchers are issued for (set by `chain`, or given for tests). */
  vault?: string;
  /** TON Connect dApp backend (manifest, ton_proof); publicUrl defaults to the listening URL, network to chain's or testnet. */
  tonConnect?: { publicUrl?: string; network?: 'testnet' | 'mainnet'; allowedDomains?: string[] };
  requestTimeoutMs?: number;
  /**
   * How often the books of jobs in flight (those running at least this long) are checkpointed,
   * so a restart after this process dies bills what they had delivered (default 5000).
   */
  checkpointIntervalMs?: number;
  /** How often idle workers are pinged (default 15 s; rounded to a whole number of busy intervals). */
  heartbeatIntervalMs?: number;
  /** How often workers with a job in flight are pinged (default 5 s, or the idle interval if shorter). */
  busyHeartbeatIntervalMs?: number;
  handshakeTimeoutMs?: number;
  maxFrameBytes?: number;
  /** The model catalog published at GET /v1/catalog (`--catalog FILE`), and its served files. */
  catalog?: CoordinatorCatalog;
  /** Share of transport jobs re-scored by the same model before settling (`--verify-rate`, 0..1). */
  verifyRate?: number;
  /** CPU threads of the spot-check verifier (default 1). */
  verifyThreads?: number;
  /**
   * Sealed probes (`--probe-interval`, sealed-probes.ts): every `intervalMs` on average this
   * coordinator seals a chat from `prompts` (default: the built-in set) to one of its sealed
   * workers and re-scores the answer with the catalog's model file. Needs the catalog's files.
   */
  probes?: { intervalMs: number; prompts?: readonly ProbePrompt[] };
  /** Highest price coefficient a client that sends no x-silkworm-max-coefficient accepts (default 1). */
  defaultMaxCoefficient?: number;
  /** Share of routing decisions that pick uniformly among eligible workers, so newcomers get measured (default 0.05). */
  explorationRate?: number;
  /** Web origins (scheme://host[:port]) whose pages may call the API (`--cors-origin`); none by default. */
  corsOrigins?: string[];
  /** Where durable state lives (`--store`): undefined = SQLite in dataDir; a postgres:// URL = shared by several instances. */
  store?: StoreSpec;
  /** NATS URL (`--bus`) joining this instance to the others sharing `store`: each routes over every instance's workers. */
  bus?: string;
  /**
   * Called once if the store can be reached no more from this process (the PostgreSQL store's
   * thread stopped): the instance says so on /healthz (503) and in its log; the command line
   * shuts it down so that its supervisor starts it again.
   */
  onStoreBroken?: (error: Error) => void;
  logger?: Logger;
}

/** A running coordinator. */
export interface Coordinator {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:8787 */
  url: string;
  id: string;
  registry: WorkerRegistry;
  jobs: JobManager;
  store: CoordinatorStore;
  billing: Billing;
  settlement: Settlement | undefined;
  meters: ModelMeters;
  /** The link to the other instances, when started with `bus`. */
  bus: ClusterBus | undefined;
  /** Resolves once spot checks (`verifyRate`) and probes can run; they load after the coordinator listens. */
  spotChecksLoaded: Promise<void>;
  /** The sealed prober (`probes`), when probes are on and the catalog's model files are held. */
  prober: SealedProber | undefined;
  /** Records what workers did (reputation, strikes, disputes) and tells them what follows from it. */
  standing: WorkerStanding;
  close(): Promise<void>;
}

/** The client id an API key pays as: stable, and not the key itself. */
export function clientIdForKey(key: string): string {
  return `client-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** Who is calling: a known key's client, anyone (open API), or nobody (refused). */
type Caller = { ok: true; key: string | undefined } | { ok: false };

function makeKeyCheck(apiKeys: string[]): (header: string | undefined) => Caller {
  const digests = apiKeys.map((k) => createHash('sha256').update(k).digest());
  return (header) => {
    if (digests.length === 0) return { ok: true, key: undefined };
    const presented = /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1];
    if (!presented) return { ok: false };
    const digest = createHash('sha256').update(presented).digest();
    // Compare against every key so timing does not tell which one matched.
    const matched = digests.map((d) => timingSafeEqual(d, digest)).some(Boolean);
    return matched ? { ok: true, key: presented } : { ok: false };
  };
}

/** Runs `work`; an error goes to `report` rather than to the caller. */
function tryOrReport(work: () => void, report: (error: unknown) => void): void {
  try {
    work();
  } catch (error) {
    report(error);
  }
}

/** How long receipts billed at start wait for the bus to show where their worker is connected, and for at most how many workers. */
const START_RECEIPTS_MS = 60_000;
const MAX_START_RECEIPT_WORKERS = 10_000;

/** How long closing waits for a round of kept standing writes under way to end. */
const STANDING_ROUND_WAIT_MS = 5_000;

/** Jobs in flight at least this long are checkpointed (shorter ones most likely end before the next tick). */
const CHECKPOINT_MIN_AGE_MS = 2_000;

/** Starts a coordinator; resolves once it listens. */
export async function startCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const logger = options.logger ?? createLogger('coordinator');
  const { coordinatorId, voucherKey } = await loadCoordinatorKeys(options.dataDir);
  const store = await openCoordinatorStore(options.store, options.dataDir, coordinatorId);
  if (options.store !== undefined) logger.info({ store: redactStoreUrl(options.store), instance: coordinatorId }, 'store shared with other instances');
  const meters = await ModelMeters.load(options.catalog, logger);
  const settlement = options.chain
    ? await startSettlement({
        chainUrl: options.chain.url,
        ...(options.chain.apiKey ? { apiKey: options.chain.apiKey } : {}),
        network: options.chain.network,
        dataDir: options.dataDir,
        store,
        voucherPublicKey: voucherKey.publicKey,
        logger,
        pushThreshold: options.chain.pushThreshold,
        initialVaultFunding: options.chain.initialVaultFunding ?? 10_000_000_000n,
      })
    : undefined;
  const vault = settlement?.vault ?? options.vault;
  const chainGlobalId = CHAIN_GLOBAL_ID[options.chain?.network ?? 'testnet'];
  // On a shared store, settlements kept while it is away are on disk here too (settlement-spool.ts).
  const spool = options.store !== undefined ? SettlementSpool.open(options.dataDir) : undefined;
  // The file keeps a worker's standing writes too; a failure to use it is logged (the work goes on in memory).
  const spoolFailed = (what: string, fields: Record<string, unknown>) => (error: unknown) => logger.error({ ...fields, err: error instanceof Error ? error.message : String(error) }, `could not ${what} the file of kept settlements`);
  const billing = new Billing({
    store,
    voucherKey,
    chainGlobalId,
    ...(options.prices ? { prices: options.prices } : {}),
    ...(vault ? { vault } : {}),
    ...(spool
      ? {
          spool: {
            keep: (job: SettledJob) => tryOrReport(() => spool.keep(job), spoolFailed('write to', { jobId: job.jobId })),
            drop: (jobId: string) => tryOrReport(() => spool.drop(jobId), spoolFailed('update', { jobId })),
          },
        }
      : {}),
  });
  let pushing = Promise.resolve();
  const pushTimer = settlement
    ? setInterval(() => {
        pushing = pushing.then(() => settlement.pushDue().then(() => undefined, (error: unknown) => logger.error({ err: String(error) }, 'push payout failed')));
      }, options.chain?.pushIntervalMs ?? 60_000)
    : undefined;
  const holdSweep = setInterval(() => {
    callStore(store, (s) => s.releaseExpiredHolds(Date.now())).then(
      (expired) => {
        if (expired.length > 0) logger.warn({ holds: expired.length }, 'refunded expired holds');
      },
      (error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'refunding expired holds failed; the next sweep tries again'),
    );
  }, 30_000);
  holdSweep.unref();
  const metrics = createMetrics();
  const registry = new WorkerRegistry();
  const standing = new WorkerStanding(
    store,
    registry,
    logger,
    spool
      ? {
          keep: (write) => {
            let id: number | undefined;
            tryOrReport(() => void (id = spool.keepStanding(write)), spoolFailed('write to', { standingWrite: write.kind }));
            return id;
          },
          begin: (ids) => tryOrReport(() => spool.beginStanding(ids), spoolFailed('update', { standingWrites: ids.length })),
          end: (done, again) => tryOrReport(() => spool.endStanding(done, again), spoolFailed('update', { standingWrites: done.length + again.length })),
        }
      : undefined,
    () => metrics.receiptsPaused.inc(),
  );
  const receipts = new ReceiptWaits();
  const verifyRate = options.verifyRate ?? 0;
  const spotCheck = verifyRate > 0 || options.probes ? SpotChecker.start({ rate: verifyRate, meters, models: (options.catalog?.catalog.models ?? []).map((m) => m.id), threads: options.verifyThreads ?? 1, logger }) : undefined;
  // Receipts billed at start (checkpoints of the last run) go out before the bus lists the
  // workers connected to the other instances: those are kept a while and relayed to a worker
  // once the bus shows where it is. A worker that connects here gets them with the rest of its
  // unacknowledged receipts instead.
  const startReceipts = options.bus !== undefined ? new Map<string, JobReceiptFrame[]>() : undefined;
  billing.on('receipt', (workerId, receipt) => {
    const worker = registry.get(workerId);
    if (worker) return void worker.send(receipt);
    if (startReceipts && startReceipts.size < MAX_START_RECEIPT_WORKERS) startReceipts.set(workerId, [...(startReceipts.get(workerId) ?? []), receipt]);
  });
  if (startReceipts) {
    registry.on('added', (worker) => {
      const waiting = startReceipts.get(worker.id);
      if (!waiting) return;
      startReceipts.delete(worker.id);
      if (worker.instance !== undefined) for (const receipt of waiting) worker.send(receipt);
    });
    setTimeout(() => startReceipts.clear(), START_RECEIPTS_MS).unref();
  }
  billing.on('retried', (jobId, error) => {
    if (error === undefined) logger.info({ jobId }, 'deferred settlement landed');
    else logger.error({ jobId, err: error instanceof Error ? error.message : String(error) }, 'deferred settlement failed; its hold is refunded when it expires');
  });
  watchDeferredSettlements(metrics, billing);
  const kept = spool?.load();
  // No job survives a restart. What the last run's jobs in flight had delivered, as it last
  // checkpointed them, is billed first (their kept settlements, which carry the whole job, are
  // left to those); then every hold left by the last run of this instance is refunded (in a
  // shared store, other instances' holds are theirs; the expiry sweep recovers a dead one's).
  const recovered = await billing.settleCheckpoints(new Set(kept?.jobs.map((j) => j.jobId)));
  if (recovered.settled > 0) logger.warn({ jobs: recovered.settled }, 'billed what the jobs cut off when this coordinator last stopped had delivered, as last checkpointed');
  for (const { jobId, why } of recovered.refused) logger.error({ jobId, err: why }, 'a checkpointed job could not be billed');
  for (const { jobId, why } of recovered.unreadable) logger.error({ jobId, why }, 'a checkpointed job could not be read back');
  const stranded = store.releaseAllHolds();
  if (stranded.length > 0) logger.warn({ holds: stranded.length }, options.store === undefined ? 'refunded the holds of jobs that were running when the coordinator stopped' : 'refunded the holds of jobs that were running when this instance stopped, and any expired hold of another');
  if (spool && kept) {
    for (const { jobId, why } of kept.unreadable) logger.error({ jobId, why }, 'a kept settlement could not be read back; it stays in the file');
    if (kept.jobs.length > 0) logger.warn({ settlements: kept.jobs.length }, 'settling again what the last run kept while the store was away');
    billing.resume(kept.jobs);
    const standingKept = spool.takeUpStanding();
    for (const { id, why } of standingKept.unreadable) logger.error({ id, why }, 'a kept standing write could not be read back; it stays in the file');
    if (standingKept.begun > 0) logger.warn({ writes: standingKept.begun }, 'dropped the standing writes the last run stopped in the middle of (they may have been recorded)');
    if (standingKept.writes.length > 0) logger.warn({ writes: standingKept.writes.length }, 'recording again the worker events and disputes the last run kept while the store was away');
    standing.resume(standingKept.writes);
  }
  const reachability = store.reachability?.bind(store);
  if (reachability) watchStoreReachability(metrics, { reachability });
  let storeBroken: Error | undefined;
  void store.whenBroken?.then((error) => {
    storeBroken = error;
    logger.error({ err: error.message }, 'the store is broken: this instance can record nothing more, and must be restarted');
    options.onStoreBroken?.(error);
  });
  const jobs = new JobManager({ registry, logger, metrics, billing, standing, ...(spotCheck ? { spotCheck } : {}), exploration: { rate: options.explorationRate ?? 0.05, random: Math.random } });
  // The books of jobs in flight, every few seconds (one call at a time; none while nothing runs).
  const checkpointMs = options.checkpointIntervalMs ?? 5_000;
  let checkpointed = 0;
  let checkpointing = false;
  const checkpointTimer = setInterval(() => {
    if (checkpointing) return;
    const inFlight = jobs.inFlight(Math.min(CHECKPOINT_MIN_AGE_MS, checkpointMs));
    if (inFlight.length === 0 && checkpointed === 0) return;
    checkpointing = true;
    billing.checkpoint(inFlight).then(
      () => {
        checkpointed = inFlight.length;
        checkpointing = false;
      },
      (error: unknown) => {
        checkpointing = false;
        logger.warn({ jobs: inFlight.length, err: error instanceof Error ? error.message : String(error) }, 'checkpointing the jobs in flight failed; the next tick tries again');
      },
    );
  }, checkpointMs);
  checkpointTimer.unref();
  if (options.bus !== undefined && options.store === undefined) throw new Error('--bus joins instances that share a store: give --store postgres://… as well.');
  const bus = options.bus !== undefined ? await ClusterBus.start({ url: options.bus, instance: coordinatorId, registry, logger }) : undefined;
  const instancesContext: InstancesContext = { self: coordinatorId, shared: options.store !== undefined, peers: () => bus?.peers ?? [], store, billing, logger, quietMs: options.retireQuietMs ?? RETIRE_QUIET_MS };
  if (bus) watchBusRoundTrips(metrics, bus);
  const identify = makeKeyCheck(options.apiKeys);
  const adminCheck = options.adminKey ? makeKeyCheck([options.adminKey]) : undefined;
  const metered = !options.unmetered && options.apiKeys.length > 0;
  const ctx: ApiContext = {
    jobs,
    billing,
    registry,
    meters,
    requestTimeoutMs: options.requestTimeoutMs ?? 120_000,
    startedAt: Date.now(),
    defaultMaxCoefficient: options.defaultMaxCoefficient ?? 1,
    settleGraceMs: RECEIPT_WAIT_MS + 45_000,
    maxAttempts: jobs.maxAttempts,
    ...(bus ? { cutOff: () => !bus.connected } : {}),
  };
  const maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  if (options.apiKeys.length === 0) logger.warn('no --api-key given: the client API is open to anyone who can reach it');
  const heartbeat = heartbeatSchedule(options.heartbeatIntervalMs, options.busyHeartbeatIntervalMs);
  const welcome = (): Pick<Extract<CoordinatorFrame, { type: 'welcome' }>, 'settlement' | 'pricing'> => ({
    settlement: vault && billing.voucherPublicKey ? { vault, voucherPublicKey: billing.voucherPublicKey, chainGlobalId } : null,
    pricing: priceListToWire(billing.prices),
  });
  /**
   * Receipts not yet acknowledged are sent again, the store's batch at a time (the worker asks
   * for more after the last). While the store cannot be reached the read is tried again until it
   * answers or the worker leaves: one waiting read per worker, from the lowest number asked for.
   */
  const waitingResends = new WeakMap<WorkerSession, { after: number; retry: RetryLater }>();
  const resend = (session: WorkerSession, after: number): void => {
    const waiting = waitingResends.get(session);
    if (waiting) {
      waiting.after = Math.min(waiting.after, after);
      return;
    }
    const read = (from: number, retried: boolean): void =>
      void billing.unackedReceipts(session.id, from).then(
        (receipts) => {
          for (const receipt of receipts) session.send(receipt);
          if (!retried) return;
          // Asked for from a lower number while this read was under way: read from there too.
          const lower = waitingResends.get(session)?.after ?? from;
          waitingResends.delete(session);
          if (lower < from) resend(session, lower);
        },
        (error: unknown) => {
          const err = error instanceof Error ? error.message : String(error);
          if (!(error instanceof StoreUnavailableError) || !session.isOpen) {
            waitingResends.delete(session);
            return logger.error({ workerId: session.id, err }, 'reading receipts to send again failed');
          }
          const wait = waitingResends.get(session);
          if (wait && !retried) return void (wait.after = Math.min(wait.after, from)); // another read waits already
          if (!wait) logger.warn({ workerId: session.id, err }, 'reading receipts to send again waits for the store');
          // Made again after a wait that grows while the store stays away (retry-later.ts).
          const entry = wait ?? { after: from, retry: new RetryLater(() => (session.isOpen ? read(entry.after, true) : waitingResends.delete(session))) };
          waitingResends.set(session, entry);
          entry.retry.schedule();
        },
      );
    read(after, false);
  };

  const dapp: { tonProof?: TonProofApi } = {}; // set once the listening URL is known
  const corsOrigins = new Set(options.corsOrigins ?? []);
  // Stored Responses-API answers, per API key, so later requests can refer to them.
  const responseStore = new ResponseStore();
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (applyCors(req, res, corsOrigins)) return 'cors';
    const tonProofRoute = await dapp.tonProof?.handle(req, res, path);
    if (tonProofRoute) return tonProofRoute;
    if (req.method === 'GET' && path.startsWith(ROUTES.vocab)) {
      const held = meters.get(decodePathPart(path.slice(ROUTES.vocab.length)) ?? '');
      if (!held) sendError(res, 404, 'This coordinator holds no vocabulary for that model.', 'model_not_found', 'model');
      else res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': held.vocab.length, 'x-silkworm-vocab-sha256': held.vocabSha256, 'x-silkworm-model-sha256': held.sha256 }).end(held.vocab);
      return 'vocab';
    }
    if (req.method === 'GET' && path === ROUTES.healthz) {
      // 200 while the shared database is away too: every instance shares it, and a balancer that
      // took them all out would give clients connection errors instead of 503s with Retry-After.
      // A broken store is this instance's alone: 503, so that a balancer takes it out.
      const link = reachability?.();
      res.writeHead(storeBroken ? 503 : 200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          ok: !storeBroken,
          coordinatorId,
          workers: [...registry.local()].length,
          ...(link ? { store: storeBroken ? 'broken' : link.reachable ? 'reachable' : 'unreachable', storeSince: new Date(link.since).toISOString() } : {}),
          ...(bus ? { cluster: { instances: bus.peers.length + 1, workers: registry.size, bus: bus.connected ? 'connected' : 'reconnecting' } } : {}),
        }),
      );
      return 'healthz';
    }
    if (req.method === 'GET' && path === ROUTES.metrics) {
      metrics.workers.set([...registry.local()].length);
      metrics.activeJobs.set(jobs.active);
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      return 'metrics';
    }
    if (path.startsWith(ROUTES.adminPrefix)) {
      if (!adminCheck?.(req.headers.authorization).ok) {
        sendError(res, 401, adminCheck ? 'Incorrect admin key.' : 'Admin endpoints are disabled (start the coordinator with --admin-key).', 'invalid_api_key');
        return 'unauthorized';
      }
      if (req.method === 'POST' && path === ROUTES.adminDeposits) {
        await handleDeposit(req, res, store);
        return 'admin_deposits';
      }
      if (req.method === 'GET' && path === ROUTES.adminInstances) {
        await handleInstances(res, instancesContext);
        return 'admin_instances';
      }
      if (req.method === 'POST' && path.startsWith(`${ROUTES.adminInstances}/`) && path.endsWith(RETIRE_SUFFIX)) {
        await handleRetireInstance(res, instancesContext, path.slice(ROUTES.adminInstances.length + 1, -RETIRE_SUFFIX.length));
        return 'admin_instances';
      }
      if (path.startsWith(`${ROUTES.adminWorkers}/`)) {
        const rest = path.slice(ROUTES.adminWorkers.length + 1);
        if (req.method === 'POST' && rest.endsWith(REINSTATE_SUFFIX)) await handleReinstateWorker(res, store, rest.slice(0, -REINSTATE_SUFFIX.length), logger);
        else if (req.method === 'GET' && !rest.includes('/')) await handleWorkerStanding(res, store, rest, (id) => registry.get(id) !== undefined);
        else sendError(res, 404, `Unknown route ${req.method} ${path}.`, 'not_found');
        return 'admin_workers';
      }
      if (req.method === 'GET' && path === ROUTES.adminReceiptPauses) {
        await handleReceiptPauses(res, store);
        return 'admin_receipt_pauses';
      }
      if (req.method === 'DELETE' && path.startsWith(`${ROUTES.adminReceiptPauses}/`)) {
        await handleResumeReceipts(res, store, path.slice(ROUTES.adminReceiptPauses.length + 1));
        return 'admin_receipt_pauses';
      }
    }
    if (req.method === 'GET' && path === ROUTES.pricing) {
      handlePricing(res, billing, chainGlobalId);
      return 'pricing';
    }
    if (req.method === 'GET' && path === CATALOG_PATH) {
      handleCatalog(res, options.catalog);
      return 'catalog';
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && path.startsWith(CATALOG_FILES_PATH)) {
      await handleCatalogFile(req, res, path.slice(CATALOG_FILES_PATH.length), options.catalog);
      return 'catalog_files';
    }
    const caller = identify(req.headers.authorization);
    if (path.startsWith('/v1/') && !caller.ok) {
      sendError(res, 401, 'Incorrect API key provided. Pass it as "Authorization: Bearer KEY".', 'invalid_api_key');
      return 'unauthorized';
    }
    const clientId = metered && caller.ok && caller.key ? clientIdForKey(caller.key) : undefined;
    const scope = caller.ok && caller.key ? clientIdForKey(caller.key) : 'open';
    const openAiRoute = await routeOpenAi(req, res, path, { backend: transportBackend(ctx, clientId), store: responseStore, scope });
    if (openAiRoute) return openAiRoute;
    if (req.method === 'GET' && path === ROUTES.workers) {
      handleListWorkers(req, res, ctx, coordinatorId);
      return 'workers';
    }
    if (req.method === 'POST' && path === ROUTES.sealedJobs) {
      await handleSealedJob(req, res, ctx, coordinatorId, clientId, receipts);
      return 'sealed_jobs';
    }
    const receiptFor = req.method === 'POST' ? receiptJobId(path) : undefined;
    if (receiptFor) {
      await handleUsageReceipt(req, res, receiptFor, coordinatorId, receipts);
      return 'sealed_receipt';
    }
    if (req.method === 'GET' && path === ROUTES.balance) {
      await handleBalance(res, store, clientId);
      return 'balance';
    }
    sendError(res, 404, `Unknown route ${req.method} ${path}.`, 'not_found');
    return 'not_found';
  };

  const server = createServer({ noDelay: true }, (req, res) => {
    route(req, res)
      .then((name) => res.on('finish', () => metrics.httpRequests.inc({ route: name, status: String(res.statusCode) })))
      .catch((error: unknown) => {
        const unreachable = error instanceof StoreUnavailableError;
        logger.error({ err: error instanceof Error ? error.message : String(error) }, unreachable ? 'request failed: the store cannot be reached' : 'request failed');
        if (res.headersSent) res.end();
        // A shared database down or restarting: retryable, and said so (503 with Retry-After).
        else if (unreachable) sendError(res, 503, 'The coordinator cannot reach its database just now. Try again shortly.', 'store_unavailable');
        else sendError(res, 500, 'Internal error.', 'internal');
      });
  });

  // Frames up to twice the limit reach our decoder and get a typed error; beyond that the
  // WebSocket layer closes the connection (code 1009) without buffering them.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * maxFrameBytes });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== WORKER_SOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new WorkerSession(ws, {
        coordinatorId,
        heartbeat,
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
        maxFrameBytes,
        logger,
        bindIdentity: (workerId, identityKey) => (store.nonBlocking ?? store).bindWorkerKey(workerId, identityKey, Date.now()),
        acceptModel: (model) => meters.accept(model),
        welcome,
      });
      session.on('reported', (code) => metrics.workerReports.inc({ code }));
      session.once('ready', () => {
        logger.info({ workerId: session.id, models: [...session.models], tier: session.tier, appVersion: session.appVersion, reputation: Number(session.reputation.toFixed(4)) }, 'worker connected');
        registry.add(session);
        session.on('ack', (upTo) => {
          callStore(store, (s) => s.ackReceipts(session.id, upTo)).catch((error: unknown) =>
            logger.error({ workerId: session.id, upTo, err: error instanceof Error ? error.message : String(error) }, 'recording a receipt acknowledgement failed; the receipts stay unacknowledged'),
          );
        });
        session.on('resend', (after) => resend(session, after));
        resend(session, 0);
      });
      session.once('closed', (reason) => {
        if (session.id) logger.info({ workerId: session.id, reason }, 'worker disconnected');
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const url = `http://${formatHostPort({ host: options.host, port: address.port })}`;
  dapp.tonProof = createTonProofApi({ publicUrl: options.tonConnect?.publicUrl ?? url, network: options.tonConnect?.network ?? options.chain?.network ?? 'testnet', ...(options.tonConnect?.allowedDomains ? { allowedDomains: options.tonConnect.allowedDomains } : {}) });
  logger.info({ url, coordinatorId }, 'coordinator ready');
  let prober: SealedProber | undefined;
  if (options.probes && spotCheck) {
    if (meters.size === 0) logger.warn('--probe-interval needs the catalog\'s model files (--catalog with --catalog-dir): no probes are sent');
    else {
      if (!options.probes.prompts) logger.warn('probes use the built-in prompts, which anyone can read in the source: give --probe-prompts FILE with your own');
      prober = new SealedProber({ coordinatorId, intervalMs: options.probes.intervalMs, prompts: options.probes.prompts ?? BUILT_IN_PROBE_PROMPTS, registry, jobs, meters, checker: spotCheck, standing, metrics, logger }).start();
      watchProbeCoverage(metrics, prober);
    }
  }

  return {
    url,
    id: coordinatorId,
    registry,
    jobs,
    store,
    billing,
    settlement,
    meters,
    bus,
    spotChecksLoaded: spotCheck?.loaded ?? Promise.resolve(),
    prober,
    standing,
    async close() {
      clearInterval(pushTimer);
      clearInterval(holdSweep);
      clearInterval(checkpointTimer);
      await pushing;
      const probing = prober?.stop();
      jobs.shutdown();
      receipts.flush();
      // Spot checks in flight settle before the store closes (a probe under way, unchecked).
      await jobs.settled();
      await probing;
      // Every job ended and was billed: nothing for the next start to bill again.
      if (checkpointed > 0 || checkpointing) await billing.checkpoint([]).catch((error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'forgetting the checkpointed jobs failed; the next start finds them settled already'));
      const unsettled = billing.stopRetrying();
      if (unsettled > 0) logger.error({ settlements: unsettled }, 'closing with settlements the store never took; the next start of this instance settles them');
      // A round of kept standing writes under way ends first where it can (a write left under
      // way stays begun in the spool, and the next start drops it rather than count it twice).
      await standing.roundEnded(STANDING_ROUND_WAIT_MS);
      const unrecorded = standing.stopRetrying();
      if (unrecorded > 0) {
        if (spool) logger.error({ writes: unrecorded }, 'closing with worker events and disputes the store never took; the next start of this instance records them');
        else logger.error({ writes: unrecorded }, 'closing with worker events and disputes the store never took; they are not recorded');
      }
      await bus?.close();
      registry.closeAll();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await spotCheck?.dispose();
      await meters.dispose();
      store.close();
      spool?.close();
    },
  };
}
