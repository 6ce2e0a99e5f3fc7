/**
 * The system under test for the Models screen: a coordinator publishing a catalog (the tiny
 * test model the worker serves, and the bigger 'bench' model), a real headless worker sharing
 * at once, and the headless dashboard. The bench model is downloaded from a real HTTP mirror
 * that sends it at ~2 MB/s with Range support, so the progress bar is there to be seen.
 */
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '../../network/coordinator/server.js';
import { createLogger as createCoordinatorLogger } from '../../network/coordinator/log.js';
import { startWorkerCore, type WorkerCore } from '../../main/worker/worker-core.js';
import { createLogger } from '../../network/node-kit/log.js';
import { writeTestModel } from '../../main/models/test-model.js';
import { DEMO_BENCH_MODEL_ID, makeDemoCatalog } from '../../main/models/catalog-demo.js';
import type { AttachedDashboard } from '../../main/dashboard/attach.js';
import { serveApp } from './serve-app.js';
import { LogRing } from '../../main/app/log-ring.js';
import type { Signals } from '../../main/sharing/signals.js';

/** A running Models stack. */
export interface ModelsStack {
  coordinator: Coordinator;
  core: WorkerCore;
  attached: AttachedDashboard;
  dataDir: string;
  tokenUrl: string;
  /** Sends one chat completion for `model` through the coordinator. */
  chat(model: string, content: string, maxTokens?: number): Promise<{ status: number; text: string | undefined }>;
  /** Stops the coordinator early (the 'unreachable' case); stop() then skips it. */
  stopCoordinator(): Promise<void>;
  stop(): Promise<void>;
}

const AWAY: Signals = { idleSeconds: 3600, screenLocked: false, localSession: true, fullscreen: { detected: false }, game: { detected: false }, gpu: null, battery: null };

const CHUNK = 64 * 1024;

/** Serves one file at `bytesPerSecond`, honouring `Range: bytes=N-` and `bytes=N-M`. */
async function startSlowMirror(path: string, bytesPerSecond: number): Promise<{ url: string; server: Server }> {
  const size = (await stat(path)).size;
  const server = createServer((req, res) => {
    const from = Number(/^bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const to = Math.min(size - 1, Number(/^bytes=\d+-(\d+)$/.exec(req.headers.range ?? '')?.[1] ?? size - 1));
    res.writeHead(req.headers.range ? 206 : 200, { 'content-length': String(to - from + 1), 'accept-ranges': 'bytes', ...(req.headers.range ? { 'content-range': `bytes ${from}-${to}/${size}` } : {}) });
    void (async () => {
      const file = await open(path, 'r');
      try {
        for (let at = from; at <= to && !res.destroyed; at += CHUNK) {
          const length = Math.min(CHUNK, to - at + 1);
          const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, at);
          res.write(buffer.subarray(0, bytesRead));
          await new Promise((resolve) => setTimeout(resolve, (CHUNK * 1000) / bytesPerSecond));
        }
        res.end();
      } finally {
        await file.close();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${DEMO_BENCH_MODEL_ID}.gguf`, server };
}

/** Starts the stack. */
export async function startModelsStack(): Promise<ModelsStack> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-ui-models-'));
  const modelPath = join(dir, 'silkworm-test.gguf');
  await writeTestModel(modelPath);
  const catalogDir = join(dir, 'catalog');
  const catalog = await makeDemoCatalog(catalogDir, modelPath);
  const mirror = await startSlowMirror(join(catalogDir, `${DEMO_BENCH_MODEL_ID}.gguf`), 2 * 1024 * 1024);
  const models = catalog.models.map((m) => (m.id === DEMO_BENCH_MODEL_ID ? { ...m, url: mirror.url } : m));
  const coordinator = await startCoordinator({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir, 'coordinator'),
    apiKeys: [],
    unmetered: true,
    catalog: { catalog: { models }, dir: catalogDir },
    logger: createCoordinatorLogger('coordinator', { level: 'error' }),
  });
  const logs = new LogRing();
  const logger = createLogger('worker', { level: 'info', destination: logs });
  const dataDir = join(dir, 'worker');
  const core = await startWorkerCore({
    coordinatorUrl: coordinator.url,
    dataDir,
    modelPath,
    threads: 1,
    logger,
    sharing: { mode: 'always' },
    signalSource: { read: async () => AWAY },
    sharingPollMs: 500,
    reconnect: { minDelayMs: 50, maxDelayMs: 500 },
  });
  let coordinatorClosed: Promise<void> | undefined;
  const attached = await serveApp({ core, coordinatorUrl: coordinator.url, modelPath, dataDir, logs, logger, token: 'ui-models-token-0123456789' });
  return {
    coordinator,
    core,
    attached,
    dataDir,
    tokenUrl: attached.dashboard.tokenUrl,
    async chat(model, content, maxTokens = 8) {
      const response = await fetch(`${coordinator.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0 }),
      });
      const body = (await response.json()) as { choices?: { message: { content: string } }[] };
      return { status: response.status, text: body.choices?.[0]?.message.content };
    },
    stopCoordinator() {
      coordinatorClosed ??= coordinator.close();
      return coordinatorClosed;
    },
    async stop() {
      await attached.close();
      await core.stop();
      await (coordinatorClosed ??= coordinator.close());
      mirror.server.closeAllConnections();
      await new Promise((resolve) => mirror.server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
