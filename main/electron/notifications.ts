/** Native notifications for what the owner should know without opening the app. */
import { Notification } from 'electron';
import type { HeadlessWorker } from '../worker/headless.js';

function notify(title: string, body: string): void {
  if (Notification.isSupported()) new Notification({ title, body, silent: true }).show();
}

/** Notifies when sharing pauses or resumes (not on every reason change) and when the engine fails. */
export function setupNotifications(core: HeadlessWorker): () => void {
  const onDecision = (next: { state: string; summary: string }, previous: { state: string }) => {
    if (next.state === previous.state) return;
    if (next.state === 'sharing') notify('Sharing your GPU', next.summary.replace(/^Sharing:\s*/, ''));
    else if (previous.state === 'sharing') notify(next.state === 'off' ? 'Sharing turned off' : 'Sharing paused', next.summary.replace(/^(Paused|Off):?\s*/, '') || 'Your GPU is yours again.');
  };
  const onCrash = () => notify('The job process stopped', 'Silkworm restarts it; see Diagnostics if this repeats.');
  core.sharing.on('decision', onDecision);
  core.engine.on('crashed', onCrash);
  return () => {
    core.sharing.off('decision', onDecision);
    core.engine.off('crashed', onCrash);
  };
}
