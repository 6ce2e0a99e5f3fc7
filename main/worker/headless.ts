/** Composes a headless worker from its parts: identity, model, engine supervisor, link. */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineSupervisor } from '../engine/supervisor.js';
import { NodeJobProcessLauncher, type JobProcessLauncher } from '../engine/node-launcher.js';
import { defaultThreads } from '../engine/threads.js';
import { describeModelFile } from '../models/model-file.js';
import { createLogger, type Logger } from '../log.js';
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
export interface HeadlessWorkerOptions {
  coordinatorUrl: string;
  dataDir: string;
  modelPath: string;
  threads?: number;
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

/** A started headless worker. */
export interface HeadlessWorker {
  worker: Worker;
  engine: EngineSupervisor;
  engineInfo: EngineInfo;
  workerId: string;
  sharing: SharingController;
  /** The ledger and earnings, once they can be kept (payout address + a coordinator on chain). */
  books(): Books | undefined;
  stop(): Promise<void>;
}

/** Reads the worker's persistent id from its data dir, creating it on first start. */
export async function loadWorkerId(dataDir: string): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, 'worker.json');
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { workerId: string }).workerId;
  } catch {
    const workerId = `worker-${randomUUID()}`;
    await writeFile(`${file}.tmp`, JSON.stringify({ workerId }, null, 2));
    await rename(`${file}.tmp`, file);
    return workerId;
  }
}

/** Loads the model in a job process, then joins the coordinator. */
export async function startHeadlessWorker(options: HeadlessWorkerOptions): Promise<HeadlessWorker> {
  const logger = options.logger ?? createLogger('worker');
  const workerId = await loadWorkerId(options.dataDir);
  const model = await describeModelFile(options.modelPath, options.dataDir);
  const maxConcurrentJobs = options.maxConcurrentJobs ?? 1;
  const engine = new EngineSupervisor({
    config: {
      modelPath: model.path,
      threads: options.threads ?? defaultThreads(),
      contextSize: options.contextSize ?? 4096,
      sequences: maxConcurrentJobs,
      gpu: options.gpu ?? 'auto',
      warmupTokens: 32,
      sandbox: options.sandbox ?? true,
    },
    launcher: options.launcher ?? new NodeJobProcessLauncher(),
    logger,
  });
  const engineInfo = await engine.start();
  engine.on('ready', (info) => logger.info({ workerId, enginePid: info.pid }, 'job process restarted and model reloaded'));
  logger.info({ workerId, model: model.id, enginePid: engineInfo.pid, tier: engineInfo.tier, gpu: engineInfo.gpu, tokensPerSecond: engineInfo.tokensPerSecond, loadMs: Math.round(engineInfo.loadMs) }, 'model loaded');
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
  let books: Books | undefined;
  let opening: Promise<Books | undefined> | undefined;
  // The books need the coordinator's vault and key from its welcome: open them on first contact.
  const openBooks = (payoutAddress: string): Promise<Books | undefined> => {
    opening ??= import('./earnings-binding.js')
      .then(({ attachBooks }) =>
        attachBooks(worker, {
          dataDir: options.dataDir,
          payoutAddress,
          logger,
          ...(options.chainUrl ? { chainUrl: options.chainUrl } : {}),
          ...(options.chainApiKey ? { chainApiKey: options.chainApiKey } : {}),
          ...(options.cashOut ? { cashOut: options.cashOut } : {}),
        }),
      )
      .then((opened) => (books = opened));
    return opening;
  };
  const { payoutAddress } = options;
  if (payoutAddress) {
    worker.once('connected', () => void openBooks(payoutAddress));
    // A receipt is acknowledged only once the ledger holds it (the first may beat the books).
    worker.setReceiptRecorder(async (receipt) => (await openBooks(payoutAddress))?.record(receipt));
  } else {
    logger.info('no payout address: earnings are shown by the coordinator only until one is set');
  }
  worker.start();
  sharing.start();
  return {
    worker,
    engine,
    engineInfo,
    workerId,
    sharing,
    books: () => books,
    stop: async () => {
      unbind();
      sharing.stop();
      await worker.stop();
      await opening;
      books?.close();
    },
  };
}
