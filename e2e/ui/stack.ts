/**
 * The system under test for the UI specs: a local coordinator, a real headless worker on the
 * generated test model (sharing starts Off; the owner is reported away, so "When idle" shares
 * at once), and the headless dashboard on port 0 with a known token. Everything in a temp dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '../../network/coordinator/server.js';
import { createLogger as createCoordinatorLogger } from '../../network/coordinator/log.js';
import { startWorkerCore, type WorkerCore } from '../../main/worker/worker-core.js';
import { createLogger } from '../../network/node-kit/log.js';
import { writeTestModel } from '../../main/models/test-model.js';
import type { AttachedDashboard } from '../../main/dashboard/attach.js';
import { serveApp } from './serve-app.js';
import { LogRing } from '../../main/app/log-ring.js';
import type { Signals } from '../../main/sharing/signals.js';
import { DEFAULT_SHARING_SETTINGS } from '../../main/sharing/settings.js';

/** A running stack. */
export interface UiStack {
  coordinator: Coordinator;
  core: WorkerCore;
  attached: AttachedDashboard;
  token: string;
  /** The worker's data dir (app-settings.json lives here). */
  dataDir: string;
  /** The generated test model. */
  modelPath: string;
  /** What the sharing policy reads on its next poll (every 500 ms): change it to move the owner. */
  signals: Signals;
  /** The dashboard origin. */
  url: string;
  /** The URL with the token fragment. */
  tokenUrl: string;
  /** Sends one chat completion through the coordinator; resolves with the answer text. */
  chat(content: string, maxTokens?: number): Promise<{ status: number; text: string | undefined; completionTokens: number | undefined }>;
  stop(): Promise<void>;
}

/** The owner is away for an hour, nothing fullscreen, no game: "When idle" shares. */
const AWAY: Signals = {
  idleSeconds: 3600,
  screenLocked: false,
  localSession: true,
  fullscreen: { detected: false },
  game: { detected: false },
  gpu: null,
  battery: null,
};

/** Starts the stack; `firstRun` shows the desktop app's first-run setup. */
export async function startUiStack(options: { firstRun?: boolean } = {}): Promise<UiStack> {
  const signals: Signals = { ...AWAY };
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-ui-'));
  const modelPath = join(dir, 'silkworm-test.gguf');
  await writeTestModel(modelPath);
  const coordinator = await startCoordinator({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir, 'coordinator'),
    apiKeys: [],
    unmetered: true,
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
    // No minimum pause: the specs move the owner back and forth within seconds.
    sharing: { mode: 'off', hysteresis: { ...DEFAULT_SHARING_SETTINGS.hysteresis, minDwellSeconds: 0 } },
    signalSource: { read: async () => ({ ...signals }) },
    sharingPollMs: 500,
    reconnect: { minDelayMs: 50, maxDelayMs: 500 },
  });
  const token = 'ui-test-token-0123456789';
  const attached = await serveApp({ core, coordinatorUrl: coordinator.url, modelPath, dataDir, logs, logger, token, ...(options.firstRun ? { firstRun: true } : {}) });
  return {
    coordinator,
    core,
    attached,
    token,
    dataDir,
    modelPath,
    signals,
    url: attached.dashboard.url,
    tokenUrl: attached.dashboard.tokenUrl,
    async chat(content, maxTokens = 16) {
      const response = await fetch(`${coordinator.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'silkworm-test', messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0 }),
      });
      const body = (await response.json()) as { choices?: { message: { content: string } }[]; usage?: { completion_tokens: number } };
      return { status: response.status, text: body.choices?.[0]?.message.content, completionTokens: body.usage?.completion_tokens };
    },
    async stop() {
      await attached.close();
      await core.stop();
      await coordinator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
