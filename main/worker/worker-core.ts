/**
 * Composes the worker core from its parts: identity, model, engine supervisor, link, sharing
 * policy, and the books of the payout address. The same core runs in every shell.
 */
import { randomUUID } from 'node:crypto';
import { Address } from '@ton/core';
import { readOrCreateJsonFile } from '../../network/node-kit/json-file.js';
import { join } from 'node:path';
import { EngineSupervisor } from '../engine/supervisor.js';
import { NodeJobProcessLauncher, type JobProcessLauncher } from '../engine/node-launcher.js';
import { defaultThreads } from '../engine/threads.js';
import { describeModelFile } from '../models/model-file.js';
import { createLogger, type Logger } from '../../network/node-kit/log.js';
import { Worker } from './worker.js';
import type { EngineInfo } from '../engine/job-messages.js';
import { SharingController, type Clock } from '../sharing/sharing-controller.js';
import { DEFAULT_SHARING_SETTINGS, type SharingSettings } from '../sharing/settings.js';
import type { SignalSource } from '../sharing/signals.js';
import { createHeadlessSignalSource } from '../sharing/probes/index.js';
import { bindSharing } from './sharing-binding.js';
import { buildHash, loadIdentity } from './identity.js';
// The books (SQLite, @ton/ton) load only once they can be kept: an idle worker without them stays small.
import type { Books, BooksOptions } from './earnings-binding.js';

/** Everything a headless worker is started with. */
export interface WorkerCoreOptions {
  coordinatorUrl: string;
  dataDir: string;
  modelPath: string;
  threads?: number;
  /** Jobs served at once (the owner's `--max-jobs`); default: as many sequences as memory fits. */
  maxConcurrentJobs?: number;
  contextSize?: number;
  gpu?: 'auto' | 'cpu';
  payoutAddress?: string;
  /** A toncenter v2 endpoint to follow payouts on (`silkworm chain` locally). */
  chainUrl?: string;
  chainApiKey?: string;
  /** The owner's wallet for Cash out, when it holds a local key. */
  cashOut?: BooksOptions['cashOut'];
  /** Lock the job process down with the OS sandbox (default true). */
  sandbox?: boolean;
  /** The owner's sharing settings (mode 'always' when omitted: a headless rig). */
  sharing?: Partial<SharingSettings>;
  /** Where sharing signals come from (default: this platform's probes); tests inject one. */
  signalSource?: SignalSource;
  clock?: Clock;
  sharingPollMs?: number;
  logger?: Logger;
  launcher?: JobProcessLauncher;
  reconnect?: { minDelayMs: number; maxDelayMs: number };
}

/** The worker core every shell runs (the desktop app, `silkworm worker`, the demo): worker, engine, sharing, books. */
export interface WorkerCore {
  worker: Worker;
  engine: EngineSupervisor;
  engineInfo: EngineInfo;
  workerId: string;
  sharing: SharingController;
  /** The books of the payout address being paid now, once they can be kept (a coordinator on chain). */
  books(): Books | undefined;
  /** The payout address announced to the coordinator now (the one being paid). */
  payoutAddress(): string | undefined;
  /**
   * Pays another address from now on, without a restart: announced in a new signed hello once
   * running jobs end, and its own books opened. Resolves once announced.
   */
  setPayoutAddress(address: string | null): Promise<void>;
  stop(): Promise<void>;
}

/** Reads the worker's persistent id from its data dir, creating it on first start. */
export async function loadWorkerId(dataDir: string): Promise<string> {
  const valid = (value: unknown) => typeof (value as { workerId?: unknown }).workerId === 'string';
  return (await readOrCreateJsonFile(join(dataDir, 'worker.json'), () => ({ workerId: `worker-${randomUUID()}` }), { valid })).workerId;
}

/** Loads the model in a job process, then joins the coordinator. */
export async function startWorkerCore(options: WorkerCoreOptions): Promise<WorkerCore> {
  const logger = options.logger ?? createLogger('worker');
  const workerId = await loadWorkerId(options.dataDir);
  const model = await describeModelFile(options.modelPath, options.dataDir);
  const engine = new EngineSupervisor({
    config: {
      modelPath: model.path,
      threads: options.threads ?? defaultThreads(),
      contextSize: options.contextSize ?? 4096,
      ...(options.maxConcurrentJobs ? { sequences: options.maxConcurrentJobs } : {}),
      gpu: options.gpu ?? 'auto',
      warmupTokens: 32,
      sandbox: options.sandbox ?? true,
    },
    launcher: options.launcher ?? new NodeJobProcessLauncher(),
    logger,
  });
  const engineInfo = await engine.start();
  // One job per context sequence: the job process chose their number from the memory fit, or was told.
  const maxConcurrentJobs = engineInfo.sequences;
  engine.on('ready', (info) => logger.info({ workerId, enginePid: info.pid }, 'job process restarted and model reloaded'));
  logger.info({ workerId, model: model.id, enginePid: engineInfo.pid, tier: engineInfo.tier, gpu: engineInfo.gpu, tokensPerSecond: engineInfo.tokensPerSecond, sequences: engineInfo.sequences, sequencesWhy: engineInfo.sequencesReason, loadMs: Math.round(engineInfo.loadMs) }, 'model loaded');
  const worker = new Worker({
    workerId,
    coordinatorUrl: options.coordinatorUrl,
    model,
    engine,
    maxConcurrentJobs,
    // Nothing is offered until the sharing policy has decided.
    available: false,
    identity: await loadIdentity(options.dataDir),
    buildHash: buildHash(),
    ...(options.payoutAddress ? { payoutAddress: options.payoutAddress } : {}),
    logger,
    ...(options.reconnect ? { reconnect: options.reconnect } : {}),
  });
  const sharing = new SharingController({
    source: options.signalSource ?? createHeadlessSignalSource({ ownPids: () => [process.pid, ...(engine.pid ? [engine.pid] : [])] }),
    settings: { ...DEFAULT_SHARING_SETTINGS, mode: 'always', ...options.sharing },
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.sharingPollMs ? { pollMs: options.sharingPollMs } : {}),
  });
  const unbind = bindSharing(worker, sharing, logger);
  // Books are kept per payout address (vouchers name one address); all opened stay open until stop.
  const opened = new Map<string, Promise<Books | undefined>>();
  const openBooks = (payoutAddress: string): Promise<Books | undefined> => {
    const key = addressKey(payoutAddress);
    let books = opened.get(key);
    if (!books) {
      books = import('./earnings-binding.js').then(({ attachBooks }) =>
        attachBooks(worker, {
          dataDir: options.dataDir,
          payoutAddress,
          logger,
          ...(options.chainUrl ? { chainUrl: options.chainUrl } : {}),
          ...(options.chainApiKey ? { chainApiKey: options.chainApiKey } : {}),
          ...(options.cashOut ? { cashOut: options.cashOut } : {}),
        }),
      );
      opened.set(key, books);
      // Books that failed to open (a disk full or read-only) are forgotten, so the next receipt
      // or connection tries again; the receipts meanwhile are not acknowledged.
      const attempt = books;
      attempt.then(
        (value) => value && resolved.set(key, value),
        (error: unknown) => {
          if (opened.get(key) === attempt) opened.delete(key);
          logger.error({ err: error instanceof Error ? error.message : String(error) }, 'could not open the books; trying again with the next receipt');
        },
      );
    }
    return books;
  };
  const resolved = new Map<string, Books>();
  // The books need the coordinator's vault and key from its welcome: opened on (re)connecting.
  worker.on('connected', () => {
    const address = worker.payoutAddress;
    if (address) void openBooks(address);
  });
  // A receipt is acknowledged only once the books of the address it pays hold it (the first may beat them).
  // A receipt for an address paid earlier (resent after a change, maybe across a restart) goes to
  // that address's books, opened again if need be; only addresses this PC kept books for, so a
  // coordinator cannot make it open books for any address it names.
  worker.setReceiptRecorder(async (receipt) => {
    const address = worker.payoutAddress;
    const key = addressKey(receipt.account);
    if (address && key === addressKey(address)) await (await openBooks(address))?.record(receipt);
    else if (opened.has(key)) await (await opened.get(key))?.record(receipt);
    else if ((await import('./earnings-binding.js')).booksExist(options.dataDir, receipt.account)) await (await openBooks(receipt.account))?.record(receipt);
    else logger.warn({ seq: receipt.seq }, 'a receipt for an address this PC keeps no books for; not recorded');
  });
  if (!options.payoutAddress) logger.info('no payout address: earnings are shown by the coordinator only until one is set');
  worker.start();
  sharing.start();
  return {
    worker,
    engine,
    engineInfo,
    workerId,
    sharing,
    books: () => {
      const address = worker.payoutAddress;
      return address ? resolved.get(addressKey(address)) : undefined;
    },
    payoutAddress: () => worker.payoutAddress,
    setPayoutAddress: async (address) => {
      const next = address ?? undefined;
      if (next === worker.payoutAddress) return;
      await worker.setPayoutAddress(next);
      logger.info({ address: next !== undefined }, next ? 'payout address changed: announcing it' : 'payout address cleared');
    },
    stop: async () => {
      unbind();
      sharing.stop();
      await worker.stop();
      for (const books of await Promise.allSettled(opened.values())) if (books.status === 'fulfilled') books.value?.close();
    },
  };
}

/** One spelling per address (bounceable or not, test flag or not) so books are not opened twice. */
function addressKey(address: string): string {
  try {
    return Address.parse(address).toRawString();
  } catch {
    return address;
  }
}
