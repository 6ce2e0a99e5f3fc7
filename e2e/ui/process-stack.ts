/**
 * A worker in a process of its own — `silkworm worker --dashboard`, exactly as a rig runs it —
 * against a local coordinator in this process, so a spec can kill it (kill -9) and watch the
 * page. Resolves once the worker printed its dashboard link.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startCoordinator, type Coordinator } from '../../network/coordinator/server.js';
import { createLogger } from '../../network/node-kit/log.js';
import { writeTestModel } from '../../main/models/test-model.js';

/** A worker process and its coordinator. */
export interface ProcessStack {
  coordinator: Coordinator;
  worker: ChildProcess;
  tokenUrl: string;
  /** Kills the worker and everything it started, at once (SIGKILL: no shutdown code runs). */
  kill(): void;
  stop(): Promise<void>;
}

const BIN = fileURLToPath(new URL('../../bin/silkworm.mjs', import.meta.url));

/** Starts the coordinator and the worker process; resolves with the dashboard link it printed. */
export async function startProcessStack(): Promise<ProcessStack> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-ui-process-'));
  const modelPath = join(dir, 'model.gguf');
  await writeTestModel(modelPath);
  const coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'coordinator'), apiKeys: [], unmetered: true, logger: createLogger('coordinator', { level: 'error' }) });
  const worker = spawn(process.execPath, [BIN, 'worker', '--coordinator', coordinator.url, '--data', join(dir, 'worker'), '--model', modelPath, '--dashboard', '127.0.0.1:0', '--share', 'always', '--threads', '1'], {
    // Its own process group, so the job process goes with it.
    detached: true,
    env: { ...process.env, SILKWORM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tokenUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker printed no dashboard link within 60 s')), 60_000);
    createInterface({ input: worker.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /Dashboard: (http:\/\/\S+#token=\S+)/.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) before serving its dashboard`)));
  });
  const kill = () => {
    try {
      if (worker.pid) process.kill(-worker.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return {
    coordinator,
    worker,
    tokenUrl,
    kill,
    async stop() {
      kill();
      await coordinator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
