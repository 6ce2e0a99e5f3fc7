/**
 * Connects the owner's sharing policy to the worker: a decision to stop pauses the worker
 * (jobs handed to other workers, model unloaded), a decision to share resumes it. A decision to
 * stop pauses first and only then takes its caps, so they are remembered for the next start:
 * taken first, a change of GPU limits would reload the model and offer capacity just as the
 * owner wants the GPU back.
 *
 * Decisions are applied one at a time, and one arriving while another is being applied waits
 * for it; of several waiting, only the newest is applied. A change of caps can pause and reload
 * the model (seconds on a slow PC), so decisions applied side by side could finish out of order
 * and leave the worker paused under a decision to share.
 */
import type { SharingController } from '../sharing/sharing-controller.js';
import type { Decision } from '../sharing/policy.js';
import type { Worker } from './worker.js';
import type { Logger } from '../../network/node-kit/log.js';

/** What the binding needs of the worker. */
export type SharingTarget = Pick<Worker, 'setCaps' | 'pause' | 'resume'>;

/** Applies every decision of `controller` to `worker`; returns a function that unbinds. */
export function bindSharing(worker: SharingTarget, controller: Pick<SharingController, 'on' | 'off' | 'currentDecision'>, logger: Logger): () => void {
  let waiting: Decision | null = null;
  let applying = false;
  const applyOne = async (decision: Decision) => {
    if (decision.share) {
      await worker.setCaps(decision.caps);
      await worker.resume();
    } else {
      await worker.pause();
      await worker.setCaps(decision.caps);
    }
  };
  const drain = async () => {
    applying = true;
    while (waiting) {
      const decision = waiting;
      waiting = null;
      await applyOne(decision).catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'could not apply the sharing decision'));
    }
    applying = false;
  };
  const apply = (decision: Decision) => {
    logger.info({ share: decision.share, summary: decision.summary }, 'sharing decision');
    waiting = decision;
    if (!applying) void drain();
  };
  controller.on('decision', apply);
  // Before its first poll the controller holds a placeholder ("starting"): nothing to apply yet.
  const current = controller.currentDecision;
  if (!current.reasons.some((r) => r.code === 'starting')) apply(current);
  return () => controller.off('decision', apply);
}
