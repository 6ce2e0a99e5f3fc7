/**
 * Section `scaleout`: requests per second of two coordinator instances sharing PostgreSQL and a
 * NATS bus, against one instance on its SQLite file, under the same load. The setups run side
 * by side on this machine; each round runs them in turn, starting with the next one. Each round sends `requests`
 * short streamed requests at once (half to each instance in the pair), served by simulated
 * workers speaking the real protocol (half connected to each instance, so routing crosses the
 * bus), and counts requests completed per second of wall time.
 *
 * Reported: scaleout_ratio (pair ÷ single requests/s, median of the rounds, with the spread) and
 * scaleout_cpu_ratio: CPU per request of every server process of the pair (both instances,
 * PostgreSQL with its backends, nats-server) ÷ that of the single instance. On one 2-core
 * machine the pair shares the same cores, so the wall ratio says what the extra hops cost, not
 * what a second machine would add. A third setup in the same rounds, one instance on
 * PostgreSQL without a bus holding as many workers as the single one, tells the store's part
 * from the rest (scaleout_store_ratio, scaleout_store_cpu_ratio: it ÷ the single instance).
 * SILKWORM_BENCH_SCALEOUT_REQUESTS=N changes the requests of a round (default 400), to see how
 * an instance's CPU per request moves with its load.
 *
 * Then the same rounds with each instance under its own CPU cap (a cgroup; 0.25 of a core by
 * default, SILKWORM_BENCH_SCALEOUT_CAP=x for another share), as if each instance ran on a
 * machine of that size while PostgreSQL, NATS and the load run outside the caps: what the
 * second instance adds when instances do not share their cores (scaleout_capped_ratio, and
 * scaleout_capped_steady_ratio over the part of each round in which every client still waits, so
 * that every instance has work). Where the bench may not make cgroups (no root), it says why
 * and reports no capped figure.
 *
 * Then the time of one request, with the machine otherwise idle: requests sent one after another
 * (the simulated workers stream their chunks without pause), to the single instance, to the
 * instance on PostgreSQL without a bus, to the pair (half to each instance), and to a third
 * instance of the pair that has no worker of its own, so that every job crosses the bus. Reported
 * as scaleout_store_latency_ratio (PostgreSQL, no bus ÷ single: the store's part),
 * scaleout_latency_ratio (pair ÷ single, median request time) and scaleout_relayed_latency_ratio
 * (through the bus ÷ single), with their spread.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { LoadWorkersCommand, LoadWorkersReport } from './load-workers-process.js';
import type { LoadClientsCommand, LoadClientsReport } from './load-clients-process.js';
import { ADMIN_KEY, API_KEY, Child, CLIENTS_PROCESS, MODEL, startCoordinatorProcess, WORKERS_PROCESS } from './coordinator-load.js';
import { clientIdForKey } from '../network/coordinator/server.js';
import { readCpu, readMachineTicks, treeCpuSeconds } from './proc.js';
import { median, round, spread } from './stats.js';
import { describeSpread, interleavedRounds, spreadResults, summarize, type RatioSummary } from './rounds.js';
import { createCpuCaps, type CpuCap } from './cpu-cap.js';
import { missingBinary, startNats, startPostgres, type TestEngine } from '../network/node-kit/test-engines.js';
import type { ResultValue, Section, SectionReport } from './section.js';
import type { Table } from './table.js';

/** The load of one round; the defaults are what `npm run bench` reports. */
export interface ScaleoutOptions {
  workers: number;
  requests: number;
  chunks: number;
  chunkIntervalMs: number;
  rounds: number;
}

export const DEFAULT_SCALEOUT: ScaleoutOptions = { workers: 200, requests: 400, chunks: 4, chunkIntervalMs: 5, rounds: 9 };

/** Default CPU cap of each instance in the capped rounds, in cores (SILKWORM_BENCH_SCALEOUT_CAP). */
const DEFAULT_CAP_CORES = 0.25;

/** Requests a setup sends one after another in each round of the latency phase. */
const LATENCY_REQUESTS = 24;

type Workers = Child<LoadWorkersCommand, LoadWorkersReport>;
type Clients = Child<LoadClientsCommand, LoadClientsReport>;

interface Setup {
  name: ThroughputArm;
  urls: string[];
  /** CPU seconds used so far by every server process a request costs, by part. */
  parts: Record<string, () => number>;
  /** The load's processes: the clients and the simulated workers of this setup (not in the server's figures). */
  load: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds used so far by these processes. */
function cpuOf(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (readCpu(pid)?.selfS ?? 0), 0);
}

/** Waits until every URL routes over `workers` workers (its own, and the other instance's through the bus). */
async function waitForWorkers(urls: string[], workers: number, clustered: boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const seen = await Promise.all(urls.map(async (url) => ((await (await fetch(`${url}/healthz`)).json()) as { workers: number; cluster?: { workers: number } })));
    if (seen.every((h) => (clustered ? h.cluster?.workers : h.workers) === workers)) return;
    if (Date.now() > deadline) throw new Error(`the coordinators never saw all ${workers} workers: ${JSON.stringify(seen)}`);
    await sleep(200);
  }
}

/** Job offers the instances sent so far, by where the worker was connected (their /metrics). */
async function dispatches(urls: string[]): Promise<{ here: number; other: number }> {
  const sent = { here: 0, other: 0 };
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const [, where, count] of text.matchAll(/^silkworm_jobs_dispatched_total\{worker_on="(\w+)"\} (\d+)$/gm)) {
      if (where === 'this_instance') sent.here += Number(count);
      else sent.other += Number(count);
    }
  }
  return sent;
}

/** One round: `requests` concurrent streams spread over the setup's instances; requests/s and CPU per request. */
async function round1(setup: Setup, clients: Clients[], options: ScaleoutOptions) {
  const per = Math.ceil(options.requests / clients.length);
  const parts = Object.entries(setup.parts);
  const before = parts.map(([, cpuS]) => cpuS());
  const loadBefore = cpuOf(setup.load);
  const machineBefore = readMachineTicks();
  const started = performance.now();
  const reports = await Promise.all(clients.map((c, i) => c.ask({ type: 'run', url: setup.urls[i % setup.urls.length] ?? '', apiKey: API_KEY, model: MODEL, streams: per, maxTokens: options.chunks + 8, spreadMs: 0 }, 'done')));
  const seconds = (performance.now() - started) / 1000;
  const machineAfter = readMachineTicks();
  const machineBusy = machineBefore && machineAfter ? (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total) : Number.NaN;
  const completed = reports.reduce((n, r) => n + r.completed, 0);
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  const partUs = Object.fromEntries(parts.map(([name, cpuS], i) => [name, (1e6 * (cpuS() - (before[i] ?? 0))) / Math.max(1, completed)]));
  const cpuUsPerRequest = Object.values(partUs).reduce((a, b) => a + b, 0);
  const loadUs = (1e6 * (cpuOf(setup.load) - loadBefore)) / Math.max(1, completed);
  // While every client still waits for a request, every instance has work: the rate then is the
  // setups' own, without the end of a round where one instance has finished its share (all of
  // a round's requests are sent at once, so a request's time is when it ended).
  const allWaitingMs = Math.min(...reports.map((r) => r.requestMs.at(-1) ?? 0));
  const inWindow = reports.reduce((n, r) => n + r.requestMs.filter((ms) => ms <= allWaitingMs).length, 0);
  const steadyRequestsPerSecond = allWaitingMs > 0 ? (1000 * inWindow) / allWaitingMs : Number.NaN;
  return { requestsPerSecond: completed / seconds, steadyRequestsPerSecond, cpuUsPerRequest, partUs, loadUs, machineBusy, failed, firstError: reports.find((r) => r.firstError)?.firstError };
}

const THROUGHPUT_ARMS = ['single', 'pair', 'store'] as const;
type ThroughputArm = (typeof THROUGHPUT_ARMS)[number];
const LATENCY_ARMS = ['single', 'store', 'pair', 'relayed'] as const;
type LatencyArm = (typeof LATENCY_ARMS)[number];

/** One setup's requests of a latency round, one at a time over its URLs in turn: median request and first-chunk times. */
async function latencyRound(urls: string[], client: Clients, options: ScaleoutOptions) {
  const requestMs: number[] = [];
  const firstChunkMs: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const per = Math.ceil(LATENCY_REQUESTS / urls.length);
  for (const url of urls) {
    const report = await client.ask({ type: 'run', url, apiKey: API_KEY, model: MODEL, streams: per, maxTokens: options.chunks + 8, spreadMs: 0, oneAtATime: true }, 'done');
    requestMs.push(...report.requestMs);
    firstChunkMs.push(...report.firstChunkMs);
    failed += report.failed;
    firstError ??= report.firstError;
  }
  return { requestMs: median(requestMs), firstChunkMs: median(firstChunkMs), failed, firstError };
}

type RoundResult = Awaited<ReturnType<typeof round1>>;

/** The capped rounds' samples, or why there are none. */
type Capped =
  | {
      /** Each instance's cap, in cores. */
      cores: number;
      rounds: Array<Record<ThroughputArm, RoundResult>>;
      /** Share of its instances' caps each setup used in each round (1 = every instance at its cap all round). */
      budgetUsed: Record<ThroughputArm, number[]>;
      /** CFS periods in which a cap held an instance back, per setup. */
      throttled: Record<ThroughputArm, number>;
    }
  | { cores: number; skipped: string };

/**
 * Puts each instance of each setup under its own cap of `cores`, runs interleaved rounds of the
 * setups, and takes the caps off again.
 */
async function cappedRounds(cores: number, pids: Record<ThroughputArm, number[]>, runOne: (arm: ThroughputArm) => Promise<RoundResult>, count: number): Promise<Capped> {
  const arms = Object.keys(pids) as ThroughputArm[];
  const made = createCpuCaps(
    arms.flatMap((arm) => pids[arm].map((_, i) => `${arm}-${i}`)),
    cores,
  );
  if (typeof made === 'string') return { cores, skipped: made };
  try {
    const capsOf = {} as Record<ThroughputArm, CpuCap[]>;
    let next = 0;
    for (const arm of arms) {
      capsOf[arm] = pids[arm].map((pid) => {
        const cap = made[next++] as CpuCap;
        cap.add(pid);
        return cap;
      });
    }
    const throttled = (arm: ThroughputArm) => capsOf[arm].reduce((n, cap) => n + cap.throttled(), 0);
    for (const arm of arms) await runOne(arm); // one unmeasured round each under the caps
    const throttledBefore = arms.map(throttled);
    const rounds = await interleavedRounds(count, arms, runOne);
    const each = <T>(figure: (arm: ThroughputArm, i: number) => T) => Object.fromEntries(arms.map((arm, i) => [arm, figure(arm, i)])) as Record<ThroughputArm, T>;
    const capCores = made[0]?.cores ?? cores;
    return {
      cores: capCores,
      rounds,
      budgetUsed: each((arm) => rounds.map((r) => ((r[arm].partUs.instances ?? 0) * r[arm].requestsPerSecond) / 1e6 / (capCores * pids[arm].length))),
      throttled: each((arm, i) => throttled(arm) - (throttledBefore[i] ?? 0)),
    };
  } finally {
    for (const cap of made) cap.release();
  }
}

/** The capped rounds' table and figures. */
function reportCapped(capped: Exclude<Capped, { skipped: string }>, options: ScaleoutOptions): { table: Table; results: Record<string, ResultValue> } {
  const of = (arm: ThroughputArm, figure: (r: RoundResult) => number) => capped.rounds.map((r) => figure(r[arm]));
  const ratio = (arm: ThroughputArm, base: ThroughputArm, figure: (r: RoundResult) => number) => summarize(capped.rounds.map((r) => figure(r[arm]) / figure(r[base])));
  const whole = (r: RoundResult) => r.requestsPerSecond;
  const steady = (r: RoundResult) => r.steadyRequestsPerSecond;
  const figures = {
    pair: ratio('pair', 'single', whole),
    store: ratio('store', 'single', whole),
    pairSteady: ratio('pair', 'single', steady),
    storeSteady: ratio('store', 'single', steady),
    pairStore: ratio('pair', 'store', whole),
    pairStoreSteady: ratio('pair', 'store', steady),
    cpu: ratio('pair', 'single', (r) => r.cpuUsPerRequest),
  };
  const row = (figure: string, value: (arm: ThroughputArm) => string): string[] => [figure, ...THROUGHPUT_ARMS.map(value)];
  return {
    table: {
      title: `Scale-out — each instance capped at ${capped.cores} of a core (its own CPU cgroup), as if each ran on a machine of that size; PostgreSQL, NATS and the load run outside the caps; ${options.requests} requests a round, ${options.rounds} interleaved rounds`,
      columns: ['figure', 'single instance (SQLite)', '2 instances (PostgreSQL + NATS)', '1 instance on PostgreSQL, no bus'],
      rows: [
        row('requests/s, whole round', (arm) => spread(of(arm, whole))),
        row('requests/s while every client waits (every instance has work)', (arm) => spread(of(arm, steady))),
        row('server CPU µs per request (instances, postgres, nats)', (arm) => spread(of(arm, (r) => r.cpuUsPerRequest))),
        row("instances' CPU ÷ their caps", (arm) => spread(capped.budgetUsed[arm], 2)),
        row('CFS periods in which a cap held an instance back', (arm) => String(capped.throttled[arm])),
        row("the load's CPU µs per request (clients, simulated workers; not above)", (arm) => spread(of(arm, (r) => r.loadUs))),
        row("the machine's CPU busy (all processes ÷ all cores)", (arm) => spread(of(arm, (r) => r.machineBusy), 2)),
        ['÷ single, requests/s, whole round (scaleout_capped_ratio, scaleout_capped_store_ratio)', '', describeSpread(figures.pair), describeSpread(figures.store)],
        ['÷ single, requests/s while every client waits (…_steady_ratio)', '', describeSpread(figures.pairSteady), describeSpread(figures.storeSteady)],
        ['÷ single, server CPU per request (scaleout_capped_cpu_ratio)', '', describeSpread(figures.cpu), ''],
        ['pair ÷ 1 instance on PostgreSQL, whole round (scaleout_capped_pair_store_ratio)', '', describeSpread(figures.pairStore), ''],
        ['pair ÷ 1 instance on PostgreSQL, while every client waits (…_steady_ratio)', '', describeSpread(figures.pairStoreSteady), ''],
      ],
    },
    results: {
      ...spreadResults('scaleout_capped_ratio', figures.pair),
      ...spreadResults('scaleout_capped_steady_ratio', figures.pairSteady),
      ...spreadResults('scaleout_capped_cpu_ratio', figures.cpu),
      ...spreadResults('scaleout_capped_store_ratio', figures.store),
      ...spreadResults('scaleout_capped_store_steady_ratio', figures.storeSteady),
      ...spreadResults('scaleout_capped_pair_store_ratio', figures.pairStore),
      ...spreadResults('scaleout_capped_pair_store_steady_ratio', figures.pairStoreSteady),
      scaleout_capped_single_rps: round(median(of('single', whole)), 1),
      scaleout_capped_pair_rps: round(median(of('pair', whole)), 1),
      scaleout_capped_store_rps: round(median(of('store', whole)), 1),
    },
  };
}

/** Credits the bench's client on a metered coordinator. */
async function deposit(url: string): Promise<void> {
  const response = await fetch(`${url}/v1/admin/deposits`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client: clientIdForKey(API_KEY), nanotons: (10n ** 15n).toString(), reference: `bench-${url}` }),
  });
  if (response.status !== 201) throw new Error(`the deposit for the metered rounds failed: ${response.status} ${await response.text()}`);
}

export async function runScaleout(defaults: ScaleoutOptions): Promise<SectionReport> {
  const requests = Number(process.env.SILKWORM_BENCH_SCALEOUT_REQUESTS ?? defaults.requests);
  if (!Number.isInteger(requests) || requests < 2) throw new Error(`SILKWORM_BENCH_SCALEOUT_REQUESTS must be a whole number of at least 2, not ${process.env.SILKWORM_BENCH_SCALEOUT_REQUESTS}`);
  const options = { ...defaults, requests };
  const capCores = Number(process.env.SILKWORM_BENCH_SCALEOUT_CAP ?? DEFAULT_CAP_CORES);
  if (!(capCores > 0 && capCores <= 1)) throw new Error(`SILKWORM_BENCH_SCALEOUT_CAP must be a share of one core above 0 and at most 1, not ${process.env.SILKWORM_BENCH_SCALEOUT_CAP}`);
  // SILKWORM_BENCH_SCALEOUT_METERED=1: clients pay, so each request takes a hold before its offer
  // goes out and settles against it (the default rounds are unmetered: see docs/scale-out.md).
  const metered = process.env.SILKWORM_BENCH_SCALEOUT_METERED === '1';
  const missing = missingBinary('postgres') ?? missingBinary('nats-server');
  if (missing) {
    console.log(`scaleout: not measured — ${missing}`);
    return { tables: [], results: { scaleout_ratio: null, scaleout_cpu_ratio: null, scaleout_store_ratio: null, scaleout_store_cpu_ratio: null, scaleout_capped_ratio: null, scaleout_latency_ratio: null, scaleout_relayed_latency_ratio: null, scaleout_skipped: missing } };
  }
  const dirs: string[] = [];
  const coordinators: { child: ChildProcess; exited: Promise<void> }[] = [];
  const engines: TestEngine[] = [];
  const generators: Workers[] = [];
  const clients: Clients[] = [];
  try {
    // Durable commits on both sides: the single instance flushes SQLite to disk, PostgreSQL flushes its log.
    const [postgres, nats] = await Promise.all([startPostgres({ durable: true }), startNats()]);
    engines.push(postgres, nats);
    const start = async (extra: string[] = []) => {
      const dir = await mkdtemp(join(tmpdir(), 'silkworm-scaleout-'));
      dirs.push(dir);
      const started = await startCoordinatorProcess(dir, (process.env.SILKWORM_BENCH_COORD_NODE_ARGS ?? '').split(' ').filter(Boolean), extra, metered);
      coordinators.push(started);
      return started;
    };
    const single = await start();
    const shared = ['--store', postgres.url, '--bus', nats.url];
    const a = await start(shared);
    const b = await start(shared);
    // The same database as the pair (its workers are others, by index), no bus.
    const storeOnly = await start(['--store', postgres.url]);
    // Metered: one balance on each store (the pair's is shared), far above what the rounds spend.
    if (metered) await Promise.all([single.url, a.url].map((url) => deposit(url)));
    for (let i = 0; i < 4; i++) generators.push(Child.fork(WORKERS_PROCESS));
    for (let i = 0; i < 2; i++) clients.push(Child.fork(CLIENTS_PROCESS));
    const connect = (g: Workers, url: string, count: number, firstIndex: number) =>
      g.ask({ type: 'connect', url, count, firstIndex, model: MODEL, chunks: options.chunks, chunkIntervalMs: options.chunkIntervalMs, concurrency: 32 }, 'connected');
    const half = Math.floor(options.workers / 2);
    const [g0, g1, g2, g3] = generators as [Workers, Workers, Workers, Workers];
    await Promise.all([
      connect(g0, single.url, options.workers, 0),
      connect(g1, a.url, half, 0),
      connect(g2, b.url, options.workers - half, half),
      connect(g3, storeOnly.url, options.workers, options.workers),
    ]);
    await waitForWorkers([single.url, storeOnly.url], options.workers, false);
    await waitForWorkers([a.url, b.url], options.workers, true);

    const pid = (p: { child: ChildProcess } | { process: ChildProcess }) => ('child' in p ? p.child : p.process).pid ?? 0;
    const clientPids = clients.map(pid);
    // PostgreSQL's whole tree, the backends an idle pool closed included (their CPU stays counted).
    const postgresCpu = () => treeCpuSeconds(postgres.pid);
    const setups: Setup[] = [
      { name: 'single', urls: [single.url], parts: { instances: () => cpuOf([pid(single)]) }, load: [...clientPids, pid(g0)] },
      { name: 'pair', urls: [a.url, b.url], parts: { instances: () => cpuOf([pid(a), pid(b)]), postgres: postgresCpu, nats: () => cpuOf([nats.pid]) }, load: [...clientPids, pid(g1), pid(g2)] },
      { name: 'store', urls: [storeOnly.url], parts: { instances: () => cpuOf([pid(storeOnly)]), postgres: postgresCpu }, load: [...clientPids, pid(g3)] },
    ];
    const setupOf = (arm: ThroughputArm) => setups.find((setup) => setup.name === arm) as Setup;
    // One unmeasured round each warms each setup (JIT, connection pools, prepared statements).
    for (const setup of setups) await round1(setup, clients, options);
    const pairUrls = [a.url, b.url];
    const dispatchedBefore = await dispatches(pairUrls);
    const throughput = await interleavedRounds(options.rounds, setups.map((setup) => setup.name), (arm) => round1(setupOf(arm), clients, options));
    let failed = 0;
    let firstError: string | undefined;
    const tally = (rounds: Array<Record<string, { failed: number; firstError?: string | undefined }>>) => {
      for (const sample of rounds.flatMap((samples) => Object.values(samples))) {
        failed += sample.failed;
        firstError ??= sample.firstError;
      }
    };
    tally(throughput);
    const rps = (arm: ThroughputArm) => throughput.map((r) => r[arm].requestsPerSecond);
    const cpu = (arm: ThroughputArm) => throughput.map((r) => r[arm].cpuUsPerRequest);
    const part = (arm: ThroughputArm, name: string) => median(throughput.map((r) => r[arm].partUs[name] ?? 0));
    const against = (arm: ThroughputArm, figure: (arm: ThroughputArm) => number[]): RatioSummary => {
      const single = figure('single');
      return summarize(figure(arm).map((value, i) => value / (single[i] ?? NaN)));
    };
    const dispatchedAfter = await dispatches(pairUrls);
    const relayed = dispatchedAfter.other - dispatchedBefore.other;
    const relayedShare = relayed / Math.max(1, relayed + dispatchedAfter.here - dispatchedBefore.here);
    const ratio = against('pair', rps);
    const cpuRatio = against('pair', cpu);
    const storeRatio = against('store', rps);
    const storeCpuRatio = against('store', cpu);

    // Capped: each instance of the single setup and of the pair limited to the same share of a
    // core, as if each ran on a machine of that size (PostgreSQL, NATS and the load run outside).
    const capped = await cappedRounds(capCores, { single: [pid(single)], pair: [pid(a), pid(b)], store: [pid(storeOnly)] }, (arm) => round1(setupOf(arm), clients, options), options.rounds);
    if ('rounds' in capped) tally(capped.rounds);

    // Latency: a third instance of the pair, with no worker, joins; every job it takes crosses the bus.
    const c = await start(shared);
    await waitForWorkers([c.url], options.workers, true);
    for (const g of generators) g.tell({ type: 'pace', chunkIntervalMs: 0 });
    const latencyUrls: Record<LatencyArm, string[]> = { single: [single.url], store: [storeOnly.url], pair: pairUrls, relayed: [c.url] };
    const [client] = clients as [Clients];
    for (const arm of LATENCY_ARMS) await latencyRound(latencyUrls[arm], client, options);
    // Only the pair's arm calls a and b (the third instance counts its own offers).
    const latencyDispatchedBefore = await dispatches(pairUrls);
    const latency = await interleavedRounds(options.rounds, [...LATENCY_ARMS], (arm) => latencyRound(latencyUrls[arm], client, options));
    tally(latency);
    const latencyDispatchedAfter = await dispatches(pairUrls);
    const latencyRelayed = latencyDispatchedAfter.other - latencyDispatchedBefore.other;
    const latencyRelayedShare = latencyRelayed / Math.max(1, latencyRelayed + latencyDispatchedAfter.here - latencyDispatchedBefore.here);
    const latencyOf = (arm: LatencyArm, what: 'requestMs' | 'firstChunkMs') => latency.map((r) => r[arm][what]);
    const latencyRatio = (arm: LatencyArm) => summarize(latency.map((r) => r[arm].requestMs / r.single.requestMs));
    const cappedReport = 'rounds' in capped ? reportCapped(capped, options) : undefined;
    if ('skipped' in capped) console.log(`scaleout: capped rounds not run — ${capped.skipped}`);
    const storeLatency = latencyRatio('store');
    const pairLatency = latencyRatio('pair');
    const relayedLatency = latencyRatio('relayed');
    return {
      tables: [
        {
          title: `Scale-out — ${options.requests} concurrent streamed requests a round (${options.chunks} chunks, ${metered ? 'metered: a hold each' : 'unmetered'}), ${options.workers} simulated workers per setup; ${options.rounds} interleaved rounds, all on this machine's ${availableParallelism()} cores`,
          columns: ['figure', 'single instance (SQLite)', '2 instances (PostgreSQL + NATS)', '1 instance on PostgreSQL, no bus'],
          rows: [
            ['requests/s, median [min–max]', spread(rps('single')), spread(rps('pair')), spread(rps('store'))],
            ['server CPU µs per request (instances, postgres, nats)', spread(cpu('single')), spread(cpu('pair')), spread(cpu('store'))],
            [
              '… of which: instances / postgres / nats',
              spread(cpu('single')),
              ['instances', 'postgres', 'nats'].map((k) => round(part('pair', k), 0)).join(' / '),
              ['instances', 'postgres'].map((k) => round(part('store', k), 0)).join(' / '),
            ],
            ["the load's CPU µs per request (clients, simulated workers; not above)", ...THROUGHPUT_ARMS.map((arm) => spread(throughput.map((r) => r[arm].loadUs)))],
            ["the machine's CPU busy (all processes ÷ all cores)", ...THROUGHPUT_ARMS.map((arm) => spread(throughput.map((r) => r[arm].machineBusy), 2))],
            ['÷ single, requests/s (scaleout_ratio, scaleout_store_ratio)', '', describeSpread(ratio), describeSpread(storeRatio)],
            ['÷ single, server CPU per request (scaleout_cpu_ratio, scaleout_store_cpu_ratio)', '', describeSpread(cpuRatio), describeSpread(storeCpuRatio)],
            ['pair: job offers to a worker on the other instance (through the bus)', '', `${round(100 * relayedShare, 1)} % (${relayed})`, ''],
            ['failed requests', String(failed), firstError ?? '', ''],
          ],
        },
        ...(cappedReport ? [cappedReport.table] : []),
        {
          title: `Scale-out — the time of one request: ${LATENCY_REQUESTS} requests one after another per setup and round (${options.chunks} chunks, sent without pause), ${options.rounds} interleaved rounds; ms, median [min–max] of the rounds' medians`,
          columns: ['figure', 'single instance (SQLite)', '1 instance on PostgreSQL, no bus', '2 instances, half the requests to each', 'through the bus (an instance with no worker)'],
          rows: [
            ['request, sent → last chunk read', ...LATENCY_ARMS.map((arm) => spread(latencyOf(arm, 'requestMs'), 2))],
            ['sent → first chunk read', ...LATENCY_ARMS.map((arm) => spread(latencyOf(arm, 'firstChunkMs'), 2))],
            ['÷ single, request time (scaleout_store_latency_ratio, scaleout_latency_ratio, scaleout_relayed_latency_ratio)', '', describeSpread(storeLatency), describeSpread(pairLatency), describeSpread(relayedLatency)],
            ['job offers to a worker on the other instance (through the bus)', '', '', `${round(100 * latencyRelayedShare, 1)} % (${latencyRelayed})`, '100 %'],
          ],
        },
      ],
      results: {
        ...spreadResults('scaleout_ratio', ratio),
        ...spreadResults('scaleout_cpu_ratio', cpuRatio),
        ...spreadResults('scaleout_store_ratio', storeRatio),
        ...spreadResults('scaleout_store_cpu_ratio', storeCpuRatio),
        ...(cappedReport?.results ?? { scaleout_capped_ratio: null, scaleout_capped_skipped: 'skipped' in capped ? capped.skipped : null }),
        scaleout_cap_cores: capped.cores,
        scaleout_single_rps: round(median(rps('single')), 1),
        scaleout_pair_rps: round(median(rps('pair')), 1),
        scaleout_store_rps: round(median(rps('store')), 1),
        scaleout_requests: options.requests,
        scaleout_relayed_share: round(relayedShare, 3),
        ...spreadResults('scaleout_store_latency_ratio', storeLatency),
        ...spreadResults('scaleout_latency_ratio', pairLatency),
        ...spreadResults('scaleout_relayed_latency_ratio', relayedLatency),
        scaleout_single_request_ms: round(median(latencyOf('single', 'requestMs')), 2),
        scaleout_store_request_ms: round(median(latencyOf('store', 'requestMs')), 2),
        scaleout_pair_request_ms: round(median(latencyOf('pair', 'requestMs')), 2),
        scaleout_relayed_request_ms: round(median(latencyOf('relayed', 'requestMs')), 2),
        scaleout_latency_relayed_share: round(latencyRelayedShare, 3),
        scaleout_failed: failed,
        scaleout_metered: metered,
      },
    };
  } finally {
    await Promise.all([...generators.map((g) => g.stop({ type: 'stop' })), ...clients.map((c) => c.stop({ type: 'stop' }))]);
    for (const c of coordinators) c.child.kill('SIGTERM');
    await Promise.all(coordinators.map((c) => Promise.race([c.exited, sleep(10_000).then(() => void c.child.kill('SIGKILL'))])));
    await Promise.all(engines.map((e) => e.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** The `scaleout` section. */
export function scaleoutSection(options: ScaleoutOptions = DEFAULT_SCALEOUT): Section {
  return {
    name: 'scaleout',
    summary: 'requests/s of 2 coordinator instances on PostgreSQL + NATS ÷ 1 instance on SQLite, same load',
    run: () => runScaleout(options),
  };
}
