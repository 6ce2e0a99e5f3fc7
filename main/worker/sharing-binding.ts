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
 * and leave the worker paused under a decision to share. Pausing is the exception, as it is
 * never delayed: a decision to stop that arrives while one to share is being applied (its caps
 * may wait for a model switch, which waits for a job) pauses the worker at once, and the
 * decision to share then does not resume it.
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
  /** The decision being applied, if any. */
  let applying: Decision | null = null;
  /** The pause already asked for on behalf of the waiting decision to stop, ahead of its turn. */
  let pausedEarly: Promise<unknown> | null = null;
  const failed = (error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'could not apply the sharing decision');
  const applyOne = async (decision: Decision, paused: Promise<unknown> | null) => {
    if (decision.share) {
      await worker.setCaps(decision.caps);
      // A decision to stop came meanwhile (and has paused the worker): it stands.
      if (waiting && !waiting.share) return;
      await worker.resume();
    } else {
      await (paused ?? worker.pause());
      await worker.setCaps(decision.caps);
    }
  };
  const drain = async () => {
    while (waiting) {
      const decision = waiting;
      const paused = pausedEarly;
      waiting = null;
      pausedEarly = null;
      applying = decision;
      await applyOne(decision, paused).catch(failed);
    }
    applying = null;
  };
  const apply = (decision: Decision) => {
    logger.info({ share: decision.share, summary: decision.summary }, 'sharing decision');
    waiting = decision;
    if (decision.share) pausedEarly = null;
    else if (applying?.share && !pausedEarly) pausedEarly = worker.pause().catch(failed);
    if (!applying) void drain();
  };
  controller.on('decision', apply);
  // Before its first poll the controller holds a placeholder ("starting"): nothing to apply yet.
  const current = controller.currentDecision;
  if (!current.reasons.some((r) => r.code === 'starting')) apply(current);
  return () => controller.off('decision', apply);
}
