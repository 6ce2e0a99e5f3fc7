/**
 * What the share switch and the sharing state say to the owner, in every shell (the app's
 * Dashboard, the tray, notifications): the switch's label matches the mode it turns on, and
 * each state is one plain sentence — with the one click that would change it, where one exists.
 * The policy's reasons (main/sharing/reasons.ts) stay structured; the words are made here.
 */
import type { Decision } from '../sharing/policy.js';
import type { Reason } from '../sharing/reasons.js';
import type { SharingMode } from '../sharing/settings.js';
import type { SharingFix } from '../ipc/views.js';

/** The switch's label for the mode it turns on (or keeps on). */
export function switchLabel(mode: Exclude<SharingMode, 'off'>): string {
  switch (mode) {
    case 'idle':
      return 'Share GPU when idle';
    case 'polite':
      return 'Share GPU politely';
    case 'always':
      return 'Share GPU always';
  }
}

/** The mode in a few words, shown beside the switch. */
export const MODE_NAMES: Readonly<Record<SharingMode, string>> = { off: 'Off', idle: 'When idle', polite: 'Polite', always: 'Always' };

function minutes(count: number): string {
  if (count < 1) return 'less than a minute';
  if (count < 60) return `${Math.floor(count)} min`;
  const hours = Math.floor(count / 60);
  const rest = Math.floor(count % 60);
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

function names(list: readonly string[]): string {
  return list.length <= 2 ? list.join(' and ') : `${list.slice(0, 2).join(', ')} and ${list.length - 2} more`;
}

/** The sentence and fix of the first reason that pauses sharing. */
function pausedBy(item: Reason): { sentence: string; fix: SharingFix | null } {
  const settingsFix: SharingFix = { label: 'Change the limit', action: { kind: 'open-settings' } };
  switch (item.code) {
    case 'starting':
      return { sentence: 'Checking this PC before sharing starts.', fix: null };
    case 'owner-active':
      return {
        sentence: `Paused while you use this PC. Sharing starts after ${minutes(item.params.thresholdMinutes)} without keyboard or mouse.`,
        fix: { label: 'Share politely while I work', action: { kind: 'set-mode', mode: 'polite' } },
      };
    case 'presence-unknown':
      return {
        sentence: 'Paused: Silkworm cannot tell whether you are at this PC, so it never shares when idle here.',
        fix: { label: 'Share always on this PC', action: { kind: 'set-mode', mode: 'always' } },
      };
    case 'fullscreen':
      return { sentence: `Paused while ${item.params.app} is fullscreen.`, fix: null };
    case 'game':
      return { sentence: `Paused while ${item.params.name} is running.`, fix: null };
    case 'gpu-busy':
      return { sentence: `Paused while ${names(item.params.processes)} ${item.params.processes.length === 1 ? 'uses' : 'use'} the GPU.`, fix: null };
    case 'gpu-hot':
      return item.params.tempC > item.params.maxC
        ? { sentence: `Paused: the GPU is at ${Math.round(item.params.tempC)} °C, over your ${item.params.maxC} °C limit.`, fix: settingsFix }
        : { sentence: `Paused while the GPU cools down to ${item.params.resumeC} °C (now ${Math.round(item.params.tempC)} °C).`, fix: settingsFix };
    case 'power-high':
      return item.params.powerW > item.params.maxW
        ? { sentence: `Paused: the GPU draws ${Math.round(item.params.powerW)} W, over your ${item.params.maxW} W limit.`, fix: settingsFix }
        : { sentence: `Paused until the GPU draws less than ${Math.round(item.params.resumeW)} W (now ${Math.round(item.params.powerW)} W).`, fix: settingsFix };
    case 'on-battery':
      return { sentence: 'Paused while this PC runs on battery.', fix: { label: 'Share on battery too', action: { kind: 'share-on-battery' } } };
    case 'outside-schedule':
      return {
        sentence: item.params.nextDay === null ? 'Paused: now is outside your sharing schedule.' : `Paused outside your schedule. Sharing resumes ${capitalize(item.params.nextDay)} at ${item.params.nextTime}.`,
        fix: { label: 'Edit the schedule', action: { kind: 'open-settings' } },
      };
    case 'quiet-hours':
      return { sentence: `Paused for your quiet hours, until ${item.params.until}.`, fix: { label: 'Edit quiet hours', action: { kind: 'open-settings' } } };
    case 'cooldown':
      return { sentence: `Resuming in ${item.params.remainingSeconds < 60 ? `${Math.ceil(item.params.remainingSeconds)} s` : minutes(Math.ceil(item.params.remainingSeconds / 60))}.`, fix: null };
    case 'signal-unknown':
      return { sentence: `Paused: Silkworm cannot read ${names(item.params.signals)} on this PC.`, fix: null };
    default:
      return { sentence: 'Paused.', fix: null };
  }
}

/** Why it shares, in one sentence ("Sharing — you have been away 12 min."). */
function sharingBecause(reasons: readonly Reason[]): string {
  const polite = reasons.find((item) => item.effect === 'cap');
  if (polite) return polite.code === 'quiet-hours' ? `Sharing within your polite limits: quiet hours until ${polite.params.until}.` : 'Sharing within your polite limits while you use this PC.';
  for (const item of reasons) {
    if (item.code === 'away') return `Sharing: you have been away ${minutes(item.params.idleMinutes)}.`;
    if (item.code === 'screen-locked') return 'Sharing while the screen is locked.';
    if (item.code === 'no-local-session') return 'Sharing: no one is signed in at this PC.';
    if (item.code === 'mode-always') return 'Sharing all the time, within your temperature and power limits.';
  }
  return 'Sharing.';
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The sharing state as one plain sentence, with the one-click fix of a pause where one exists. */
export function explainSharing(decision: Pick<Decision, 'state' | 'reasons'>): { sentence: string; fix: SharingFix | null } {
  if (decision.state === 'off') return { sentence: 'Sharing is off. Turn it on to earn while you are away.', fix: null };
  if (decision.state === 'sharing') return { sentence: sharingBecause(decision.reasons), fix: null };
  const first = decision.reasons.find((item) => item.effect === 'block');
  return first ? pausedBy(first) : { sentence: 'Paused.', fix: null };
}
