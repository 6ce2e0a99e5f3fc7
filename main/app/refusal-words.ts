/**
 * What the owner is told when the coordinator refuses this worker, in plain words: what it
 * means for this PC and what they can do. The coordinator's own message follows, marked as its
 * words (a coordinator is a party across a wire: its text is shown, never trusted as the app's).
 */
import type { Refusal } from '../worker/coordinator-link.js';

/** A short title and the explanation, for the Dashboard, Diagnostics and a notification. */
export function explainRefusal(refusal: Refusal): { title: string; sentence: string } {
  const said = refusal.message.trim() ? ` The network said: “${refusal.message.trim().slice(0, 300)}”` : '';
  if (refusal.code === 'worker_ejected') {
    return {
      title: 'The network no longer accepts this PC',
      sentence:
        'Answers from this PC failed the network’s checks three times: they were not what the model gives. If you did not change Silkworm or its model file, the graphics card may be computing wrong results: undo any overclock, check its temperature, and run a memory test.' +
        said,
    };
  }
  return {
    title: 'The network knows this PC by another key',
    sentence: 'The network has this worker’s id bound to a different identity key, so it refuses this one. This happens when Silkworm’s identity file was replaced, for example by restoring an old backup.' + said,
  };
}
