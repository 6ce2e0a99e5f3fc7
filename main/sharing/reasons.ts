/**
 * Why the policy decided what it did: structured reasons (code + params) the UI can
 * translate, and the English one-liner the dashboard and tray show by default.
 */

/** The parameters of each reason, by code. */
export interface ReasonParams {
  'mode-off': Record<string, never>;
  'mode-always': Record<string, never>;
  starting: Record<string, never>;
  away: { idleMinutes: number };
  'screen-locked': Record<string, never>;
  'no-local-session': Record<string, never>;
  'owner-active': { idleSeconds: number; thresholdMinutes: number };
  'presence-unknown': Record<string, never>;
  fullscreen: { app: string };
  game: { name: string };
  'no-game': Record<string, never>;
  'gpu-busy': { processes: string[] };
  'gpu-temp': { tempC: number };
  'gpu-hot': { tempC: number; maxC: number; resumeC: number };
  'gpu-power': { powerW: number };
  'power-high': { powerW: number; maxW: number; resumeW: number };
  'on-battery': { percent: number | null };
  'outside-schedule': { nextDay: string | null; nextTime: string | null };
  'quiet-hours': { until: string };
  cooldown: { remainingSeconds: number };
  'signal-unknown': { signals: string[] };
}

/** A reason's code. */
export type ReasonCode = keyof ReasonParams;

/**
 * What a reason does to the decision: `block` pauses sharing, `cap` shares with polite caps,
 * `allow` is a condition that held (shown in the "Sharing: …" line), `info` is for details.
 */
export type ReasonEffect = 'allow' | 'block' | 'cap' | 'info';

/** One structured reason. */
export type Reason = { [K in ReasonCode]: { code: K; effect: ReasonEffect; params: ReasonParams[K] } }[ReasonCode];

/** Builds a reason with its params type-checked against its code. */
export function reason<K extends ReasonCode>(code: K, effect: ReasonEffect, params: ReasonParams[K]): Reason {
  return { code, effect, params } as Reason;
}

function minutesText(minutes: number): string {
  if (minutes < 1) return '<1 min';
  if (minutes < 60) return `${Math.floor(minutes)} min`;
  const hours = Math.floor(minutes / 60);
  const rest = Math.floor(minutes % 60);
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

function secondsText(seconds: number): string {
  return seconds < 60 ? `${Math.ceil(seconds)} s` : minutesText(Math.ceil(seconds / 60));
}

function listText(names: readonly string[]): string {
  return names.length <= 2 ? names.join(' and ') : `${names.slice(0, 2).join(', ')} and ${names.length - 2} more`;
}

/** The English phrase for one reason, as it appears in the summary line. */
export function describeReason(item: Reason): string {
  switch (item.code) {
    case 'mode-off': return 'sharing is off';
    case 'mode-always': return 'always on';
    case 'starting': return 'checking this PC';
    case 'away': return `away ${minutesText(item.params.idleMinutes)}`;
    case 'screen-locked': return 'screen locked';
    case 'no-local-session': return 'no one signed in at this PC';
    case 'owner-active':
      return item.effect === 'cap'
        ? "you're using the PC, polite limits on"
        : `you're using the PC, sharing after ${minutesText(item.params.thresholdMinutes)} away`;
    case 'presence-unknown':
      return item.effect === 'cap'
        ? "can't tell if you're away, polite limits on"
        : "can't tell if you're away (no idle-time signal here; use Always on a PC with no screen)";
    case 'fullscreen': return `${item.params.app} is fullscreen`;
    case 'game': return `${item.params.name} is running`;
    case 'no-game': return 'no game';
    case 'gpu-busy': return `GPU in use by ${listText(item.params.processes)}`;
    case 'gpu-temp': return `GPU ${Math.round(item.params.tempC)} °C`;
    case 'gpu-hot':
      return item.params.tempC > item.params.maxC
        ? `GPU ${Math.round(item.params.tempC)} °C, over your ${item.params.maxC} °C limit`
        : `GPU cooling down (${Math.round(item.params.tempC)} °C, resumes at ${item.params.resumeC} °C)`;
    case 'gpu-power': return `GPU ${Math.round(item.params.powerW)} W`;
    case 'power-high':
      return item.params.powerW > item.params.maxW
        ? `GPU drawing ${Math.round(item.params.powerW)} W, over your ${item.params.maxW} W limit`
        : `GPU power settling (${Math.round(item.params.powerW)} W, resumes under ${Math.round(item.params.resumeW)} W)`;
    case 'on-battery': return item.params.percent === null ? 'on battery' : `on battery (${Math.round(item.params.percent)}%)`;
    case 'outside-schedule':
      return item.params.nextDay === null ? 'outside your schedule' : `outside your schedule (next: ${capitalize(item.params.nextDay)} ${item.params.nextTime})`;
    case 'quiet-hours': return item.effect === 'cap' ? `quiet hours until ${item.params.until}, polite limits on` : `quiet hours until ${item.params.until}`;
    case 'cooldown': return `resuming in ${secondsText(item.params.remainingSeconds)}`;
    case 'signal-unknown': return `unknown: ${item.params.signals.join(', ')}`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The dashboard line: "Sharing: away 12 min · no game · GPU 54 °C",
 * "Paused: Cyberpunk 2077 is fullscreen", or "Off".
 */
export function summarize(state: 'sharing' | 'paused' | 'off', reasons: readonly Reason[]): string {
  if (state === 'off') return 'Off';
  const shown = reasons.filter((item) => (state === 'paused' ? item.effect === 'block' : item.effect === 'allow' || item.effect === 'cap'));
  const label = state === 'paused' ? 'Paused' : reasons.some((item) => item.effect === 'cap') ? 'Sharing politely' : 'Sharing';
  return shown.length === 0 ? label : `${label}: ${shown.map(describeReason).join(' · ')}`;
}
