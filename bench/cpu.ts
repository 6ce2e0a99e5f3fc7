/** CPU time used by this process and by an engine process, to see where per-token work goes. */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU milliseconds consumed so far: this process (all threads) and another process, if readable. */
export interface CpuSnapshot {
  selfMs: number;
  /** Undefined where /proc is not available (not Linux) or the process is gone. */
  otherMs: number | undefined;
}

/** Reads CPU time now; `otherPid` is the process running the engine. */
export function cpuSnapshot(otherPid: number | undefined): CpuSnapshot {
  const self = process.cpuUsage();
  return { selfMs: (self.user + self.system) / 1000, otherMs: otherPid === undefined ? undefined : processCpuMs(otherPid) };
}

/** CPU milliseconds spent between two snapshots. */
export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): CpuSnapshot {
  const otherMs = before.otherMs !== undefined && after.otherMs !== undefined ? after.otherMs - before.otherMs : undefined;
  return { selfMs: after.selfMs - before.selfMs, otherMs };
}

/** Sum of the run time of every thread of `pid` (Linux schedstat, nanosecond resolution). */
function processCpuMs(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const first = readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0];
      ns += Number(first ?? 0);
    }
    return ns / 1e6;
  } catch {
    return undefined;
  }
}
