/**
 * The sharing policy: a pure function from (signals, settings, now, previous decision) to a
 * decision with its reasons. No clocks, timers or I/O here, so every rule is a table test.
 * The rules, including what unknown signals mean in each mode, are written up in README.md.
 */
import type { SharingCaps, SharingMode, SharingSettings } from './settings.js';
import type { GpuSignals, Signals } from './signals.js';
import { reason, summarize, type Reason } from './reasons.js';
import { activeWindow, localTime, nextWindowStart } from './schedule.js';

/** Whether the GPU is shared now, paused by a condition, or turned off by the owner. */
export type SharingState = 'sharing' | 'paused' | 'off';

/** The policy's answer, with everything the UI needs to explain it. */
export interface Decision {
  share: boolean;
  state: SharingState;
  mode: SharingMode;
  reasons: Reason[];
  /** "Sharing: away 12 min · no game · GPU 54 °C" / "Paused: Cyberpunk 2077 is fullscreen". */
  summary: string;
  /** When `state` last changed (epoch ms). */
  since: number;
  decidedAt: number;
  /** Limits the worker must apply while sharing politely; null = no limits. */
  caps: SharingCaps | null;
  /** Heat/power pauses in a row; each doubles the next minimum pause. */
  strikes: number;
}

const SAFETY_CODES = new Set(['gpu-hot', 'power-high']);

function blockedBy(decision: Decision | undefined, code: string): boolean {
  return decision?.state === 'paused' && decision.reasons.some((item) => item.code === code && item.effect === 'block');
}

function presenceReasons(signals: Signals, settings: SharingSettings): Reason[] {
  if (settings.mode === 'always') return [reason('mode-always', 'allow', {})];
  const idle = signals.idleSeconds;
  if (idle !== null && idle >= settings.idleThresholdMinutes * 60) return [reason('away', 'allow', { idleMinutes: Math.floor(idle / 60) })];
  if (signals.screenLocked === true) return [reason('screen-locked', 'allow', {})];
  if (signals.localSession === false) return [reason('no-local-session', 'allow', {})];
  // The owner is (or may be) at the PC: When idle waits, Polite shares within its caps.
  const effect = settings.mode === 'polite' ? 'cap' : 'block';
  if (idle !== null) return [reason('owner-active', effect, { idleSeconds: idle, thresholdMinutes: settings.idleThresholdMinutes })];
  return [reason('presence-unknown', effect, {})];
}

function foregroundReasons(signals: Signals, mode: SharingMode): Reason[] {
  if (mode === 'always') return [];
  if (signals.fullscreen?.detected) return [reason('fullscreen', 'block', { app: signals.fullscreen.name })];
  if (signals.game?.detected) return [reason('game', 'block', { name: signals.game.name })];
  return signals.game === null ? [] : [reason('no-game', 'allow', {})];
}

function baseName(path: string): string {
  return (path.split(/[\\/]/).pop() ?? path).replace(/\.exe$/i, '').toLowerCase();
}

function gpuBusyReasons(gpu: GpuSignals | null, settings: SharingSettings): Reason[] {
  if (settings.mode === 'always' || !gpu?.otherProcesses) return [];
  const ignored = new Set(settings.gpuBusyIgnore.map(baseName));
  const names = [...new Set(gpu.otherProcesses.filter((p) => !ignored.has(baseName(p.name))).map((p) => baseName(p.name)))];
  return names.length === 0 ? [] : [reason('gpu-busy', 'block', { processes: names })];
}

function hottest(gpu: GpuSignals | null): number | null {
  const temps = (gpu?.devices ?? []).map((d) => d.tempC).filter((t): t is number => t !== null);
  return temps.length === 0 ? null : Math.max(...temps);
}

function totalPower(gpu: GpuSignals | null): number | null {
  const draws = (gpu?.devices ?? []).map((d) => d.powerW).filter((w): w is number => w !== null);
  return draws.length === 0 ? null : draws.reduce((sum, w) => sum + w, 0);
}

function temperatureReasons(gpu: GpuSignals | null, settings: SharingSettings, previous: Decision | undefined): Reason[] {
  const tempC = hottest(gpu);
  if (tempC === null) return [];
  const maxC = settings.maxGpuTempC;
  const resumeC = maxC - settings.hysteresis.tempMarginC;
  // Over the cap pauses; once paused for heat, only cooling to the margin below resumes.
  const hot = blockedBy(previous, 'gpu-hot') ? tempC > resumeC : tempC > maxC;
  return [hot ? reason('gpu-hot', 'block', { tempC, maxC, resumeC }) : reason('gpu-temp', 'allow', { tempC })];
}

function powerReasons(gpu: GpuSignals | null, settings: SharingSettings, previous: Decision | undefined): Reason[] {
  const powerW = totalPower(gpu);
  if (powerW === null) return [];
  const maxW = settings.maxPowerW;
  if (maxW === null) return [reason('gpu-power', 'info', { powerW })];
  const resumeW = maxW * (1 - settings.hysteresis.powerMarginPercent / 100);
  const high = blockedBy(previous, 'power-high') ? powerW > resumeW : powerW > maxW;
  return [high ? reason('power-high', 'block', { powerW, maxW, resumeW }) : reason('gpu-power', 'info', { powerW })];
}

function batteryReasons(signals: Signals, settings: SharingSettings): Reason[] {
  if (!signals.battery?.onBattery) return [];
  return [reason('on-battery', settings.onBattery === 'pause' ? 'block' : 'info', { percent: signals.battery.percent })];
}

function scheduleReasons(settings: SharingSettings, now: number): Reason[] {
  const at = localTime(now, settings.timeZone);
  const out: Reason[] = [];
  if (settings.schedule.length > 0 && activeWindow(settings.schedule, at) === null) {
    const next = nextWindowStart(settings.schedule, at);
    out.push(reason('outside-schedule', 'block', { nextDay: next?.day ?? null, nextTime: next?.time ?? null }));
  }
  const quiet = activeWindow(settings.quietHours.windows, at);
  if (quiet) out.push(reason('quiet-hours', settings.quietHours.behaviour === 'pause' ? 'block' : 'cap', { until: quiet.window.end }));
  return out;
}

function unknownReasons(signals: Signals, mode: SharingMode): Reason[] {
  const unknown: string[] = [];
  if (mode !== 'always') {
    if (signals.idleSeconds === null && signals.screenLocked === null && signals.localSession === null) unknown.push('idle time');
    if (signals.fullscreen === null && signals.game === null) unknown.push('game detection');
    if (signals.gpu !== null && signals.gpu.otherProcesses === null) unknown.push('GPU processes');
  }
  if (signals.gpu === null) unknown.push('GPU');
  else if (hottest(signals.gpu) === null) unknown.push('GPU temperature');
  if (signals.battery === null) unknown.push('battery');
  return unknown.length === 0 ? [] : [reason('signal-unknown', 'info', { signals: unknown })];
}

/** The shortest pause after `strikes` heat/power pauses in a row: minDwell × 2^(strikes−1), capped. */
export function requiredPauseMs(settings: SharingSettings, strikes: number): number {
  const minMs = settings.hysteresis.minDwellSeconds * 1000;
  const maxMs = Math.max(minMs, settings.hysteresis.maxCooldownMinutes * 60_000);
  return Math.min(maxMs, minMs * 2 ** Math.max(0, strikes - 1));
}

function nextStrikes(state: SharingState, reasons: readonly Reason[], settings: SharingSettings, now: number, previous: Decision | undefined): number {
  const strikes = previous?.strikes ?? 0;
  const safetyPause = reasons.some((item) => item.effect === 'block' && SAFETY_CODES.has(item.code));
  if (state === 'paused' && previous?.state === 'sharing' && safetyPause) return strikes + 1;
  const cleanRunMs = settings.hysteresis.maxCooldownMinutes * 60_000;
  if (state === 'sharing' && previous?.state === 'sharing' && now - previous.since >= cleanRunMs) return 0;
  return strikes;
}

function offDecision(settings: SharingSettings, now: number, previous: Decision | undefined): Decision {
  const reasons = [reason('mode-off', 'block', {})];
  const since = previous?.state === 'off' ? previous.since : now;
  return { share: false, state: 'off', mode: settings.mode, reasons, summary: summarize('off', reasons), since, decidedAt: now, caps: null, strikes: 0 };
}

/**
 * Decides whether to share now. Pure: same inputs, same decision. Pass the previous decision
 * for hysteresis (heat and power margins, the minimum pause, cooldown after repeated safety
 * pauses); omit it on the first call. Pausing is never delayed; only resuming is.
 */
export function decide(signals: Signals, settings: SharingSettings, now: number, previous?: Decision): Decision {
  if (settings.mode === 'off') return offDecision(settings, now, previous);
  const reasons: Reason[] = [
    ...presenceReasons(signals, settings),
    ...foregroundReasons(signals, settings.mode),
    ...gpuBusyReasons(signals.gpu, settings),
    ...temperatureReasons(signals.gpu, settings, previous),
    ...powerReasons(signals.gpu, settings, previous),
    ...batteryReasons(signals, settings),
    ...scheduleReasons(settings, now),
  ];
  const clear = !reasons.some((item) => item.effect === 'block');
  // Resuming waits out the minimum pause; a mode change by the owner takes effect at once.
  if (clear && previous?.state === 'paused' && previous.mode === settings.mode) {
    const remainingMs = previous.since + requiredPauseMs(settings, previous.strikes) - now;
    if (remainingMs > 0) reasons.push(reason('cooldown', 'block', { remainingSeconds: Math.ceil(remainingMs / 1000) }));
  }
  reasons.push(...unknownReasons(signals, settings.mode));
  const share = !reasons.some((item) => item.effect === 'block');
  const state: SharingState = share ? 'sharing' : 'paused';
  const capped = share && reasons.some((item) => item.effect === 'cap');
  const caps = capped ? { ...settings.polite, maxPowerW: minOfLimits(settings.polite.maxPowerW, settings.maxPowerW) } : null;
  return {
    share,
    state,
    mode: settings.mode,
    reasons,
    summary: summarize(state, reasons),
    since: previous && previous.state === state ? previous.since : now,
    decidedAt: now,
    caps,
    strikes: nextStrikes(state, reasons, settings, now, previous),
  };
}

function minOfLimits(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/**
 * Whether two decisions differ in a way the worker or the UI must act on: state, caps or the
 * conditions that block or cap. Live numbers ("away 12 → 13 min") are not a change.
 */
export function isSameDecision(a: Decision, b: Decision): boolean {
  const key = (d: Decision): string =>
    JSON.stringify([d.state, d.mode, d.caps, d.reasons.filter((r) => r.effect === 'block' || r.effect === 'cap').map((r) => r.code)]);
  return key(a) === key(b);
}
