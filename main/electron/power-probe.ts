/**
 * Feeds the sharing policy from Electron's powerMonitor: idle time, screen lock and power
 * source, re-reported every few seconds and at once on lock/unlock/suspend/resume/power
 * changes so the owner's return is seen without waiting for the next poll.
 */
import { powerMonitor } from 'electron';
import { createReportedProbe, type SignalProbe } from '../sharing/signals.js';

const REPORT_MS = 2000;

/** The probe to put first in the signal source, and the function that stops reporting. */
export function createPowerMonitorProbe(): { probe: SignalProbe; stop(): void } {
  const { probe, report } = createReportedProbe('electron-power-monitor', { maxAgeMs: REPORT_MS * 3 });
  const read = () =>
    report({
      idleSeconds: powerMonitor.getSystemIdleTime(),
      screenLocked: powerMonitor.getSystemIdleState(1) === 'locked',
      battery: { onBattery: powerMonitor.isOnBatteryPower(), percent: null },
    });
  read();
  const timer = setInterval(read, REPORT_MS);
  const events = ['lock-screen', 'unlock-screen', 'suspend', 'resume', 'on-ac', 'on-battery', 'user-did-become-active', 'user-did-resign-active'] as const;
  for (const event of events) powerMonitor.on(event as 'lock-screen', read);
  return {
    probe,
    stop() {
      clearInterval(timer);
      for (const event of events) powerMonitor.off(event as 'lock-screen', read);
    },
  };
}
