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
 * Then the time of one request, with the machine otherwise idle: requests sent one after another
 * (the simulated workers stream their chunks without pause), to the single instance, to the pair
 * (half to each instance), and to a third instance of the pair that has no worker of its own, so
 * that every job crosses the bus. Reported as scaleout_latency_ratio (pair ÷ single, median
 * request time) and scaleout_relayed_latency_ratio (through the bus ÷ single), with their spread.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { LoadWorkersCommand, LoadWorkersReport } from './load-workers-process.js';
import type { LoadClientsCommand, LoadClientsReport } from './load-clients-process.js';
import { ADMIN_KEY, API_KEY, Child, CLIENTS_PROCESS, MODEL, startCoordinatorProcess, WORKERS_PROCESS } from './coordinator-load.js';
import { clientIdForKey } from '../network/coordinator/server.js';
import { descendants, readCpu } from './proc.js';
import { median, round, spread } from './stats.js';
import { describeSpread, interleavedRounds, spreadResults, summarize, type RatioSummary } from './rounds.js';
import { missingBinary, startNats, startPostgres, type TestEngine } from '../network/node-kit/test-engines.js';
import type { Section, SectionReport } from './section.js';

/** The load of one round; the defaults are what `npm run bench` reports. */
export interface ScaleoutOptions {
  workers: number;
  requests: number;
  chunks: number;
  chunkIntervalMs: number;
  rounds: number;
}

export const DEFAULT_SCALEOUT: ScaleoutOptions = { workers: 200, requests: 400, chunks: 4, chunkIntervalMs: 5, rounds: 9 };

/** Requests a setup sends one after another in each round of the latency phase. */
const LATENCY_REQUESTS = 24;

type Workers = Child<LoadWorkersCommand, LoadWorkersReport>;
type Clients = Child<LoadClientsCommand, LoadClientsReport>;

interface Setup {
  name: ThroughputArm;
  urls: string[];
  /** Every server process whose CPU a request costs, by part. */
  pids: () => Record<string, number[]>;
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
  const parts = Object.entries(setup.pids());
  const before = parts.map(([, pids]) => cpuOf(pids));
  const started = performance.now();
  const reports = await Promise.all(clients.map((c, i) => c.ask({ type: 'run', url: setup.urls[i % setup.urls.length] ?? '', apiKey: API_KEY, model: MODEL, streams: per, maxTokens: options.chunks + 8, spreadMs: 0 }, 'done')));
  const seconds = (performance.now() - started) / 1000;
  const completed = reports.reduce((n, r) => n + r.completed, 0);
  const failed = reports.reduce((n, r) => n + r.failed, 0);
  const partUs = Object.fromEntries(parts.map(([name, pids], i) => [name, (1e6 * (cpuOf(pids) - (before[i] ?? 0))) / Math.max(1, completed)]));
  const cpuUsPerRequest = Object.values(partUs).reduce((a, b) => a + b, 0);
  return { requestsPerSecond: completed / seconds, cpuUsPerRequest, partUs, failed, firstError: reports.find((r) => r.firstError)?.firstError };
}

type ThroughputArm = 'single' | 'pair' | 'store';
type LatencyArm = 'single' | 'pair' | 'relayed';

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
  // SILKWORM_BENCH_SCALEOUT_METERED=1: clients pay, so each request takes a hold before its offer
  // goes out and settles against it (the default rounds are unmetered: see docs/scale-out.md).
  const metered = process.env.SILKWORM_BENCH_SCALEOUT_METERED === '1';
  const missing = missingBinary('postgres') ?? missingBinary('nats-server');
  if (missing) {
    console.log(`scaleout: not measured — ${missing}`);
    return { tables: [], results: { scaleout_ratio: null, scaleout_cpu_ratio: null, scaleout_store_ratio: null, scaleout_store_cpu_ratio: null, scaleout_latency_ratio: null, scaleout_relayed_latency_ratio: null, scaleout_skipped: missing } };
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

    const pid = (p: { child: ChildProcess }) => p.child.pid ?? 0;
    const setups: Setup[] = [
      { name: 'single', urls: [single.url], pids: () => ({ instances: [pid(single)] }) },
      { name: 'pair', urls: [a.url, b.url], pids: () => ({ instances: [pid(a), pid(b)], postgres: [postgres.pid, ...descendants(postgres.pid)], nats: [nats.pid] }) },
      { name: 'store', urls: [storeOnly.url], pids: () => ({ instances: [pid(storeOnly)], postgres: [postgres.pid, ...descendants(postgres.pid)] }) },
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

    // Latency: a third instance of the pair, with no worker, joins; every job it takes crosses the bus.
    const c = await start(shared);
    await waitForWorkers([c.url], options.workers, true);
    for (const g of generators) g.tell({ type: 'pace', chunkIntervalMs: 0 });
    const latencyUrls: Record<LatencyArm, string[]> = { single: [single.url], pair: pairUrls, relayed: [c.url] };
    const [client] = clients as [Clients];
    for (const arm of Object.keys(latencyUrls) as LatencyArm[]) await latencyRound(latencyUrls[arm], client, options);
    // Only the pair's arm calls a and b (the third instance counts its own offers).
    const latencyDispatchedBefore = await dispatches(pairUrls);
    const latency = await interleavedRounds(options.rounds, Object.keys(latencyUrls) as LatencyArm[], (arm) => latencyRound(latencyUrls[arm], client, options));
    tally(latency);
    const latencyDispatchedAfter = await dispatches(pairUrls);
    const latencyRelayed = latencyDispatchedAfter.other - latencyDispatchedBefore.other;
    const latencyRelayedShare = latencyRelayed / Math.max(1, latencyRelayed + latencyDispatchedAfter.here - latencyDispatchedBefore.here);
    const latencyOf = (arm: LatencyArm, what: 'requestMs' | 'firstChunkMs') => latency.map((r) => r[arm][what]);
    const latencyRatio = (arm: LatencyArm) => summarize(latency.map((r) => r[arm].requestMs / r.single.requestMs));
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
            ['÷ single, requests/s (scaleout_ratio, scaleout_store_ratio)', '', describeSpread(ratio), describeSpread(storeRatio)],
            ['÷ single, server CPU per request (scaleout_cpu_ratio, scaleout_store_cpu_ratio)', '', describeSpread(cpuRatio), describeSpread(storeCpuRatio)],
            ['pair: job offers to a worker on the other instance (through the bus)', '', `${round(100 * relayedShare, 1)} % (${relayed})`, ''],
            ['failed requests', String(failed), firstError ?? '', ''],
          ],
        },
        {
          title: `Scale-out — the time of one request: ${LATENCY_REQUESTS} requests one after another per setup and round (${options.chunks} chunks, sent without pause), ${options.rounds} interleaved rounds; ms, median [min–max] of the rounds' medians`,
          columns: ['figure', 'single instance (SQLite)', '2 instances, half the requests to each', 'through the bus (an instance with no worker)'],
          rows: [
            ['request, sent → last chunk read', spread(latencyOf('single', 'requestMs'), 2), spread(latencyOf('pair', 'requestMs'), 2), spread(latencyOf('relayed', 'requestMs'), 2)],
            ['sent → first chunk read', spread(latencyOf('single', 'firstChunkMs'), 2), spread(latencyOf('pair', 'firstChunkMs'), 2), spread(latencyOf('relayed', 'firstChunkMs'), 2)],
            ['÷ single, request time (scaleout_latency_ratio, scaleout_relayed_latency_ratio)', '', describeSpread(pairLatency), describeSpread(relayedLatency)],
            ['job offers to a worker on the other instance (through the bus)', '', `${round(100 * latencyRelayedShare, 1)} % (${latencyRelayed})`, '100 %'],
          ],
        },
      ],
      results: {
        ...spreadResults('scaleout_ratio', ratio),
        ...spreadResults('scaleout_cpu_ratio', cpuRatio),
        ...spreadResults('scaleout_store_ratio', storeRatio),
        ...spreadResults('scaleout_store_cpu_ratio', storeCpuRatio),
        scaleout_single_rps: round(median(rps('single')), 1),
        scaleout_pair_rps: round(median(rps('pair')), 1),
        scaleout_store_rps: round(median(rps('store')), 1),
        scaleout_requests: options.requests,
        scaleout_relayed_share: round(relayedShare, 3),
        ...spreadResults('scaleout_latency_ratio', pairLatency),
        ...spreadResults('scaleout_relayed_latency_ratio', relayedLatency),
        scaleout_single_request_ms: round(median(latencyOf('single', 'requestMs')), 2),
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
