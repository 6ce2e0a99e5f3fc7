/**
 * Section `coordinator`: one coordinator process under load, measured alone. It runs as its own
 * `silkworm coordinator` process; thousands of simulated workers (load-workers-process.ts) join
 * it from several generator processes over the real worker protocol, and client processes
 * (load-clients-process.ts) open many concurrent streams through it. Reported:
 * - coord_workers: simulated workers held with every heartbeat ping on time over the hold window;
 * - coord_rss_kb_per_worker: the coordinator's resident memory per held worker;
 * - coord_stream_p99_added_ms: p99 of a chunk's worker-send → client-read time with many
 *   concurrent streams, minus the same with a few streams, per interleaved round (median, spread).
 * SILKWORM_BENCH_COORD_NODE_ARGS passes node flags to the coordinator (--cpu-prof, --trace-gc);
 * SILKWORM_BENCH_COORD_LOG names a file that receives its standard output.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoadWorkersCommand, LoadWorkersReport } from './load-workers-process.js';
import type { LoadClientsCommand, LoadClientsReport } from './load-clients-process.js';
import { readCpu, readRssMb } from './proc.js';
import { quantile, median, range, round, spread } from './stats.js';
import type { Section, SectionReport } from './section.js';
import type { Table } from './table.js';
import { silkwormArgs } from './silkworm-command.js';

/** How the load is shaped; the defaults are what `npm run bench` reports. */
export interface CoordinatorLoadOptions {
  /** Simulated workers to hold (the goal is 10,000; one process tops out near 19,900 sockets). */
  workers: number;
  /** Generator processes the workers are spread over. */
  workerProcesses: number;
  /** Concurrent client streams of a loaded round. */
  streams: number;
  /** Client streams of a baseline round (the coordinator otherwise idle but for its workers). */
  baselineStreams: number;
  clientProcesses: number;
  /** Chunks each simulated worker streams per job, and the time between them. */
  chunks: number;
  chunkIntervalMs: number;
  /** Streams of a round start at random moments within this window, as clients arrive. */
  arrivalSpreadMs: number;
  /**
   * The saturating load, measured too: `streams` streams all started at once, a chunk every this
   * many ms (more chunks per second than this machine's cores can carry through every process).
   */
  saturatedIntervalMs: number;
  /** Paired rounds (baseline, loaded), interleaved. */
  rounds: number;
  /** How long the held workers are watched for late heartbeats. */
  holdMs: number;
  /** Extra node flags for the coordinator (e.g. --cpu-prof) from SILKWORM_BENCH_COORD_NODE_ARGS. */
  coordinatorNodeArgs: string[];
  /** Extra `silkworm coordinator` options (e.g. --heartbeat-interval 5) from SILKWORM_BENCH_COORD_ARGS. */
  coordinatorArgs: string[];
}

export const WORKERS_PROCESS = fileURLToPath(new URL('./load-workers-process.ts', import.meta.url));
export const CLIENTS_PROCESS = fileURLToPath(new URL('./load-clients-process.ts', import.meta.url));
export const API_KEY = 'load-bench-key';
export const MODEL = 'load-sim';

/** The default load: what the issue asks (≥ 10,000 workers, 1,000 streams). */
export const DEFAULT_COORDINATOR_LOAD: CoordinatorLoadOptions = {
  workers: 12_000,
  workerProcesses: 3,
  streams: 1000,
  baselineStreams: 10,
  clientProcesses: 2,
  chunks: 20,
  chunkIntervalMs: 500,
  arrivalSpreadMs: 500,
  saturatedIntervalMs: 100,
  rounds: 3,
  // Three idle heartbeat intervals at the default 15 s: every worker hears at least two gaps.
  holdMs: 45_000,
  coordinatorNodeArgs: (process.env.SILKWORM_BENCH_COORD_NODE_ARGS ?? '').split(' ').filter(Boolean),
  coordinatorArgs: (process.env.SILKWORM_BENCH_COORD_ARGS ?? '').split(' ').filter(Boolean),
};

/** A forked child spoken to over IPC: send a command, await the next reply of a type. */
export class Child<Command, Reply extends { type: string }> {
  private readonly waiters: { type: string; resolve: (reply: Reply) => void }[] = [];
  readonly exited: Promise<void>;

  constructor(readonly process: ChildProcess) {
    process.on('message', (reply: Reply) => {
      const at = this.waiters.findIndex((w) => w.type === reply.type);
      if (at >= 0) this.waiters.splice(at, 1)[0]?.resolve(reply);
    });
    this.exited = new Promise((resolve) => process.once('exit', () => resolve()));
  }

  static fork<C, R extends { type: string }>(file: string): Child<C, R> {
    return new Child<C, R>(fork(file, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  ask<T extends Reply['type']>(command: Command, type: T): Promise<Extract<Reply, { type: T }>> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ type, resolve: resolve as (reply: Reply) => void });
      void this.exited.then(() => reject(new Error(`a load process exited before answering '${type}'`)));
      this.process.send(command as object);
    });
  }

  tell(command: Command): void {
    this.process.send(command as object);
  }

  async stop(stop: Command): Promise<void> {
    if (this.process.connected) this.process.send(stop as object);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Credits balances on a metered coordinator under test (POST /v1/admin/deposits). */
export const ADMIN_KEY = 'load-bench-admin-key';

/**
 * The coordinator under test, in a process of its own: unmetered, unless `metered` (then API_KEY's
 * client pays from a balance, which ADMIN_KEY credits, and every request takes a hold first).
 */
export async function startCoordinatorProcess(dataDir: string, nodeArgs: string[], extraArgs: string[] = [], metered = false): Promise<{ child: ChildProcess; url: string; exited: Promise<void> }> {
  const billing = metered ? ['--admin-key', ADMIN_KEY] : ['--unmetered'];
  const child = spawn(process.execPath, silkwormArgs(['coordinator', '--listen', '127.0.0.1:0', '--data', dataDir, '--api-key', API_KEY, ...billing, ...extraArgs], nodeArgs), {
    env: { ...process.env, SILKWORM_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    // Every line is read (the pipe must not fill); only the ready line matters here.
    const keep = process.env.SILKWORM_BENCH_COORD_LOG ? createWriteStream(process.env.SILKWORM_BENCH_COORD_LOG) : undefined;
    lines.on('line', (text) => {
      keep?.write(`${text}\n`);
      if (!text.includes('"coordinator ready"')) return;
      resolve(String((JSON.parse(text) as { url: string }).url));
    });
    void exited.then(() => reject(new Error('the coordinator exited before it was ready')));
  });
  return { child, url, exited };
}

/** The coordinator's own count of connected workers; a few tries, as a loaded one may be slow to accept. */
async function healthWorkers(url: string): Promise<number> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(30_000) });
      return ((await response.json()) as { workers: number }).workers;
    } catch (error) {
      last = error;
    }
  }
  const cause = last instanceof Error && last.cause instanceof Error ? `: ${last.cause.message}` : '';
  throw new Error(`GET /healthz failed${cause}`, { cause: last });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one round of `streams` concurrent streams spread over the client processes. */
async function streamRound(
  generators: Child<LoadWorkersCommand, LoadWorkersReport>[],
  clients: Child<LoadClientsCommand, LoadClientsReport>[],
  url: string,
  load: { streams: number; chunkIntervalMs: number; spreadMs: number },
  options: CoordinatorLoadOptions,
  pids: { coordinator: number; generators: number[]; clients: number[] },
) {
  const streams = load.streams;
  for (const g of generators) g.tell({ type: 'pace', chunkIntervalMs: load.chunkIntervalMs });
  const cpuOf = (list: number[]) => list.reduce((s, pid) => s + (readCpu(pid)?.selfS ?? 0), 0);
  const cpuBefore = { coordinator: cpuOf([pids.coordinator]), generators: cpuOf(pids.generators), clients: cpuOf(pids.clients) };
  const share = (i: number) => Math.floor(streams / clients.length) + (i < streams % clients.length ? 1 : 0);
  const used = clients.filter((_, i) => share(i) > 0);
  const reports = await Promise.all(used.map((c, i) => c.ask({ type: 'run', url, apiKey: API_KEY, model: MODEL, streams: share(i), maxTokens: options.chunks + 8, spreadMs: load.spreadMs }, 'done')));
  const latencies = reports.flatMap((r) => r.latenciesMs);
  const steady = reports.flatMap((r) => r.steadyLatenciesMs);
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  const firstError = reports.find((r) => r.firstError)?.firstError;
  // CPU µs per chunk of each kind of process on the path (the same 2 cores serve them all).
  const perChunk = (after: number, before: number) => (1e6 * (after - before)) / Math.max(1, latencies.length);
  const cpuUsPerChunk = { coordinator: perChunk(cpuOf([pids.coordinator]), cpuBefore.coordinator), generators: perChunk(cpuOf(pids.generators), cpuBefore.generators), clients: perChunk(cpuOf(pids.clients), cpuBefore.clients) };
  return { cpuUsPerChunk, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), steadyP99: quantile(steady, 0.99), max: quantile(latencies, 1), chunks: latencies.length, failed, firstError };
}

/** Measures one coordinator under the given load. */
export async function runCoordinatorLoad(options: CoordinatorLoadOptions): Promise<SectionReport> {
  const dataDir = await mkdtemp(join(tmpdir(), 'silkworm-coord-load-'));
  const coordinator = await startCoordinatorProcess(dataDir, options.coordinatorNodeArgs, options.coordinatorArgs);
  const pid = coordinator.child.pid ?? 0;
  const generators: Child<LoadWorkersCommand, LoadWorkersReport>[] = [];
  const clients: Child<LoadClientsCommand, LoadClientsReport>[] = [];
  try {
    for (let i = 0; i < options.workerProcesses; i++) generators.push(Child.fork(WORKERS_PROCESS));
    for (let i = 0; i < options.clientProcesses; i++) clients.push(Child.fork(CLIENTS_PROCESS));
    const per = Math.ceil(options.workers / options.workerProcesses);
    const shareOf = (i: number) => Math.max(0, Math.min(per, options.workers - i * per));
    // A first tenth joins before the memory baseline, so start-up garbage is not counted per worker.
    const firstPart = (i: number) => Math.ceil(shareOf(i) / 10);
    const connect = (g: Child<LoadWorkersCommand, LoadWorkersReport>, i: number, first: boolean) =>
      g.ask({ type: 'connect', url: coordinator.url, count: first ? firstPart(i) : shareOf(i) - firstPart(i), firstIndex: i * per + (first ? 0 : firstPart(i)), model: MODEL, chunks: options.chunks, chunkIntervalMs: options.chunkIntervalMs, concurrency: 64 }, 'connected');
    const warm = await Promise.all(generators.map((g, i) => connect(g, i, true)));
    await sleep(2000);
    const rssBaseMb = readRssMb(pid) ?? Number.NaN;
    const warmWelcomed = warm.reduce((n, r) => (r.type === 'connected' ? n + r.welcomed : n), 0);
    const joinStarted = performance.now();
    const cpuBeforeJoin = readCpu(pid)?.selfS ?? 0;
    const joined = await Promise.all(generators.map((g, i) => connect(g, i, false)));
    const joinMs = performance.now() - joinStarted;
    const joinCpuS = (readCpu(pid)?.selfS ?? 0) - cpuBeforeJoin;
    const welcomed = joined.reduce((n, r) => (r.type === 'connected' ? n + r.welcomed : n), 0);
    const joinFailed = [...warm, ...joined].reduce((n, r) => (r.type === 'connected' ? n + r.failed : n), 0);
    const joinError = [...warm, ...joined].find((r) => r.type === 'connected' && r.firstError);

    // The hold window: every held worker should hear a ping every heartbeat interval.
    for (const g of generators) g.tell({ type: 'window' });
    const cpuBeforeHold = readCpu(pid)?.selfS ?? 0;
    await sleep(options.holdMs);
    const holdCpuPct = (100 * ((readCpu(pid)?.selfS ?? 0) - cpuBeforeHold)) / (options.holdMs / 1000);
    const held = await Promise.all(generators.map((g) => g.ask({ type: 'report' }, 'report')));
    const rssHeldMb = readRssMb(pid) ?? Number.NaN;
    const coordinatorCount = await healthWorkers(coordinator.url);
    const sum = (key: 'open' | 'onTime' | 'closes') => held.reduce((n, r) => (r.type === 'report' ? n + r[key] : n), 0);
    const maxGapMs = Math.max(...held.map((r) => (r.type === 'report' ? r.maxGapMs : 0)));
    const onTime = Math.min(sum('onTime'), coordinatorCount);
    const rssPerWorkerKb = ((rssHeldMb - rssBaseMb) * 1024) / Math.max(1, sum('open') - warmWelcomed);

    // Interleaved rounds on the same held fleet: a few streams (baseline), then many arriving as
    // clients do, then many at once at a rate this machine cannot carry (the saturated figure).
    const added: number[] = [];
    const steadyAdded: number[] = [];
    const saturatedAdded: number[] = [];
    const baseP99: number[] = [];
    const loadP99: number[] = [];
    const loadP50: number[] = [];
    const saturatedP99: number[] = [];
    const failures: string[] = [];
    let streamFailed = 0;
    const pids = { coordinator: pid, generators: generators.map((g) => g.process.pid ?? 0), clients: clients.map((c) => c.process.pid ?? 0) };
    const cpu = { coordinator: [] as number[], generators: [] as number[], clients: [] as number[] };
    const satCpu = { coordinator: [] as number[], generators: [] as number[], clients: [] as number[] };
    const paced = { chunkIntervalMs: options.chunkIntervalMs, spreadMs: options.arrivalSpreadMs };
    for (let r = 0; r < options.rounds; r++) {
      const base = await streamRound(generators, clients, coordinator.url, { streams: options.baselineStreams, ...paced }, options, pids);
      const loaded = await streamRound(generators, clients, coordinator.url, { streams: options.streams, ...paced }, options, pids);
      const saturated = await streamRound(generators, clients, coordinator.url, { streams: options.streams, chunkIntervalMs: options.saturatedIntervalMs, spreadMs: 0 }, options, pids);
      for (const key of ['coordinator', 'generators', 'clients'] as const) {
        cpu[key].push(loaded.cpuUsPerChunk[key]);
        satCpu[key].push(saturated.cpuUsPerChunk[key]);
      }
      streamFailed += base.failed + loaded.failed + saturated.failed;
      for (const e of [base.firstError, loaded.firstError, saturated.firstError]) if (e) failures.push(e);
      baseP99.push(base.p99);
      loadP99.push(loaded.p99);
      loadP50.push(loaded.p50);
      saturatedP99.push(saturated.p99);
      added.push(loaded.p99 - base.p99);
      steadyAdded.push(loaded.steadyP99 - base.steadyP99);
      saturatedAdded.push(saturated.p99 - base.p99);
    }
    const rssAfterStreamsMb = readRssMb(pid) ?? Number.NaN;

    const tables: Table[] = [
      {
        title: `Coordinator load — ${options.workers} simulated workers from ${options.workerProcesses} processes; streams of ${options.chunks} chunks every ${options.chunkIntervalMs} ms, arriving over ${options.arrivalSpreadMs} ms`,
        columns: ['figure', 'value'],
        rows: [
          ['workers welcomed / failed to join', `${welcomed} / ${joinFailed}${joinError?.type === 'connected' && joinError.firstError ? ` (${joinError.firstError})` : ''}`],
          [`join of the last ${welcomed - warmWelcomed}: wall time, coordinator CPU`, `${(joinMs / 1000).toFixed(1)} s, ${joinCpuS.toFixed(1)} CPU s (${((1000 * joinCpuS) / Math.max(1, welcomed - warmWelcomed)).toFixed(2)} ms each)`],
          [`held with every ping on time over ${options.holdMs / 1000} s (coord_workers)`, `${onTime} (coordinator counts ${coordinatorCount}; dropped ${sum('closes')}; largest ping gap ${maxGapMs} ms)`],
          ['coordinator CPU while holding', `${holdCpuPct.toFixed(1)} %`],
          [`coordinator RSS: ${warmWelcomed} held → all held → after streams`, `${rssBaseMb.toFixed(0)} → ${rssHeldMb.toFixed(0)} → ${rssAfterStreamsMb.toFixed(0)} MiB`],
          ['RSS per held worker (coord_rss_kb_per_worker)', `${rssPerWorkerKb.toFixed(1)} KiB`],
          [`chunk p99, ${options.baselineStreams} streams (baseline), ms`, spread(baseP99)],
          [`chunk p50 / p99, ${options.streams} streams, ms`, `${spread(loadP50)} / ${spread(loadP99)}`],
          [`p99 added by ${options.streams} streams (coord_stream_p99_added_ms), ms`, `${spread(added)} over ${options.rounds} rounds`],
          [`… counting only each stream's chunks after its first 5 (coord_stream_p99_added_steady_ms), ms`, spread(steadyAdded)],
          [`CPU µs per chunk: coordinator (coord_stream_cpu_us_per_chunk) / simulated workers / clients`, `${spread(cpu.coordinator)} / ${spread(cpu.generators)} / ${spread(cpu.clients)}`],
          [`saturated: ${options.streams} streams at once, a chunk every ${options.saturatedIntervalMs} ms: p99 / added (coord_stream_p99_added_saturated_ms), ms`, `${spread(saturatedP99)} / ${spread(saturatedAdded)}`],
          [`… CPU µs per chunk there: coordinator / simulated workers / clients`, `${spread(satCpu.coordinator)} / ${spread(satCpu.generators)} / ${spread(satCpu.clients)}`],
          ['failed streams', `${streamFailed}${failures[0] ? ` (${failures[0]})` : ''}`],
        ],
      },
    ];
    const { min, max } = range(added);
    return {
      tables,
      results: {
        coord_workers: onTime,
        coord_workers_target: options.workers,
        coord_rss_kb_per_worker: round(rssPerWorkerKb, 1),
        coord_join_s: round(joinMs / 1000, 1),
        coord_hold_cpu_pct: round(holdCpuPct, 1),
        coord_stream_p99_added_ms: round(median(added), 1),
        coord_stream_p99_added_min_ms: round(min, 1),
        coord_stream_p99_added_max_ms: round(max, 1),
        coord_stream_p99_added_steady_ms: round(median(steadyAdded), 1),
        coord_stream_p99_base_ms: round(median(baseP99), 1),
        coord_stream_p99_loaded_ms: round(median(loadP99), 1),
        coord_stream_cpu_us_per_chunk: round(median(cpu.coordinator), 1),
        coord_stream_load_cpu_us_per_chunk: round(median(cpu.generators) + median(cpu.clients), 1),
        coord_stream_p99_added_saturated_ms: round(median(saturatedAdded), 1),
        coord_stream_chunks_per_s: Math.round((options.streams * 1000) / options.chunkIntervalMs),
        coord_streams: options.streams,
        coord_stream_failures: streamFailed,
      },
    };
  } finally {
    await Promise.all([...generators.map((g) => g.stop({ type: 'stop' })), ...clients.map((c) => c.stop({ type: 'stop' }))]);
    coordinator.child.kill('SIGTERM');
    const timer = setTimeout(() => coordinator.child.kill('SIGKILL'), 10_000);
    await coordinator.exited;
    clearTimeout(timer);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The `coordinator` section with the given load. */
export function coordinatorLoadSection(options: CoordinatorLoadOptions = DEFAULT_COORDINATOR_LOAD): Section {
  return {
    name: 'coordinator',
    summary: 'one coordinator process: simulated workers held, RSS per worker, chunk latency added by 1,000 streams',
    run: () => runCoordinatorLoad(options),
  };
}
