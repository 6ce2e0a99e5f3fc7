/**
 * What Linux's /proc says about another process: CPU time (utime, stime and those of its reaped
 * children), resident memory, liveness and descendants. Reading /proc costs the reader, never
 * the process read, so sampling a process does not disturb its own figures.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds of one process from /proc/PID/stat. */
export interface ProcCpu {
  /** utime + stime of every thread of the process. */
  selfS: number;
  /** cutime + cstime: children it has waited for (helper programs it ran, say). */
  reapedChildrenS: number;
}

let ticksPerSecond: number | undefined;

/** The kernel's clock tick (USER_HZ), asked of getconf once; 100 where it cannot say. */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The fields after "(comm)" in /proc/PID/stat (comm may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by `pid`; undefined once it is gone. */
export function readCpu(pid: number): ProcCpu | undefined {
  const fields = statFields(pid);
  if (!fields) return undefined;
  // proc(5): field 3 is fields[0]; utime 14, stime 15, cutime 16, cstime 17.
  const tick = (index: number) => Number(fields[index] ?? 0) / clockTicks();
  return { selfS: tick(11) + tick(12), reapedChildrenS: tick(13) + tick(14) };
}

/** Resident memory of `pid` in MiB (VmRSS); undefined once it is gone. */
export function readRssMb(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** Whether `pid` exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** Every process below `pid` (children, grandchildren…), from each process's parent id. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = Number(statFields(Number(entry))?.[1]);
    if (Number.isInteger(parent)) parents.set(Number(entry), parent);
  }
  const found: number[] = [];
  const walk = (root: number) => {
    for (const [child, parent] of parents) {
      if (parent !== root) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/**
 * CPU seconds used so far by `pid` and everything it started, the exited included: its own, its
 * live descendants', and what it and they reaped (a server's worker processes that exited, such
 * as PostgreSQL's backends closed by an idle pool, stay counted). Between two reads, a process
 * that exits moves from the live sum to its parent's reaped figure, so the difference is what the
 * tree spent meanwhile. NaN when `pid` cannot be read.
 */
export function treeCpuSeconds(pid: number): number {
  const root = readCpu(pid);
  if (!root) return Number.NaN;
  let seconds = root.selfS + root.reapedChildrenS;
  for (const child of descendants(pid)) {
    const cpu = readCpu(child);
    if (cpu) seconds += cpu.selfS + cpu.reapedChildrenS;
  }
  return seconds;
}

/** Clock ticks every CPU of the machine spent so far, in all and busy (neither idle nor waiting on I/O), from /proc/stat. */
export function readMachineTicks(): { total: number; busy: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    // proc(5): user nice system idle iowait irq softirq steal (guest time is already in user).
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, busy: total - (fields[3] ?? 0) - (fields[4] ?? 0) };
  } catch {
    return undefined;
  }
}

/** The program name of `pid` (/proc/PID/comm); undefined once it is gone. */
export function readName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** What the scheduler counted of one thread: its CPU time, to the nanosecond, and the times it ran. */
export interface ThreadSched {
  cpuS: number;
  /** Time slices it ran: for a thread that mostly sleeps, how often it woke. */
  slices: number;
}

/**
 * The main thread of `pid`, from /proc/PID/task/PID/schedstat (kernel time on the CPU in ns,
 * wait time, time slices): finer than the clock ticks of /proc/PID/stat, which a process that
 * runs a few milliseconds a minute hardly moves.
 */
export function readMainThreadSched(pid: number): ThreadSched | undefined {
  try {
    const [runNs, , slices] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return runNs === undefined || slices === undefined || !Number.isFinite(runNs + slices) ? undefined : { cpuS: runNs / 1e9, slices };
  } catch {
    return undefined;
  }
}
