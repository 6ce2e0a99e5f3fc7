/**
 * Replay protection for sealed jobs inside one job process. HPKE itself has none (RFC 9180
 * §9.7.3), so the job process remembers every job id and encapsulated key (`enc`) it opened
 * until the envelope expires. The guard starts empty with the process, and so does the HPKE
 * key pair: an envelope from before a restart is sealed to a key that no longer exists.
 */
import { CLOCK_SKEW_MS } from './sealed-common.js';

/** Settings of a {@link ReplayGuard}. */
export interface ReplayGuardOptions {
  /** Most envelopes remembered at once (default 100 000, a few MiB). */
  maxEntries?: number;
  /** Clock in Unix ms (tests inject one). */
  now?: () => number;
}

/** Remembers opened sealed jobs until they expire; refuses repeats; refuses when full. */
export class ReplayGuard {
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ReplayGuardOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.now = options.now ?? Date.now;
  }

  /** How many envelopes are remembered. */
  get size(): number {
    return this.entries.size / 2;
  }

  /** True when this job id or this `enc` was remembered before (a cheap pre-check). */
  seen(jobId: string, enc: string): boolean {
    return this.entries.has(`job:${jobId}`) || this.entries.has(`enc:${enc}`);
  }

  /**
   * Remembers an authentic envelope until `expiresAt` (plus the clock-skew allowance).
   * 'replay': its job id or enc was seen; 'full': too many unexpired entries to remember more.
   */
  remember(jobId: string, enc: string, expiresAt: number): 'ok' | 'replay' | 'full' {
    if (this.seen(jobId, enc)) return 'replay';
    if (this.size >= this.maxEntries) this.prune();
    if (this.size >= this.maxEntries) return 'full';
    const forgetAt = expiresAt + CLOCK_SKEW_MS;
    this.entries.set(`job:${jobId}`, forgetAt);
    this.entries.set(`enc:${enc}`, forgetAt);
    return 'ok';
  }

  /** Forgets entries whose envelopes can no longer pass the expiry check. */
  prune(): void {
    const now = this.now();
    for (const [key, forgetAt] of this.entries) {
      if (forgetAt < now) this.entries.delete(key);
    }
  }
}
