/**
 * The timer of work kept while the shared store cannot be reached (settlements in billing.ts,
 * a worker's standing in worker-standing.ts): it runs the work again after a wait that starts
 * at 0.25 s and doubles, up to 10 s, until the store answers.
 */
const FIRST_MS = 250;
const MAX_MS = 10_000;

export class RetryLater {
  private timer: NodeJS.Timeout | undefined;
  private delayMs = FIRST_MS;

  constructor(private readonly run: () => void) {}

  /** Runs the work after the current wait, unless a run is due already; the wait after it is twice as long. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, this.delayMs);
    this.timer.unref();
    this.delayMs = Math.min(MAX_MS, 2 * this.delayMs);
  }

  /** The store answered: the next wait is the first one again. */
  answered(): void {
    this.delayMs = FIRST_MS;
  }

  /** No run is due any more (the coordinator is closing). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
