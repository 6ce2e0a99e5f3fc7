/**
 * What the owner is told without opening the app (the shells that can notify: the desktop app):
 * sharing paused or resumed (in the same sentence the Dashboard shows), a job process that
 * stopped, an answer of this PC failing the network's check, the network refusing this PC, and
 * jobs paid by a network whose payout vault would refuse every cash-out.
 * Not every reason change, only state changes.
 */
import type { WorkerCore } from '../worker/worker-core.js';
import type { Decision } from '../sharing/policy.js';
import { explainSharing } from './sharing-words.js';
import { explainCashOutBlocked, explainFailedCheck, explainRefusal } from './refusal-words.js';
import type { CheckFailed, Refusal } from '../worker/coordinator-link.js';

/** Shortest time between two notifications of failed checks. */
export const CHECK_NOTICE_GAP_MS = 5 * 60_000;

/** Notifies through `notify` from now on; returns the function that stops. */
export function followNotifications(core: Pick<WorkerCore, 'sharing' | 'engine' | 'worker' | 'books'>, notify: (title: string, body: string) => void, now: () => number = Date.now): () => void {
  const onDecision = (next: Decision, previous: Decision) => {
    if (next.state === previous.state) return;
    if (next.state === 'sharing') notify('Sharing your GPU', explainSharing(next).sentence);
    else if (previous.state === 'sharing') notify(next.state === 'off' ? 'Sharing turned off' : 'Sharing paused', next.state === 'off' ? 'Your GPU is yours again.' : explainSharing(next).sentence);
  };
  const onCrash = () => notify('The job process stopped', 'Silkworm restarts it; see Diagnostics if this repeats.');
  // Once per refusal: the worker keeps asking (slowly), and each answer says the same.
  let refused = false;
  const onRefused = (refusal: Refusal) => {
    if (refused) return;
    refused = true;
    const { title, sentence } = explainRefusal(refusal);
    notify(title, sentence);
  };
  const onConnected = () => void (refused = false);
  // At most one a few minutes apart: each failed check is on the Dashboard, and a coordinator
  // sending them by the thousand must not flood the desktop.
  let lastCheckNotice = -Infinity;
  const onCheckFailed = (check: CheckFailed) => {
    if (now() - lastCheckNotice < CHECK_NOTICE_GAP_MS) return;
    lastCheckNotice = now();
    const { title, sentence } = explainFailedCheck(check);
    notify(title, sentence);
  };
  // Work for a network whose vault would refuse every cash-out earns nothing that can be cashed
  // out: said when a job's receipt comes while that holds, once per run for each reason.
  const blockedSaid = new Set<string>();
  const onReceipt = () => {
    const code = core.books()?.ledger.vaultRefusal();
    if (!code || blockedSaid.has(code)) return;
    blockedSaid.add(code);
    const { title, sentence } = explainCashOutBlocked(code);
    notify(title, sentence);
  };
  core.sharing.on('decision', onDecision);
  core.worker.on('receipt', onReceipt);
  core.engine.on('crashed', onCrash);
  core.worker.on('refused', onRefused);
  core.worker.on('connected', onConnected);
  core.worker.on('check-failed', onCheckFailed);
  return () => {
    core.sharing.off('decision', onDecision);
    core.worker.off('receipt', onReceipt);
    core.engine.off('crashed', onCrash);
    core.worker.off('refused', onRefused);
    core.worker.off('connected', onConnected);
    core.worker.off('check-failed', onCheckFailed);
  };
}
