/**
 * What benchmark sections use, started on first use: generated model files (kept for the whole
 * run), a raw engine per model (in a process of its own), a serving network per model
 * (coordinator and headless worker in this process, the job process as the worker's child, an
 * OpenAI client) and a sealed-mode gateway per network (these stop after each section).
 * Sections that need a worker of their own (a scripted sharing signal, say) open a private
 * network and close it themselves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { writeTestModel } from '../main/models/test-model.js';
import { modelIdFromPath } from '../main/models/model-file.js';
import type { EngineConfig } from '../main/engine/job-messages.js';
import { startWorkerCore, type WorkerCore, type WorkerCoreOptions } from '../main/worker/worker-core.js';
import { createLogger as createWorkerLogger } from '../network/node-kit/log.js';
import { startCoordinator, type Coordinator, type CoordinatorOptions } from '../network/coordinator/server.js';
import { createLogger as createCoordinatorLogger } from '../network/coordinator/log.js';
import { unknownSignals } from '../main/sharing/signals.js';
import { startGateway, type Gateway } from '../network/client/gateway.js';
import { RawEngine } from './raw-engine.js';

/** Sizes of the generated test model (see main/models/test-model.ts). */
export type ModelSize = 'tiny' | 'bench';

/** Settings every section runs with, so (a) and (b) always match. */
export interface BenchSettings {
  threads: number;
  gpu: 'auto' | 'cpu';
  /** Context size asked for; the model's training context (2048) caps it. */
  contextSize: number;
  /** 'real': the worker's own sharing probes; 'none': a source that knows nothing (no probing). */
  probes: 'real' | 'none';
}

/** A coordinator and one worker serving one model, plus a client for it. */
export interface ServingNetwork {
  modelId: string;
  /** Base URL of the client API (…/v1) and the key it accepts. */
  baseUrl: string;
  apiKey: string;
  coordinator: Coordinator;
  worker: WorkerCore;
  client: OpenAI;
}

/** What a section may set on the worker of a private network (sharing, a scripted signal source…). */
export type WorkerOverrides = Pick<WorkerCoreOptions, 'sharing' | 'signalSource' | 'sharingPollMs' | 'maxConcurrentJobs'>;

/** What a section may set on the coordinator of a private network (a model catalog, spot checks…). */
export type CoordinatorOverrides = Pick<CoordinatorOptions, 'catalog' | 'verifyRate'>;

/** A network a section opened for itself; it must close it (the context closes leftovers too). */
export interface PrivateNetwork extends ServingNetwork {
  close(): Promise<void>;
}

/** The sealed path's entry: `silkworm gateway` in this process, in front of one network. */
export interface SealedGateway {
  /** Base URL of the gateway's OpenAI-compatible API (…/v1). */
  baseUrl: string;
  gateway: Gateway;
  /** An openai client pointed at the gateway. */
  client: OpenAI;
}

/** Lazily started, shared resources; `close()` stops whatever was started. */
export class BenchContext {
  private readonly models = new Map<ModelSize, Promise<string>>();
  private readonly engines = new Map<ModelSize, Promise<RawEngine>>();
  private readonly networks = new Map<ModelSize, Promise<ServingNetwork>>();
  private readonly gateways = new Map<ModelSize, Promise<SealedGateway>>();
  private readonly privateNetworks = new Set<PrivateNetwork>();
  private privateCount = 0;

  private constructor(
    readonly settings: BenchSettings,
    private readonly dir: string,
  ) {}

  /** Creates a context with its own temporary folder. */
  static async create(settings: BenchSettings): Promise<BenchContext> {
    return new BenchContext(settings, await mkdtemp(join(tmpdir(), 'silkworm-bench-')));
  }

  /**
   * The raw baseline's engine configuration: the settings the worker gives its job process
   * (threads, context, one sequence, backend). Only what LlamaEngine.load reads is set; the job
   * process's own extras (its OS sandbox, say) are not part of the engine being measured.
   */
  engineConfig(modelPath: string): EngineConfig {
    const config: Pick<EngineConfig, 'modelPath' | 'threads' | 'contextSize' | 'sequences' | 'gpu' | 'warmupTokens'> = {
      modelPath,
      threads: this.settings.threads,
      contextSize: this.settings.contextSize,
      sequences: 1,
      gpu: this.settings.gpu,
      warmupTokens: 0,
    };
    return config as EngineConfig;
  }

  /** Path of the generated model of `size`. */
  modelPath(size: ModelSize): Promise<string> {
    return memo(this.models, size, async () => {
      const path = join(this.dir, `silkworm-bench-${size}.gguf`);
      await writeTestModel(path, { size });
      return path;
    });
  }

  /** (a): the job process's own engine class, alone in a process of its own. */
  rawEngine(size: ModelSize): Promise<RawEngine> {
    return memo(this.engines, size, async () => RawEngine.start(this.engineConfig(await this.modelPath(size))));
  }

  /** (b): client → coordinator → worker → job process, serving the model of `size`. */
  network(size: ModelSize): Promise<ServingNetwork> {
    return memo(this.networks, size, () => this.startNetwork(size, `${size}`, {}));
  }

  /**
   * A network of its own for one section (a worker with a scripted sharing signal, say), so the
   * shared one keeps its settings. Close it when done; `close()` of the context closes leftovers.
   */
  async privateNetwork(size: ModelSize, overrides: WorkerOverrides, coordinator: CoordinatorOverrides = {}): Promise<PrivateNetwork> {
    const network = await this.startNetwork(size, `private-${++this.privateCount}-${size}`, overrides, coordinator);
    let closing: Promise<void> | undefined;
    const handle: PrivateNetwork = {
      ...network,
      close: () => {
        closing ??= (async () => {
          this.privateNetworks.delete(handle);
          await network.worker.stop();
          await network.coordinator.close();
        })();
        return closing;
      },
    };
    this.privateNetworks.add(handle);
    return handle;
  }

  /** Sealed mode: openai client → gateway (seals) → the shared network of `size`, at its worker's tier. */
  gateway(size: ModelSize): Promise<SealedGateway> {
    return memo(this.gateways, size, async () => {
      const network = await this.network(size);
      const gateway = await startGateway({
        host: '127.0.0.1',
        port: 0,
        coordinatorUrl: network.coordinator.url,
        apiKey: network.apiKey,
        // Seal to this worker whatever tier its job process reached here (sandboxed or not).
        minTier: network.worker.engineInfo.tier,
        logger: createCoordinatorLogger('gateway', { level: 'warn', destination: process.stderr }),
      });
      const baseUrl = `${gateway.url}/v1`;
      return { baseUrl, gateway, client: new OpenAI({ baseURL: baseUrl, apiKey: 'unused', maxRetries: 0 }) };
    });
  }

  private async startNetwork(size: ModelSize, label: string, overrides: WorkerOverrides, coordinatorOverrides: CoordinatorOverrides = {}): Promise<ServingNetwork> {
    const modelPath = await this.modelPath(size);
    const apiKey = `sk-bench-${randomBytes(12).toString('hex')}`;
    // Logs go to stderr: stdout carries only the report, its last line the JSON result.
    const coordinator = await startCoordinator({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(this.dir, `coordinator-${label}`),
      apiKeys: [apiKey],
      // Billing has its own section; here the client is not charged (workers still are credited).
      unmetered: true,
      ...coordinatorOverrides,
      logger: createCoordinatorLogger('coordinator', { level: 'warn', destination: process.stderr }),
    });
    await coordinator.spotChecksLoaded;
    const serving = whenServing(coordinator, 120_000);
    let worker: WorkerCore | undefined;
    try {
      worker = await startWorkerCore({
        coordinatorUrl: coordinator.url,
        dataDir: join(this.dir, `worker-${label}`),
        modelPath,
        threads: this.settings.threads,
        contextSize: this.settings.contextSize,
        gpu: this.settings.gpu,
        sharing: { mode: 'always' },
        // One sequence, as the raw baseline (a) has: a section that batches asks for more.
        maxConcurrentJobs: 1,
        ...(this.settings.probes === 'none' ? { signalSource: { read: () => Promise.resolve(unknownSignals()) } } : {}),
        ...overrides,
        logger: createWorkerLogger('worker', { level: 'warn', destination: process.stderr }),
      });
      await serving.ready;
    } catch (error) {
      serving.cancel();
      await worker?.stop();
      await coordinator.close();
      throw error;
    }
    const client = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey, maxRetries: 0 });
    return { modelId: modelIdFromPath(modelPath), baseUrl: `${coordinator.url}/v1`, apiKey, coordinator, worker, client };
  }

  /** A fresh folder under the context's temporary one (removed by `close()`). */
  async tempDir(name: string): Promise<string> {
    return mkdtemp(join(this.dir, `${name}-`));
  }

  /**
   * Stops every gateway, network and engine started so far (the model files stay); the next
   * section that asks for one starts it afresh. Run between sections, so that none is measured
   * beside the idle networks of the ones before it (their heartbeats and sharing probes), and a
   * section's figures are the same whether it runs alone (`--only`) or in the full run.
   */
  async release(): Promise<void> {
    for (const gateway of await settled(this.gateways)) await gateway.gateway.close();
    for (const network of [...this.privateNetworks]) await network.close();
    for (const network of await settled(this.networks)) {
      await network.worker.stop();
      await network.coordinator.close();
    }
    for (const engine of await settled(this.engines)) await engine.stop();
    this.gateways.clear();
    this.networks.clear();
    this.engines.clear();
  }

  /** Stops everything that was started and removes the temporary folder. */
  async close(): Promise<void> {
    await this.release();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Settles once a worker has joined AND offers capacity: a headless worker joins unavailable
 * and only offers work once its sharing policy has decided (and the model is loaded again).
 * `cancel()` stops waiting without settling, for when starting the worker failed.
 */
function whenServing(coordinator: Coordinator, timeoutMs: number): { ready: Promise<void>; cancel: () => void } {
  const registry = coordinator.registry;
  let cancel = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      registry.off('added', check);
      registry.off('capacity', check);
    };
    const check = () => {
      if (![...registry.all()].some((session) => session.available)) return;
      stop();
      resolve();
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`No worker offered capacity within ${timeoutMs} ms.`));
    }, timeoutMs);
    registry.on('added', check);
    registry.on('capacity', check);
    cancel = stop;
  });
  return { ready, cancel };
}

function memo<K, V>(cache: Map<K, Promise<V>>, key: K, create: () => Promise<V>): Promise<V> {
  let value = cache.get(key);
  if (!value) {
    value = create();
    cache.set(key, value);
  }
  return value;
}

async function settled<V>(cache: Map<unknown, Promise<V>>): Promise<V[]> {
  const results = await Promise.allSettled(cache.values());
  return results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
}
