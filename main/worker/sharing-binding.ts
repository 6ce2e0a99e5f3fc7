/**
 * Connects the owner's sharing policy to the worker: a decision to stop pauses the worker
 * (jobs handed to other workers, model unloaded), a decision to share resumes it.
 */
import type { SharingController } from '../sharing/sharing-controller.js';
import type { Decision } from '../sharing/policy.js';
import type { Worker } from './worker.js';
import type { Logger } from '../../network/node-kit/log.js';

/** Applies every decision of `controller` to `worker`; returns a function that unbinds. */
export function bindSharing(worker: Worker, controller: SharingController, logger: Logger): () => void {
  const apply = (decision: Decision) => {
    logger.info({ share: decision.share, summary: decision.summary }, 'sharing decision');
    const action = worker.setCaps(decision.caps).then(async () => {
      if (decision.share) await worker.resume();
      else await worker.pause();
    });
    action.catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'could not apply the sharing decision'));
  };
  controller.on('decision', apply);
  // Before its first poll the controller holds a placeholder ("starting"): nothing to apply yet.
  const current = controller.currentDecision;
  if (!current.reasons.some((r) => r.code === 'starting')) apply(current);
  return () => controller.off('decision', apply);
}
