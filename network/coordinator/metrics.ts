/** Prometheus metrics of one coordinator (its own registry, so several can run in one process). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The coordinator's counters, gauges and histograms. */
export function createMetrics() {
  const registry = new Registry();
  const workers = new Gauge({ name: 'silkworm_workers_connected', help: 'Workers connected and handshaken.', registers: [registry] });
  const activeJobs = new Gauge({ name: 'silkworm_jobs_active', help: 'Jobs not yet finished.', registers: [registry] });
  return {
    registry,
    workers,
    activeJobs,
    httpRequests: new Counter({ name: 'silkworm_http_requests_total', help: 'HTTP requests by route and status.', labelNames: ['route', 'status'], registers: [registry] }),
    jobsDispatched: new Counter({ name: 'silkworm_jobs_dispatched_total', help: 'Job offers sent to workers (requeues included), by where the worker is connected (here, or another instance through the bus).', labelNames: ['worker_on'], registers: [registry] }),
    jobsFinished: new Counter({ name: 'silkworm_jobs_finished_total', help: 'Jobs finished, by outcome (done, cancelled, or an error code).', labelNames: ['outcome'], registers: [registry] }),
    requeues: new Counter({ name: 'silkworm_job_requeues_total', help: 'Jobs moved to another worker, by reason.', labelNames: ['reason'], registers: [registry] }),
    tokens: new Counter({ name: 'silkworm_tokens_total', help: 'Tokens served, by kind (prompt, completion).', labelNames: ['kind'], registers: [registry] }),
    disputes: new Counter({ name: 'silkworm_disputes_total', help: "Claims cut to the coordinator's figure beyond the tolerance, by kind (over_client_receipt: above a sealed client's signed receipt).", labelNames: ['kind'], registers: [registry] }),
    spotChecks: new Counter({ name: 'silkworm_spot_checks_total', help: 'Transport jobs re-scored by the same model (--verify-rate), by result: passed, failed (a worker took a strike), unscored (the answer did not fit the verifier, the check could not run, or it took longer than its job may wait).', labelNames: ['result'], registers: [registry] }),
    probes: new Counter({ name: 'silkworm_probes_total', help: 'Sealed probes this instance sent its workers (--probe-interval), by result: passed, failed (the worker took a strike), unchecked.', labelNames: ['result'], registers: [registry] }),
    workerReports: new Counter({
      name: 'silkworm_worker_reports_total',
      help: "Errors workers reported to this instance, by code. bad_frame or unexpected_frame: a worker left because it could not use what this instance sent (its welcome's terms, a frame), each logged as 'worker reported an error' with the worker's words; a rise from every worker at once points at this instance's configuration.",
      labelNames: ['code'],
      registers: [registry],
    }),
    receiptsPaused: new Counter({ name: 'silkworm_client_receipts_paused_total', help: "Clients whose sealed usage receipts this instance paused (they fell short of several workers' claims too often; GET /v1/admin/receipt-pauses).", registers: [registry] }),
    timeToFirstToken: new Histogram({
      name: 'silkworm_time_to_first_token_seconds',
      help: 'From request accepted to first token relayed.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** Reports the bus's smoothed round trip to each peer instance (what routing adds for its workers), and whether the bus is reached at all. */
export function watchBusRoundTrips(metrics: CoordinatorMetrics, bus: { readonly peers: string[]; readonly connected: boolean; roundTripMs(peer: string): number }): void {
  new Gauge({
    name: 'silkworm_bus_connected',
    help: '1 while this instance reaches the bus, 0 while it reconnects (then only its own workers are reachable).',
    registers: [metrics.registry],
    collect() {
      this.set(bus.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'silkworm_bus_round_trip_seconds',
    help: "The bus's measured round trip to each other instance (smoothed; routing adds it to the expected time of that instance's workers).",
    labelNames: ['peer'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const peer of bus.peers) {
        const ms = bus.roundTripMs(peer);
        if (ms > 0) this.set({ peer }, ms / 1000);
      }
    },
  });
}

/** Reports the settlements waiting for the store to be reached again (billing.ts, SettlementDeferred). */
export function watchDeferredSettlements(metrics: CoordinatorMetrics, billing: { readonly deferredSettlements: number }): void {
  new Gauge({
    name: 'silkworm_settlements_deferred',
    help: 'Settlements kept to try again because the store could not be reached (their workers are paid once they land).',
    registers: [metrics.registry],
    collect() {
      this.set(billing.deferredSettlements);
    },
  });
}

/** Reports how well probes cover the workers they can check (sealed-probes.ts, coverage): what an operator sizes --probe-interval by. */
export function watchProbeCoverage(metrics: CoordinatorMetrics, prober: { coverage(now: number): { probeable: number; neverProbed: number; oldestProbeSeconds: number } }): void {
  const read = () => prober.coverage(Date.now());
  new Gauge({
    name: 'silkworm_probe_workers',
    help: 'Workers connected here that probes can check, and how many of them were never probed (label never_probed).',
    labelNames: ['never_probed'],
    registers: [metrics.registry],
    collect() {
      const coverage = read();
      this.set({ never_probed: 'false' }, coverage.probeable - coverage.neverProbed);
      this.set({ never_probed: 'true' }, coverage.neverProbed);
    },
  });
  new Gauge({
    name: 'silkworm_probe_oldest_seconds',
    help: 'Among probed workers connected here, how long ago the least recently probed one was probed (each is probed about every workers × --probe-interval).',
    registers: [metrics.registry],
    collect() {
      this.set(read().oldestProbeSeconds);
    },
  });
}

/** Reports whether a store reached over the network (PostgreSQL) answers (store.ts, reachability). */
export function watchStoreReachability(metrics: CoordinatorMetrics, store: { reachability(): { reachable: boolean } }): void {
  new Gauge({
    name: 'silkworm_store_reachable',
    help: '1 while the shared database answers, 0 while it cannot be reached (requests that need it get 503 store_unavailable; settlements wait).',
    registers: [metrics.registry],
    collect() {
      this.set(store.reachability().reachable ? 1 : 0);
    },
  });
}

/** The metrics object handed to the coordinator's parts. */
export type CoordinatorMetrics = ReturnType<typeof createMetrics>;
