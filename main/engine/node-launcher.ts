/**
 * Starts the job process as a Node child process (headless worker). The Electron shell has
 * its own launcher over `utilityProcess`; both satisfy JobProcessLauncher.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

/** A started job process, whatever started it. */
export interface JobProcessHandle {
  readonly pid: number | undefined;
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Lines the process wrote to stderr (native crash output included). */
  onStderrLine(listener: (line: string) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts job processes. */
export interface JobProcessLauncher {
  launch(): JobProcessHandle;
}

/** Environment variables a job process may inherit: locale, paths and GPU runtime settings. */
const INHERITED_ENV = /^(PATH|HOME|USERPROFILE|SYSTEMROOT|WINDIR|TEMP|TMP|TMPDIR|LANG|LC_[A-Z]+|LD_LIBRARY_PATH|CUDA_[A-Z_]+|HIP_[A-Z_]+|ROCR_[A-Z_]+|GGML_[A-Z_]+|VK_[A-Z_]+|NODE_LLAMA_CPP_[A-Z_]+)$/;

/** The environment passed to a job process: nothing from the parent but what the engine needs. */
export function cleanEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => INHERITED_ENV.test(key)));
}

/** Forks `job-process` next to this file (TypeScript through tsx in development). */
export class NodeJobProcessLauncher implements JobProcessLauncher {
  launch(): JobProcessHandle {
    const fromSource = import.meta.url.endsWith('.ts');
    const entry = fileURLToPath(new URL(fromSource ? './job-process.ts' : './job-process.js', import.meta.url));
    const child = fork(entry, [], {
      execArgv: fromSource ? ['--import', import.meta.resolve('tsx')] : [],
      env: cleanEnvironment(),
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const stderr = child.stderr ? createInterface({ input: child.stderr }) : undefined;
    // A process that died (kill -9, a native crash) fails writes to its channel with EPIPE before
    // its exit is seen. The exit handler fails its jobs; the failed write must not crash the worker.
    child.on('error', () => {});
    return {
      pid: child.pid,
      send: (message) => {
        if (child.connected) child.send(message as object, (error) => void error);
      },
      onMessage: (listener) => child.on('message', listener),
      onExit: (listener) => child.once('exit', listener),
      onStderrLine: (listener) => stderr?.on('line', listener),
      kill: (signal) => child.kill(signal),
    };
  }
}
