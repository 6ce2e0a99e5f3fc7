/**
 * The network the client-compatibility tests drive, with real parts: a coordinator that holds
 * the catalog's model file (so it counts prompts with the model's own tokenizer), one headless
 * worker serving the generated test model (one job at a time), and a sealed-mode gateway. Each
 * test runs against both base URLs: the coordinator's (transport) and the gateway's (sealed).
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../../main/models/model-file.js';
import { startCoordinator, type Coordinator } from '../../network/coordinator/server.js';
import { createLogger } from '../../network/coordinator/log.js';
import { loadCatalogFile } from '../../network/coordinator/catalog-api.js';
import { startGateway, type Gateway } from '../../network/client/gateway.js';
import { eventually, Harness } from '../harness.js';

/** The served model's id. */
export const MODEL = 'silkworm-test';
/** The client API key of the coordinator (unmetered). */
export const KEY = 'sk-clients';
/** The worker's context, in tokens (the test model's training context). */
export const CONTEXT = 2048;

/** One way in: its name and OpenAI base URL. */
export interface BaseUrl {
  mode: 'transport' | 'sealed';
  baseURL: string;
}

/** A running network. */
export interface ClientsNetwork {
  harness: Harness;
  coordinator: Coordinator;
  gateway: Gateway;
  worker: Awaited<ReturnType<Harness['worker']>>;
  bases: BaseUrl[];
  close(): Promise<void>;
}

/** Starts the network; `requestTimeoutMs` bounds how long a queued job may wait. */
export async function startClientsNetwork(options: { requestTimeoutMs?: number } = {}): Promise<ClientsNetwork> {
  const harness = new Harness();
  const modelPath = await harness.model();
  const catalogDir = await harness.tempDir();
  await copyFile(modelPath, join(catalogDir, `${MODEL}.gguf`));
  const sha256 = await sha256File(modelPath);
  await writeFile(join(catalogDir, 'catalog.json'), JSON.stringify({ models: [{ id: MODEL, name: 'test', url: `files/${MODEL}.gguf`, sizeBytes: 470_304, sha256, quantization: 'F32', contextLength: CONTEXT }] }));
  const coordinator = await startCoordinator({
    host: '127.0.0.1',
    port: 0,
    dataDir: await harness.tempDir(),
    apiKeys: [KEY],
    unmetered: true,
    catalog: await loadCatalogFile(join(catalogDir, 'catalog.json')),
    requestTimeoutMs: options.requestTimeoutMs ?? 120_000,
    logger: createLogger('coordinator', { level: 'silent' }),
  });
  const worker = await harness.worker(coordinator.url);
  await eventually(() => [...coordinator.registry.all()].some((w) => w.descriptor !== undefined && w.available), 10_000, 'the worker descriptor');
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, coordinatorUrl: coordinator.url, apiKey: KEY, minTier: 'unsandboxed', logger: createLogger('gateway', { level: 'silent' }) });
  return {
    harness,
    coordinator,
    gateway,
    worker,
    bases: [
      { mode: 'transport', baseURL: `${coordinator.url}/v1` },
      { mode: 'sealed', baseURL: `${gateway.url}/v1` },
    ],
    async close() {
      await gateway.close();
      await coordinator.close();
      await harness.cleanup();
    },
  };
}
