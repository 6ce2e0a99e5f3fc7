/**
 * What the sharing policy knows about the machine at one moment, and where it comes from.
 * Every signal may be unknown (`null`), and unknown is never guessed here: the policy decides
 * what unknown means per mode (see README.md in this folder).
 */

/** Something in the foreground the owner may be busy with; `name` is what the UI shows. */
export type Detection = { detected: false } | { detected: true; name: string };

/** One GPU's readings; each may be unknown on its own (e.g. laptops report no power). */
export interface GpuDevice {
  index: number;
  name: string | null;
  vendor: 'nvidia' | 'amd' | 'other';
  tempC: number | null;
  powerW: number | null;
  memoryUsedMb: number | null;
  memoryTotalMb: number | null;
  utilizationPercent: number | null;
}

/** A process that is not ours and holds GPU memory or compute. */
export interface GpuProcess {
  pid: number;
  name: string;
  usedMemoryMb: number | null;
}

/** The GPUs as one reading. */
export interface GpuSignals {
  devices: GpuDevice[];
  /** Processes other than ours using a GPU; null = the probe could not list them. */
  otherProcesses: GpuProcess[] | null;
}

/** Power source. */
export interface BatterySignals {
  onBattery: boolean;
  percent: number | null;
}

/** One snapshot of everything the policy looks at; null = unknown. */
export interface Signals {
  /** Seconds since the last keyboard or mouse input at this machine. */
  idleSeconds: number | null;
  /** Whether the screen is locked. */
  screenLocked: boolean | null;
  /** Whether anyone is logged in at this machine's own seat (false on a box with no screen). */
  localSession: boolean | null;
  /** The foreground window is fullscreen (a game, a video, a presentation). */
  fullscreen: Detection | null;
  /** A known game or a game launched by a launcher is running. */
  game: Detection | null;
  gpu: GpuSignals | null;
  battery: BatterySignals | null;
}

/** A snapshot in which nothing is known. */
export function unknownSignals(): Signals {
  return { idleSeconds: null, screenLocked: null, localSession: null, fullscreen: null, game: null, gpu: null, battery: null };
}

/** Where the sharing controller gets its snapshots. */
export interface SignalSource {
  /** Reads every signal now; must not throw (unknown is a value). */
  read(): Promise<Signals>;
  /**
   * Optional push hint (e.g. Electron powerMonitor's 'unlock-screen'): the listener is called
   * when a signal probably changed, so the controller re-reads at once instead of at the next
   * poll. Returns an unsubscribe function.
   */
  watch?(onHint: () => void): () => void;
}

/**
 * One platform probe: reports the signals it can see and leaves the rest out. The Electron
 * shell adds its own (powerMonitor idle time, lock state, battery) and native code may add a
 * fullscreen probe; both are plain objects of this shape.
 */
export interface SignalProbe {
  readonly name: string;
  read(): Promise<Partial<Signals>>;
  watch?(onHint: () => void): () => void;
}

/** A probe that failed or timed out in the last read, for the Diagnostics screen. */
export interface ProbeFailure {
  probe: string;
  message: string;
}

/** A source built from probes, remembering which failed last time. */
export interface CompositeSource extends SignalSource {
  readonly lastFailures: readonly ProbeFailure[];
}

const SCALAR_KEYS = ['idleSeconds', 'screenLocked', 'localSession', 'fullscreen', 'game', 'battery'] as const;

/**
 * Merges probe readings in priority order: for each signal the first probe that knows it
 * wins; GPU devices and processes from several probes (NVIDIA + AMD) are combined.
 */
export function mergeSignals(readings: readonly Partial<Signals>[]): Signals {
  const merged = unknownSignals();
  for (const key of SCALAR_KEYS) {
    const found = readings.find((reading) => reading[key] !== undefined && reading[key] !== null);
    if (found) (merged as unknown as Record<string, unknown>)[key] = found[key];
  }
  const gpus = readings.map((reading) => reading.gpu).filter((gpu): gpu is GpuSignals => gpu !== undefined && gpu !== null);
  if (gpus.length > 0) {
    const lists = gpus.map((gpu) => gpu.otherProcesses).filter((list): list is GpuProcess[] => list !== null);
    merged.gpu = {
      devices: gpus.flatMap((gpu) => gpu.devices),
      otherProcesses: lists.length > 0 ? lists.flat() : null,
    };
  }
  return merged;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs probes in parallel; a probe that throws, rejects or is slower than timeoutMs counts as unknown. */
export function createCompositeSource(probes: readonly SignalProbe[], options: { timeoutMs?: number } = {}): CompositeSource {
  const timeoutMs = options.timeoutMs ?? 4000;
  let lastFailures: ProbeFailure[] = [];
  return {
    get lastFailures() {
      return lastFailures;
    },
    async read() {
      const settled = await Promise.allSettled(probes.map((probe) => withTimeout(Promise.resolve().then(() => probe.read()), timeoutMs)));
      const failures: ProbeFailure[] = [];
      const readings = settled.map((result, i) => {
        if (result.status === 'fulfilled' && result.value !== null && typeof result.value === 'object') return result.value;
        const reason = result.status === 'rejected' ? result.reason : 'returned no object';
        failures.push({ probe: probes[i]?.name ?? `#${i}`, message: reason instanceof Error ? reason.message : String(reason) });
        return {};
      });
      lastFailures = failures;
      return mergeSignals(readings);
    },
    watch(onHint) {
      const stops = probes.flatMap((probe) => (probe.watch ? [probe.watch(onHint)] : []));
      return () => stops.forEach((stop) => stop());
    },
  };
}

/** Re-reads a slow-changing probe (battery, process list) at most every `intervalMs`. */
export function withMinInterval(probe: SignalProbe, intervalMs: number, now: () => number = Date.now): SignalProbe {
  let cached: { at: number; value: Partial<Signals> } | undefined;
  return {
    name: probe.name,
    watch: probe.watch?.bind(probe),
    async read() {
      if (cached && now() - cached.at < intervalMs) return cached.value;
      const value = await probe.read();
      cached = { at: now(), value };
      return value;
    },
  };
}

/**
 * A probe fed from outside (the Electron shell on powerMonitor events, a native fullscreen
 * watcher): `report()` stores values and hints the controller; values older than maxAgeMs
 * read as unknown, so a reporter that dies cannot pin a stale "away".
 */
export function createReportedProbe(name: string, options: { maxAgeMs: number; now?: () => number }): {
  probe: SignalProbe;
  report(values: Partial<Signals>): void;
} {
  const now = options.now ?? Date.now;
  const listeners = new Set<() => void>();
  let latest: { at: number; values: Partial<Signals> } | undefined;
  return {
    report(values) {
      latest = { at: now(), values };
      for (const listener of listeners) listener();
    },
    probe: {
      name,
      async read() {
        return latest && now() - latest.at <= options.maxAgeMs ? latest.values : {};
      },
      watch(onHint) {
        listeners.add(onHint);
        return () => listeners.delete(onHint);
      },
    },
  };
}
