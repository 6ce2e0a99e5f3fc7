/**
 * One pace for every job of a job process: the owner's Polite cap (tokens per second) bounds the
 * tokens of all jobs together, however many run at once. Each job generates a short slice, then
 * hands its tokens here and waits until the total is back under the cap.
 */
export class TokenPace {
  /** When the tokens counted so far have been "paid for" at the cap (performance.now() time). */
  private readyAt = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Marks a job starting to generate: its first slice counts from now, never from earlier idle time. */
  begin(): void {
    this.readyAt = Math.max(this.readyAt, this.now());
  }

  /**
   * Counts `tokens` just generated and resolves once the total is within `perSecond` (sooner if
   * `signal` aborts). A slice slower than the cap is not held back, and the time it took is not
   * banked either: a slice counts from the later of when the cap was last met and when it could
   * at the earliest have started, so a pause never buys a burst.
   */
  take(tokens: number, perSecond: number, signal: AbortSignal): Promise<void> {
    const cost = (tokens / perSecond) * 1000;
    const now = this.now();
    this.readyAt = Math.max(this.readyAt, now - cost) + cost;
    return sleep(this.readyAt - now, signal);
  }

  /** How long a caller taking nothing would wait now (ms); for tests and diagnostics. */
  get backlogMs(): number {
    return Math.max(0, this.readyAt - this.now());
  }
}

/** Waits `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    // The listener goes with the wait: a long paced job waits many times on one signal.
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
