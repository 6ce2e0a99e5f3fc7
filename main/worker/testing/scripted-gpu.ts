/**
 * A worker on a GPU, for tests of what reaches the GPU and when: the real Worker and
 * EngineSupervisor, a job process scripted in memory that reports a CUDA GPU (the tests' real
 * job process runs on the CPU) and logs every load, cancel and exit, joined to a scripted
 * coordinator (scripted-coordinator.ts) that records what the worker says. Test support only.
 */
import { createHash } from 'node:crypto';
import { EngineSupervisor } from '../../engine/supervisor.js';
import type { JobProcessHandle, JobProcessLauncher } from '../../engine/node-launcher.js';
import type { EngineInfo, FromJobProcess, ToJobProcess } from '../../engine/job-messages.js';
import { Worker } from '../worker.js';
import type { ModelFile } from '../../models/model-file.js';
import { createLogger } from '../../../network/node-kit/log.js';
import { identityKeyPairFromSeed } from '../../../network/protocol/descriptor.js';
import { toBase64Url } from '../../../network/protocol/encoding.js';
import type { ScriptedCoordinator } from './scripted-coordinator.js';

/** One thing the job processes did, and when (performance.now()). */
export interface GpuEvent {
  at: number;
  /** 'load <model path> layers=<n|auto> vram=<bytes|none>', 'cancel <job>', 'exit'. */
  what: string;
}

/**
 * Starts job processes that live in memory: a load succeeds at once on "cuda", a job streams one
 * chunk and then runs until it is cancelled or the test finishes it.
 */
export class ScriptedGpuLauncher implements JobProcessLauncher {
  readonly events: GpuEvent[] = [];
  private readonly jobs = new Map<string, (message: FromJobProcess) => void>();
  private nextPid = 1000;

  launch(): JobProcessHandle {
    const pid = this.nextPid++;
    let alive = true;
    let listener: ((message: unknown) => void) | undefined;
    const exits: ((code: number | null, signal: string | null) => void)[] = [];
    const reply = (message: FromJobProcess) => setImmediate(() => alive && listener?.(message));
    const note = (what: string) => this.events.push({ at: performance.now(), what });
    return {
      pid,
      send: (raw) => {
        const message = raw as ToJobProcess;
        if (message.type === 'load') {
          const { modelPath, gpuLayers, maxVramBytes } = message.config;
          note(`load ${modelPath} layers=${gpuLayers ?? 'auto'} vram=${maxVramBytes ?? 'none'}`);
          reply({ type: 'loaded', replyTo: message.seq, info: scriptedInfo(pid) });
        } else if (message.type === 'generate') {
          this.jobs.set(message.jobId, reply);
          reply({ type: 'chunk', jobId: message.jobId, text: 'a', tokens: 1 });
        } else if (message.type === 'cancel') {
          note(`cancel ${message.jobId}`);
          if (this.jobs.delete(message.jobId)) reply({ type: 'failed', jobId: message.jobId, code: 'cancelled', message: 'Cancelled.' });
        }
      },
      onMessage: (l) => (listener = l),
      onExit: (l) => exits.push(l),
      onStderrLine: () => {},
      kill: (signal) => {
        if (!alive) return;
        alive = false;
        note('exit');
        setImmediate(() => {
          for (const exit of exits) exit(null, signal ?? 'SIGTERM');
        });
      },
    };
  }

  /** Ends a running job as if it had generated all it was asked for; false if it is not running. */
  finish(jobId: string): boolean {
    const reply = this.jobs.get(jobId);
    if (!this.jobs.delete(jobId) || !reply) return false;
    reply({ type: 'done', jobId, finishReason: 'length', usage: { promptTokens: 3, completionTokens: 1 }, countedCompletionTokens: 1 });
    return true;
  }

  /** The events since index `from`, as text. */
  since(from: number): string[] {
    return this.events.slice(from).map((e) => e.what);
  }
}

function scriptedInfo(pid: number): EngineInfo {
  return { gpu: 'cuda', contextSize: 2048, trainContextSize: 2048, sequences: 2, sequencesReason: 'scripted', tokensPerSecond: 100, loadMs: 1, pid, tier: 'unsandboxed', hpkePublicKey: toBase64Url(new Uint8Array(32).fill(3)) };
}

/** A model file as the worker describes one (nothing is read: the job process is scripted). */
export function scriptedModel(id: string): ModelFile {
  return { id, path: `/models/${id}.gguf`, sha256: createHash('sha256').update(id).digest('hex'), sizeBytes: 1 };
}

/** A started engine on the scripted GPU and a worker on it, connected to `coordinator`. */
export async function startGpuWorker(coordinator: ScriptedCoordinator, options: { available: boolean }): Promise<{ worker: Worker; engine: EngineSupervisor; gpu: ScriptedGpuLauncher; stop(): Promise<void> }> {
  const logger = createLogger('test', { level: process.env.TEST_LOG ?? 'silent' });
  const gpu = new ScriptedGpuLauncher();
  const model = scriptedModel('m');
  const engine = new EngineSupervisor({ config: { modelPath: model.path, threads: 1, contextSize: 2048, gpu: 'auto', warmupTokens: 0, sandbox: false }, launcher: gpu, logger });
  await engine.start();
  const worker = new Worker({
    workerId: 'worker-scripted',
    coordinatorUrl: coordinator.url,
    model,
    engine,
    maxConcurrentJobs: 2,
    available: options.available,
    identity: identityKeyPairFromSeed(new Uint8Array(32).fill(9)),
    logger,
    reconnect: { minDelayMs: 10, maxDelayMs: 50 },
  });
  worker.start();
  await coordinator.next('hello');
  return { worker, engine, gpu, stop: () => worker.stop() };
}
