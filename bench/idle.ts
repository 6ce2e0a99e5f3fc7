/**
 * Idle footprint with sharing off: the real headless worker (`silkworm worker --share off`) in a
 * process of its own, joined to a coordinator in this process. Once it has connected and settled,
 * its RSS and CPU time (and its job process's, should one be alive) are read from /proc for a
 * minute. With sharing off the worker ends its job process, so normally only the worker is left.
 * Targets: ≤ 120 MB RSS and ≤ 0.2 % of one core. For scale, over the same window: how often the
 * worker's main thread woke and its CPU per wake-up, and the same of a bare Node process that
 * wakes as often as the idle heartbeat and does nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startCoordinator } from '../network/coordinator/server.js';
import { createLogger } from '../network/coordinator/log.js';
import type { Coordinator } from '../network/coordinator/server.js';
import type { BenchContext } from './context.js';
import { describeLoad } from './device.js';
import { descendants, isRunning, readCpu, readMainThreadSched, readName, readRssMb, type ProcCpu, type ThreadSched } from './proc.js';
import { DEFAULT_HEARTBEAT_MS } from '../network/coordinator/worker-session.js';
import type { Section, SectionReport } from './section.js';
import { round } from './stats.js';
import type { Table } from './table.js';
import { WorkerProcess } from './worker-process.js';

const SETTLE_S = 5;
const WINDOW_S = 60;
const TARGET_RSS_MB = 120;
const TARGET_CPU_PCT = 0.2;
const REPO = fileURLToPath(new URL('..', import.meta.url));

/** The idle-footprint section. */
export const idleSection: Section = {
  name: 'idle',
  summary: `idle RSS and CPU of 'silkworm worker --share off' (own process) over ${WINDOW_S} s`,
  run: runIdle,
};

/** Figures of one group of processes over the window. */
interface Group {
  /** Samples in which one of them was alive. */
  aliveSamples: number;
  rssMaxMb: number;
  cpuS: number;
}

/** What a minute of sampling saw. */
interface Window {
  wallS: number;
  workerRssMb: number[];
  /** The worker plus every live process below it, once a second. */
  totalRssMb: number[];
  workerCpuS: number;
  enginePid: number | undefined;
  engine: Group;
  /** Other processes below the worker (probe helpers): alive at a sample, or reaped. */
  helpers: Group & { names: Set<string> };
  /** The worker's main thread over the window: its CPU and how often it woke. */
  workerMain: ThreadSched | undefined;
  /** The same of a bare Node process that wakes as often as the idle worker's heartbeat. */
  bare: ThreadSched | undefined;
}

async function runIdle(context: BenchContext): Promise<SectionReport> {
  const modelPath = await context.modelPath('bench');
  const coordinator = await startCoordinator({
    host: '127.0.0.1',
    port: 0,
    dataDir: await context.tempDir('idle-coordinator'),
    // A key no one uses: the worker needs none, and an open API would only log a warning.
    apiKeys: [`sk-bench-idle-${process.pid}`],
    logger: createLogger('coordinator', { level: 'warn', destination: process.stderr }),
  });
  let worker: WorkerProcess | undefined;
  let bare: ChildProcess | undefined;
  try {
    const joined = whenJoined(coordinator, 120_000);
    worker = WorkerProcess.start({ coordinatorUrl: coordinator.url, dataDir: await context.tempDir('idle-worker'), modelPath, share: 'off', threads: context.settings.threads, gpu: context.settings.gpu });
    await joined.catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)} Worker log:\n${worker?.tail() ?? ''}`);
    });
    // Started now, so that its own start-up is over before the window opens; it ends with this
    // process (its IPC channel closes), should the bench be killed before it can stop it.
    bare = spawn(process.execPath, ['-e', `process.on('disconnect', () => process.exit()); setInterval(() => {}, ${DEFAULT_HEARTBEAT_MS});`], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    await sleep(SETTLE_S * 1000);
    if (worker.hasExited) throw new Error(`The worker exited. Its log:\n${worker.tail()}`);
    const window = await sample(worker.pid, worker.enginePid(), bare.pid);
    const baselines = await baselineRss();
    return report(window, baselines, context);
  } finally {
    bare?.kill('SIGKILL');
    await worker?.stop();
    await coordinator.close();
  }
}

/** Settles once a worker has joined the coordinator (handshake done). */
function whenJoined(coordinator: Coordinator, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`No worker joined within ${timeoutMs} ms.`)), timeoutMs);
    coordinator.registry.once('added', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Reads RSS once a second and CPU time at both ends, for WINDOW_S seconds. */
async function sample(pid: number, enginePid: number | undefined, barePid: number | undefined): Promise<Window> {
  const childCpu = () => new Map(descendants(pid).filter(isRunning).map((child) => [child, readCpu(child)?.selfS ?? 0]));
  const mainBefore = readMainThreadSched(pid);
  const bareBefore = barePid === undefined ? undefined : readMainThreadSched(barePid);
  const before = mustReadCpu(pid);
  const childrenBefore = childCpu();
  const started = performance.now();
  const window: Window = {
    wallS: 0, workerRssMb: [], totalRssMb: [], workerCpuS: 0, enginePid,
    engine: { aliveSamples: 0, rssMaxMb: 0, cpuS: 0 },
    helpers: { aliveSamples: 0, rssMaxMb: 0, cpuS: 0, names: new Set() },
    workerMain: undefined,
    bare: undefined,
  };
  for (let second = 1; second <= WINDOW_S; second++) {
    await sleep(started + second * 1000 - performance.now());
    const workerRss = readRssMb(pid);
    if (workerRss === undefined) throw new Error('The worker process ended during the idle window.');
    let total = workerRss;
    const seen = new Set<Group>();
    for (const child of descendants(pid).filter(isRunning)) {
      const rss = readRssMb(child) ?? 0;
      const group = child === enginePid ? window.engine : window.helpers;
      if (child !== enginePid) window.helpers.names.add(readName(child) ?? '?');
      group.rssMaxMb = Math.max(group.rssMaxMb, rss);
      seen.add(group);
      total += rss;
    }
    for (const group of seen) group.aliveSamples++;
    window.workerRssMb.push(workerRss);
    window.totalRssMb.push(total);
  }
  const after = mustReadCpu(pid);
  window.workerMain = schedSince(mainBefore, readMainThreadSched(pid));
  window.bare = barePid === undefined ? undefined : schedSince(bareBefore, readMainThreadSched(barePid));
  window.wallS = (performance.now() - started) / 1000;
  // Processes alive at the end: CPU since the start (or since they appeared); the rest were reaped.
  for (const [child, cpuS] of childCpu()) {
    (child === enginePid ? window.engine : window.helpers).cpuS += cpuS - (childrenBefore.get(child) ?? 0);
  }
  window.helpers.cpuS += after.reapedChildrenS - before.reapedChildrenS;
  window.workerCpuS = after.selfS - before.selfS;
  return window;
}

function schedSince(before: ThreadSched | undefined, after: ThreadSched | undefined): ThreadSched | undefined {
  return before && after ? { cpuS: after.cpuS - before.cpuS, slices: after.slices - before.slices } : undefined;
}

function mustReadCpu(pid: number): ProcCpu {
  const cpu = readCpu(pid);
  if (!cpu) throw new Error(`Cannot read /proc/${pid}/stat (not Linux, or the worker is gone).`);
  return cpu;
}

/** RSS of an idle bare Node process, and of one with tsx's loader registered, for scale. */
async function baselineRss(): Promise<{ nodeMb: number | undefined; tsxMb: number | undefined }> {
  const idle = 'setInterval(() => {}, 1 << 30);';
  const measure = async (args: string[]) => {
    // cwd: the repository, so `tsx` resolves from its node_modules.
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: 'ignore' });
    await sleep(1500);
    const rss = child.pid === undefined ? undefined : readRssMb(child.pid);
    child.kill('SIGKILL');
    return rss;
  };
  return {
    nodeMb: await measure(['-e', idle]),
    tsxMb: await measure(['--input-type=module', '-e', `import { register } from 'tsx/esm/api'; register(); ${idle}`]),
  };
}

function report(window: Window, baselines: { nodeMb: number | undefined; tsxMb: number | undefined }, context: BenchContext): SectionReport {
  const pct = (seconds: number) => (seconds / window.wallS) * 100;
  const totalCpuS = window.workerCpuS + window.engine.cpuS + window.helpers.cpuS;
  const rssMax = Math.max(...window.totalRssMb);
  const rssMean = mean(window.totalRssMb);
  const samples = window.totalRssMb.length;
  const { engine, helpers, bare } = window;
  const perWakeMs = (main: ThreadSched | undefined) => (main?.slices ? ((1000 * main.cpuS) / main.slices).toFixed(2) : 'n/a');
  const engineState = window.enginePid === undefined ? 'none reported' : engine.aliveSamples === 0 ? `pid ${window.enginePid} gone: ended on pause` : `pid ${window.enginePid} ALIVE in ${engine.aliveSamples}/${samples} samples`;
  const helperNames = helpers.names.size ? [...helpers.names].join(', ') : 'none caught alive';
  const mb = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(1));
  const cpu = (seconds: number, digits = 2) => [seconds.toFixed(digits), pct(seconds).toFixed(digits + 1)];
  const cpuOk = pct(totalCpuS) <= TARGET_CPU_PCT;
  const table: Table = {
    title: `idle: 'silkworm worker --share off --threads ${context.settings.threads}' in its own process; ${WINDOW_S} s, after it connected and ${SETTLE_S} s settling`,
    columns: ['process', 'RSS max MB', 'RSS mean MB', 'CPU s', 'CPU % of a core', 'target'],
    rows: [
      [`headless worker (bin/silkworm.mjs; its main thread woke ${window.workerMain?.slices ?? 'n/a'} times)`, mb(Math.max(...window.workerRssMb)), mb(mean(window.workerRssMb)), ...cpu(window.workerCpuS), ''],
      [`job process (${engineState})`, engine.aliveSamples ? mb(engine.rssMaxMb) : '0', '-', ...cpu(engine.cpuS), ''],
      [`helper programs it ran (alive in ${helpers.aliveSamples}/${samples} samples: ${helperNames})`, helpers.aliveSamples ? mb(helpers.rssMaxMb) : '-', '-', ...cpu(helpers.cpuS), ''],
      ['headless core, total', mb(rssMax), mb(rssMean), ...cpu(totalCpuS), `≤ ${TARGET_RSS_MB} MB → ${verdict(rssMax <= TARGET_RSS_MB)}; ≤ ${TARGET_CPU_PCT} % → ${verdict(cpuOk)}`],
      ['for scale: bare Node, idle', mb(baselines.nodeMb), '-', '-', '-', ''],
      [`for scale: bare Node doing nothing every ${DEFAULT_HEARTBEAT_MS / 1000} s (the idle heartbeat's period; woke ${bare?.slices ?? 'n/a'} times), same window, main thread`, '-', '-', ...(bare ? cpu(bare.cpuS, 3) : ['n/a', 'n/a']), ''],
      ["for scale: Node with tsx's loader registered, idle", mb(baselines.tsxMb), '-', '-', '-', ''],
    ],
    notes: [
      'RSS: VmRSS from /proc/PID/status once a second (MB = MiB), total = the worker + every live process below it; CPU: Δ(utime+stime) from /proc/PID/stat over the window ÷ wall time',
      "helper programs: processes below the worker other than the job process; their CPU = Δ(cutime+cstime) of the worker (children it reaped) + those alive at the end",
      'bin/silkworm.mjs runs dist/node (compiled JavaScript) when it is newer than every source, else the sources through tsx (~30 MB more); Node runs with the --max-semi-space-size flag of its first line',
      ...(helpers.names.has('esbuild') ? ["esbuild is tsx's compiler service: it starts when tsx's on-disk cache misses (sources changed since the last run) and stays alive"] : []),
      'with sharing off the worker still starts a job process and loads the model at start, then pauses and ends it',
      'with sharing Off the sharing controller reads no probes (a viewer refreshes stale readings); the window starts 5 s after joining, so the pause that ends the job process falls inside it',
      `CPU time is the processes' own, not much disturbed by other load; load average ${describeLoad()} after the section`,
      `main thread's CPU per wake-up (/proc/PID/task/PID/schedstat: ns on the CPU ÷ time slices): worker ${perWakeMs(window.workerMain)} ms, bare Node ${perWakeMs(bare)} ms`,
      `app: skipped — ${electronState()} (no figure)`,
    ],
  };
  return {
    tables: [table],
    results: {
      idle_rss_mb: round(rssMax, 1),
      idle_rss_mean_mb: round(rssMean, 1),
      idle_cpu_pct: round(pct(totalCpuS), 3),
      idle_cpu_worker_pct: round(pct(window.workerCpuS), 3),
      idle_cpu_helpers_pct: round(pct(helpers.cpuS), 3),
      idle_job_process_alive: engine.aliveSamples > 0,
      idle_worker_wakes: window.workerMain?.slices ?? null,
      idle_cpu_bare_wake_pct: bare ? round(pct(bare.cpuS), 4) : null,
      idle_bare_wakes: bare?.slices ?? null,
      idle_rss_node_baseline_mb: baselines.nodeMb === undefined ? null : round(baselines.nodeMb, 1),
      idle_rss_tsx_baseline_mb: baselines.tsxMb === undefined ? null : round(baselines.tsxMb, 1),
      idle_app: 'skipped',
    },
  };
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Why the Electron app is not measured here. */
function electronState(): string {
  const binary = existsSync(fileURLToPath(new URL('../node_modules/electron/path.txt', import.meta.url)));
  return binary ? 'the Electron app is not measured by this bench yet' : 'Electron binary not installed';
}

function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}
