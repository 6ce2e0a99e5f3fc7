/**
 * The real headless worker as its own process, started the way an owner starts it (`silkworm
 * worker …`, with the Node flags of its `#!` line), with its log lines in a file rather than on
 * the bench's stdout. For figures about the worker process itself (memory, CPU while idle).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silkwormArgs } from './silkworm-command.js';

/** How to start the worker: the `silkworm worker` options the bench sets. */
export interface WorkerProcessOptions {
  coordinatorUrl: string;
  dataDir: string;
  modelPath: string;
  share: 'off' | 'idle' | 'polite' | 'always';
  threads: number;
  gpu: 'auto' | 'cpu';
}

/** A started `silkworm worker` process. */
export class WorkerProcess {
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly logPath: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Starts `silkworm worker` with `options`; its log goes to DATA/bench-worker.log. */
  static start(options: WorkerProcessOptions): WorkerProcess {
    const logPath = join(options.dataDir, 'bench-worker.log');
    const log = openSync(logPath, 'a');
    try {
      const args = silkwormArgs(['worker', '--coordinator', options.coordinatorUrl, '--data', options.dataDir, '--model', options.modelPath,
        '--share', options.share, '--threads', String(options.threads), '--gpu', options.gpu]);
      const child = spawn(process.execPath, args, { stdio: ['ignore', log, log], env: { ...process.env, SILKWORM_LOG_LEVEL: 'info' } });
      return new WorkerProcess(child, logPath);
    } finally {
      closeSync(log); // the child holds its own copy
    }
  }

  /** The worker process's id. */
  get pid(): number {
    if (this.child.pid === undefined) throw new Error('The worker process did not start.');
    return this.child.pid;
  }

  /** Whether it has exited (a crash at start, say). */
  get hasExited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The job process the worker reported starting (its 'model loaded' log line), if any. */
  enginePid(): number | undefined {
    for (const line of this.logLines()) {
      try {
        const entry = JSON.parse(line) as { enginePid?: unknown };
        if (typeof entry.enginePid === 'number') return entry.enginePid;
      } catch {
        // not a JSON line (tsx or Node warnings)
      }
    }
    return undefined;
  }

  /** The last `count` lines it logged, to explain a failure. */
  tail(count = 5): string {
    return this.logLines().slice(-count).join('\n');
  }

  /** SIGTERM (the worker's graceful shutdown), SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.hasExited) return;
    const kill = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(kill);
  }

  private logLines(): string[] {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }
}
