/** Event-loop delay of this process (where client, coordinator and worker run) while work runs. */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Stalls of this process's event loop over a stretch of time, in ms. */
export interface LoopDelay {
  p99Ms: number;
  maxMs: number;
}

/** Starts watching; the returned function stops and reports. */
export function watchLoopDelay(): () => LoopDelay {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  return () => {
    histogram.disable();
    return { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 };
  };
}
