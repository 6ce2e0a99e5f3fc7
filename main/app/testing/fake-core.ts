/**
 * A worker core for the app layer's unit tests: the real SharingController on a fake signal
 * source, and Worker/EngineSupervisor stand-ins that emit the same events. Test support only.
 */
import { EventEmitter } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SharingController } from '../../sharing/sharing-controller.js';
import { DEFAULT_SHARING_SETTINGS } from '../../sharing/settings.js';
import type { Signals } from '../../sharing/signals.js';
import type { WorkerCore } from '../../worker/worker-core.js';
import type { SandboxProbe } from '../../../native/sandbox/index.js';
import { assembleApp, type AppServices, type AppOptions } from '../assemble-app.js';
import { testTempDir } from './temp-dir.js';

/** Away for an hour, a GPU at 54 °C. */
export const AWAY_SIGNALS: Signals = {
  idleSeconds: 3600,
  screenLocked: false,
  localSession: true,
  fullscreen: { detected: false },
  game: { detected: false },
  gpu: { devices: [{ index: 0, name: 'Test GPU', vendor: 'nvidia', tempC: 54, powerW: 90, memoryUsedMb: 1200, memoryTotalMb: 8192, utilizationPercent: 10 }], otherProcesses: [] },
  battery: null,
};

/** The stand-ins, exposed so tests can emit worker events. */
export interface FakeCore {
  core: WorkerCore;
  worker: EventEmitter & { link: { connected: boolean }; counters: { jobsServed: number; jobsFailed: number; jobsRejected: number; tokensGenerated: number } };
  engine: EventEmitter & { info: unknown; pid: number | undefined };
  sharing: SharingController;
}

/** Builds a fake core with the real sharing controller (not started; tests call poll()). */
export function createFakeCore(signals: Signals = AWAY_SIGNALS): FakeCore {
  const worker = Object.assign(new EventEmitter(), { link: { connected: true }, counters: { jobsServed: 0, jobsFailed: 0, jobsRejected: 0, tokensGenerated: 0 } });
  const engine = Object.assign(new EventEmitter(), { info: { gpu: 'cuda', contextSize: 2048, trainContextSize: 2048, tokensPerSecond: 1500, loadMs: 20, pid: 42 } as unknown, pid: 42 as number | undefined });
  const sharing = new SharingController({ source: { read: async () => signals }, settings: { ...DEFAULT_SHARING_SETTINGS, mode: 'off' } });
  let payoutAddress: string | undefined;
  const core = {
    worker,
    engine,
    sharing,
    workerId: 'worker-test',
    engineInfo: engine.info,
    books: () => undefined,
    payoutAddress: () => payoutAddress,
    setPayoutAddress: async (address: string | null) => void (payoutAddress = address ?? undefined),
    stop: async () => undefined,
  } as unknown as WorkerCore;
  return { core, worker, engine, sharing };
}

/** A sandbox probe that needs no native addon. */
export const TEST_SANDBOX: SandboxProbe = { canSandbox: true, landlockAbi: 7, seccomp: true, reason: 'test' };

/** App services over a fake core, in a temp data dir with a small model file. */
export async function createTestServices(overrides: Partial<AppOptions> = {}): Promise<{ services: AppServices; fake: FakeCore; dataDir: string }> {
  const dataDir = await testTempDir('silkworm-app-');
  const modelPath = join(dataDir, 'tiny-model.gguf');
  await writeFile(modelPath, Buffer.alloc(2048, 1));
  const fake = createFakeCore();
  const services = await assembleApp({
    core: fake.core,
    shell: { kind: 'dashboard' },
    coordinatorUrl: 'http://127.0.0.1:9',
    modelPath,
    dataDir,
    network: 'testnet',
    stored: {},
    sandboxProbe: () => TEST_SANDBOX,
    ...overrides,
  });
  return { services, fake, dataDir };
}
