/**
 * Runs the sharing policy over time: polls a SignalSource on an injected clock, applies
 * decide(), keeps the state the UI shows and emits 'decision' when it changes. It knows
 * nothing of models or coordinators; the worker core subscribes and acts on `share`/`caps`.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../../network/node-kit/log.js';
import { decide, isSameDecision, type Decision } from './policy.js';
import { reason, summarize } from './reasons.js';
import { applySettingsPatch, type SettingsResult, type SharingMode, type SharingSettings, type SharingSettingsPatch } from './settings.js';
import { unknownSignals, type Signals, type SignalSource } from './signals.js';

/** Time and timers, injected so tests can drive the controller with a fake clock. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * With sharing Off the controller does not poll at all (an idle worker costs the PC next to
 * nothing); a viewer that shows telemetry refreshes readings older than this (refreshIfStale).
 */
export const OFF_POLL_MS = 30_000;

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Running totals since the controller was created. */
export interface SharingCounters {
  polls: number;
  /** Reads that threw although sources should not; treated as "nothing known". */
  readErrors: number;
  /** Decisions that differed from the one before (see isSameDecision). */
  changes: number;
  /** Times sharing stopped for a condition (not the owner turning it off). */
  timesPaused: number;
  timesStarted: number;
  sharedMs: number;
}

/** What the dashboard shows: a plain object, safe to send over IPC. */
export interface SharingSnapshot {
  mode: SharingMode;
  decision: Decision;
  signals: Signals | null;
  /** When the decision last changed (epoch ms); null before the first change. */
  lastChange: number | null;
  lastPollAt: number | null;
  counters: SharingCounters;
}

/** Events: 'decision' on a change (new, previous), 'update' after every poll. */
export interface SharingEvents {
  decision: [decision: Decision, previous: Decision];
  update: [snapshot: SharingSnapshot];
}

/** Options of a controller. */
export interface SharingControllerOptions {
  source: SignalSource;
  settings: SharingSettings;
  clock?: Clock;
  /** How often to read signals; owner-return latency is at most this plus one read. */
  pollMs?: number;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

function startingDecision(settings: SharingSettings, now: number): Decision {
  if (settings.mode === 'off') return decide(unknownSignals(), settings, now);
  const reasons = [reason('starting', 'block', {})];
  return { share: false, state: 'paused', mode: settings.mode, reasons, summary: summarize('paused', reasons), since: now, decidedAt: now, caps: null, strikes: 0 };
}

/** Polls signals and keeps the current sharing decision. */
export class SharingController extends EventEmitter<SharingEvents> {
  private readonly clock: Clock;
  private readonly pollMs: number;
  private current: SharingSettings;
  private decision: Decision;
  private signals: Signals | null = null;
  private polled = false;
  private lastChange: number | null = null;
  private lastPollAt: number | null = null;
  private accountedAt: number;
  private readonly counters: SharingCounters = { polls: 0, readErrors: 0, changes: 0, timesPaused: 0, timesStarted: 0, sharedMs: 0 };
  private timer: unknown;
  private running = false;
  /** Bumped by start/stop so a loop from an earlier start never schedules again. */
  private generation = 0;
  private inFlight: Promise<Decision> | undefined;
  private unwatch: (() => void) | undefined;

  constructor(private readonly options: SharingControllerOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.pollMs = options.pollMs ?? 2000;
    this.current = options.settings;
    this.accountedAt = this.clock.now();
    this.decision = startingDecision(this.current, this.accountedAt);
  }

  /** The settings in force. */
  get settings(): SharingSettings {
    return this.current;
  }

  /** The decision in force. */
  get currentDecision(): Decision {
    return this.decision;
  }

  /** A copy of the state for the UI, shared time counted up to now. */
  snapshot(): SharingSnapshot {
    const counters = { ...this.counters };
    if (this.decision.share) counters.sharedMs += this.clock.now() - this.accountedAt;
    return { mode: this.current.mode, decision: this.decision, signals: this.signals, lastChange: this.lastChange, lastPollAt: this.lastPollAt, counters };
  }

  /** Reads signals at once and then every pollMs; push hints from the source trigger extra reads. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.generation += 1;
    this.unwatch = this.options.source.watch?.(() => void this.poll());
    void this.loop(this.generation);
  }

  /** Stops polling; the last decision stays readable. */
  stop(): void {
    this.running = false;
    this.generation += 1;
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async loop(generation: number): Promise<void> {
    await this.poll();
    if (!this.running || generation !== this.generation) return;
    this.timer = undefined;
    // With sharing off no decision depends on the signals: stop reading them until the mode changes.
    if (this.current.mode !== 'off') this.timer = this.clock.setTimeout(() => void this.loop(generation), this.pollMs);
  }

  /** Restarts the polling loop (a mode change away from Off). */
  private restartLoop(): void {
    if (!this.running) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.generation += 1;
    void this.loop(this.generation);
  }

  /** In mode Off, reads the signals again when the last reading is older than `maxAgeMs` (for a viewer's telemetry). */
  async refreshIfStale(maxAgeMs = OFF_POLL_MS): Promise<void> {
    if (this.current.mode !== 'off') return;
    if (this.lastPollAt !== null && this.clock.now() - this.lastPollAt < maxAgeMs) return;
    await this.poll();
  }

  /** Reads the signals and decides once now (concurrent calls share one read). */
  poll(): Promise<Decision> {
    this.inFlight ??= this.readAndDecide().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async readAndDecide(): Promise<Decision> {
    let signals: Signals;
    try {
      signals = await this.options.source.read();
    } catch (error) {
      this.counters.readErrors += 1;
      this.options.logger?.warn({ err: error }, 'signal source failed; treating every signal as unknown');
      signals = unknownSignals();
    }
    this.signals = signals;
    this.counters.polls += 1;
    this.lastPollAt = this.clock.now();
    this.apply(decide(signals, this.current, this.clock.now(), this.polled ? this.decision : undefined));
    this.polled = true;
    this.emit('update', this.snapshot());
    return this.decision;
  }

  /** Switches mode at once (re-deciding on the last signals); returns the new decision. */
  setMode(mode: SharingMode): Decision {
    this.updateSettings({ mode });
    return this.decision;
  }

  /** Validates and applies a settings change, re-deciding at once on the last signals. */
  updateSettings(patch: SharingSettingsPatch): SettingsResult {
    const result = applySettingsPatch(this.current, patch);
    if (!result.ok) return result;
    const wasOff = this.current.mode === 'off';
    this.current = result.value;
    const now = this.clock.now();
    if (this.signals) this.apply(decide(this.signals, this.current, now, this.decision));
    else this.apply(startingDecision(this.current, now));
    this.emit('update', this.snapshot());
    if (wasOff && this.current.mode !== 'off') this.restartLoop();
    return result;
  }

  private apply(next: Decision): void {
    const previous = this.decision;
    const now = next.decidedAt;
    if (previous.share) this.counters.sharedMs += now - this.accountedAt;
    this.accountedAt = now;
    this.decision = next;
    if (isSameDecision(previous, next)) return;
    this.counters.changes += 1;
    if (next.state === 'sharing' && previous.state !== 'sharing') this.counters.timesStarted += 1;
    if (next.state === 'paused' && previous.state === 'sharing') this.counters.timesPaused += 1;
    this.lastChange = now;
    this.options.logger?.info({ state: next.state, mode: next.mode, reasons: next.reasons.map((r) => r.code), caps: next.caps }, next.summary);
    this.emit('decision', next, previous);
  }
}
