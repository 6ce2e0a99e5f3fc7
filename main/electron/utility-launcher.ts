/**
 * Starts the job process with Electron's `utilityProcess` (crash isolation from the main
 * process; the OS sandbox is applied inside the job process itself, native/sandbox). The job
 * process finds `process.parentPort` (main/engine/parent-channel.ts); messages are the same.
 */
import { utilityProcess } from 'electron';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cleanEnvironment, type JobProcessHandle, type JobProcessLauncher } from '../engine/node-launcher.js';

/** Launches job processes as Electron utility processes. */
export class UtilityProcessLauncher implements JobProcessLauncher {
  /** `entry`: the compiled job process (default: ../engine/job-process.js next to this build). */
  constructor(private readonly entry = fileURLToPath(new URL('../engine/job-process.js', import.meta.url))) {}

  launch(): JobProcessHandle {
    const child = utilityProcess.fork(this.entry, [], {
      serviceName: 'Silkworm job process',
      env: cleanEnvironment(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const stderr = child.stderr ? createInterface({ input: child.stderr }) : undefined;
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    return {
      get pid() {
        return child.pid;
      },
      send: (message) => {
        if (!exited) child.postMessage(message);
      },
      onMessage: (listener) => child.on('message', listener),
      // utilityProcess reports only an exit code; a crash shows up as a non-zero code.
      onExit: (listener) => child.once('exit', (code) => listener(code, null)),
      onStderrLine: (listener) => stderr?.on('line', listener),
      kill: () => {
        if (!exited) child.kill();
      },
    };
  }
}
