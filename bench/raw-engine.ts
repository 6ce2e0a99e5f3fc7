/** Starts and drives baseline (a)'s process (bench/raw-engine-process.ts). */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EngineConfig } from '../main/engine/job-messages.js';
import type { FromRawEngine, ToRawEngine } from './raw-engine-process.js';
import type { Timing } from './stream-clock.js';
import type { BenchJob } from './measure.js';

/** LlamaEngine in a process of its own; `run` resolves with the timing taken inside it. */
export class RawEngine {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (timing: Timing) => void; reject: (error: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    /** The backend the engine loaded on ('cpu', 'cuda', …). */
    readonly backend: string,
  ) {
    child.on('message', (message: FromRawEngine) => {
      if (message.type === 'loaded' || message.id === undefined) return;
      const pending = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.type === 'result') pending?.resolve(message.timing);
      else pending?.reject(new Error(message.message));
    });
    child.once('exit', (code, signal) => {
      for (const pending of this.waiting.values()) pending.reject(new Error(`The raw engine process exited (${signal ?? `code ${code}`}).`));
      this.waiting.clear();
    });
  }

  /** Forks the process (TypeScript through tsx, like the job process) and loads the model. */
  static async start(config: EngineConfig): Promise<RawEngine> {
    const entry = fileURLToPath(new URL('./raw-engine-process.ts', import.meta.url));
    const child = fork(entry, [], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const backend = await new Promise<string>((resolve, reject) => {
      const onMessage = (message: FromRawEngine) => {
        if (message.type === 'loaded') resolve(message.backend);
        else if (message.type === 'error') reject(new Error(`Raw engine: ${message.message}`));
        else return;
        child.off('message', onMessage);
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`The raw engine process exited (code ${code}) while loading.`)));
      child.send({ type: 'load', config } satisfies ToRawEngine);
    });
    return new RawEngine(child, backend);
  }

  /** Process id, to read its CPU time. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs one job, timed inside the engine's process. */
  run(job: BenchJob): Promise<Timing> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ type: 'run', id, messages: job.messages, maxTokens: job.maxTokens, seed: job.seed, ...(job.responseFormat ? { responseFormat: job.responseFormat } : {}), ...(job.forcedCall ? { forcedCall: job.forcedCall } : {}) } satisfies ToRawEngine);
    });
  }

  /** Ends the process. */
  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill();
    });
  }
}
