/**
 * A CPU budget for a process, through a Linux CPU cgroup: the process may use at most `cores`
 * of a core (a CFS quota over a short period), however idle the machine. The scale-out section
 * uses it to give each coordinator instance a machine of its own size on one box: the same
 * budget for each instance, whatever else runs.
 *
 * Works where the bench may write the cgroup tree: cgroup v1's `cpu` controller (as here), or
 * cgroup v2 where this process's cgroup can hand the `cpu` controller to a child. Elsewhere
 * (no root, a v2 container whose cgroup holds processes) `createCpuCaps` says why it cannot,
 * and the section reports that instead of a figure.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** CFS period of a cap: short, so a capped process waits at most this long for its next share. */
const PERIOD_US = 10_000;

/** A group of processes sharing one CPU budget. */
export interface CpuCap {
  readonly cores: number;
  /** Its cgroup directory. */
  readonly path: string;
  /** Puts a process (all its threads, and those it starts later) under the cap. */
  add(pid: number): void;
  /** Times the cap held a process back so far (cpu.stat's nr_throttled). */
  throttled(): number;
  /** Moves its processes back to where the bench runs and removes the group (throws if a process it started stays in it); once. */
  release(): void;
}

interface Hierarchy {
  /** This process's own cgroup directory in the hierarchy (where released processes go back). */
  home: string;
  version: 1 | 2;
}

/** The path of the first line of /proc/self/cgroup that `match` accepts (its hierarchy id and controllers). */
function ownPath(cgroups: string, match: (controllers: string[], hierarchyId: string) => boolean): string | undefined {
  for (const line of cgroups.split('\n')) {
    const [id, controllers, path] = line.split(':');
    if (id !== undefined && controllers !== undefined && path !== undefined && match(controllers.split(','), id)) return path;
  }
  return undefined;
}

/** Finds a CPU hierarchy the bench can write, or says why there is none. */
function findHierarchy(): Hierarchy | string {
  if (process.platform !== 'linux') return `CPU caps need Linux cgroups (this is ${process.platform})`;
  let cgroups: string;
  try {
    cgroups = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return 'cannot read /proc/self/cgroup';
  }
  // cgroup v1: a `cpu` controller mounted at /sys/fs/cgroup/cpu (or cpu,cpuacct).
  const v1Path = ownPath(cgroups, (controllers) => controllers.includes('cpu'));
  for (const mount of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    if (v1Path !== undefined && existsSync(join(mount, 'cpu.cfs_quota_us'))) return { home: join(mount, v1Path), version: 1 };
  }
  // cgroup v2: the unified tree at /sys/fs/cgroup, with `cpu` available to this cgroup's children.
  const v2Path = ownPath(cgroups, (controllers, id) => id === '0' && controllers.join('') === '');
  if (v2Path !== undefined && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const home = join('/sys/fs/cgroup', v2Path);
    try {
      if (!readFileSync(join(home, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) return `cgroup v2: the cpu controller is not available to ${home}`;
      if (!readFileSync(join(home, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('cpu')) writeFileSync(join(home, 'cgroup.subtree_control'), '+cpu');
      return { home, version: 2 };
    } catch (error) {
      return `cgroup v2: cannot give the cpu controller to a child of ${home} (${error instanceof Error ? error.message : String(error)})`;
    }
  }
  return `no writable CPU cgroup (${cgroups.trim().split('\n').length} hierarchies in /proc/self/cgroup, none with a cpu controller mounted where expected)`;
}

/**
 * Makes one cap of `cores` (of one core, > 0) per name, or returns why caps are not possible
 * here. Each cap must be released.
 */
export function createCpuCaps(names: readonly string[], cores: number): CpuCap[] | string {
  if (!(cores > 0) || !Number.isFinite(cores)) throw new Error(`a CPU cap must be a positive number of cores, not ${cores}`);
  const hierarchy = findHierarchy();
  if (typeof hierarchy === 'string') return hierarchy;
  removeStale(hierarchy.home);
  const caps: CpuCap[] = [];
  try {
    for (const name of names) caps.push(createCap(hierarchy, `silkworm-bench-${process.pid}-${name}`, cores));
    return caps;
  } catch (error) {
    for (const cap of caps) cap.release();
    return `cannot create a CPU cgroup under ${hierarchy.home}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * Removes the empty cgroups a bench run that was killed left behind (named after its pid, which
 * is gone); a cgroup that still holds a process stays.
 */
function removeStale(home: string): void {
  for (const entry of readdirSync(home)) {
    const pid = /^silkworm-bench-(\d+)-/.exec(entry)?.[1];
    if (pid === undefined || Number(pid) === process.pid || existsSync(`/proc/${pid}`)) continue;
    try {
      rmdirSync(join(home, entry));
    } catch {
      // not empty: a process of that run still runs in it
    }
  }
}

function createCap({ home, version }: Hierarchy, name: string, cores: number): CpuCap {
  const dir = join(home, name);
  mkdirSync(dir);
  const quota = Math.max(1000, Math.round(cores * PERIOD_US));
  try {
    if (version === 1) {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
    } else {
      writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    }
  } catch (error) {
    rmdirSync(dir);
    throw error;
  }
  const members = new Set<number>();
  let released = false;
  return {
    cores: quota / PERIOD_US,
    path: dir,
    add(pid) {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
      members.add(pid);
    },
    throttled() {
      const stat = readFileSync(join(dir, 'cpu.stat'), 'utf8');
      return Number(/^nr_throttled (\d+)$/m.exec(stat)?.[1] ?? Number.NaN);
    },
    release() {
      if (released) return;
      for (const pid of members) {
        try {
          writeFileSync(join(home, 'cgroup.procs'), String(pid));
        } catch {
          // gone already
        }
      }
      members.clear();
      rmdirSync(dir);
      released = true;
    },
  };
}
