/**
 * What the owner is told when the coordinator finds one of this PC's answers wrong, refuses
 * this worker, or cannot work with it (a version or terms this app cannot use), in plain words: what it means for this PC and what they can do. The coordinator's
 * own message follows, marked as its words (a coordinator is a party across a wire: its text is
 * shown, never trusted as the app's).
 */
import type { CheckFailed, Refusal } from '../worker/coordinator-link.js';
import type { VaultRefusalCode } from '../ledger/vouchers.js';
import type { CashOutOutlook } from '../earnings/earnings-service.js';
import { formatTon } from '../../network/protocol/pricing.js';

/** What an honest owner can check when the network finds this PC's answers wrong. */
const CHECK_YOUR_GPU = 'If you did not change Silkworm or its model file, the graphics card may be computing wrong results: undo any overclock, check its temperature, and run a memory test.';

/** The coordinator's words, quoted and bounded; nothing when it said nothing. */
function quoted(message: string): string {
  return message.trim() ? ` The network said: “${message.trim().slice(0, 300)}”` : '';
}

/** A short title and the explanation, for the Dashboard, Diagnostics and a notification. */
export function explainRefusal(refusal: Refusal): { title: string; sentence: string } {
  const said = quoted(refusal.message);
  if (refusal.code === 'worker_ejected') {
    return {
      title: 'The network no longer accepts this PC',
      sentence: `Answers from this PC failed the network’s checks three times: they were not what the model gives. ${CHECK_YOUR_GPU}${said}`,
    };
  }
  if (refusal.code === 'client_too_old') {
    return {
      title: 'Silkworm needs an update',
      sentence: `The network no longer works with this version of Silkworm, so it sends this PC no jobs. Update Silkworm: sharing starts again by itself once it is updated.${said}`,
    };
  }
  if (refusal.code === 'server_too_old') {
    return {
      title: 'The network needs an update',
      sentence: `The network runs an older version than this Silkworm works with, so it can send this PC no jobs. Its operator must update it; Silkworm keeps trying meanwhile, and nothing is earned until then.${said}`,
    };
  }
  if (refusal.code === 'unusable_welcome') {
    const what = refusal.detail?.trim() ? ` (What was wrong: ${refusal.detail.trim().slice(0, 300)})` : '';
    return {
      title: 'The network’s terms cannot be used',
      sentence: `The network announced its payout vault or its prices in a form Silkworm cannot read, so it could not check what this PC is paid: this PC does not work for it. Silkworm keeps trying in case its operator fixes them; or choose another network in Settings.${what}`,
    };
  }
  return {
    title: 'The network knows this PC by another key',
    sentence: 'The network has this worker’s id bound to a different identity key, so it refuses this one. This happens when Silkworm’s identity file was replaced, for example by restoring an old backup.' + said,
  };
}

/** A failed check that did not eject this PC (yet): what happened, how close ejection is, what to check. */
export function explainFailedCheck(check: Pick<CheckFailed, 'strikes' | 'ejectAt' | 'message'>): { title: string; sentence: string } {
  // The coordinator's numbers are its word: a count that does not add up is not repeated as fact.
  const left = Math.max(1, check.ejectAt - check.strikes);
  return {
    title: 'An answer from this PC failed the network’s check',
    sentence: `The network re-scored one of this PC’s answers with the model, and it was not what the model gives, so that job was not paid. This is strike ${check.strikes} of ${check.ejectAt}: ${left === 1 ? 'one more' : `${left} more`} and the network stops accepting this PC. ${CHECK_YOUR_GPU}${quoted(check.message)}`,
  };
}

/** Before Cash out: why the vault would refuse a claim of what is ready now (closed, or short of it), as last read. */
export function explainVaultOutlook(outlook: CashOutOutlook): string {
  if (outlook.code === 'vault_closed') return "The network has closed its payout vault, so it pays no claims: Cash out would be refused. Ask the network's operator how your earnings will be paid.";
  return `The network's vault can pay ${formatTon(outlook.spendableNanotons)} TON right now, less than the ${formatTon(outlook.dueNanotons)} TON ready for you, so Cash out would be refused until the network's operator adds funds. What you earned stays owed to you.`;
}

/** While the network's payout vault would refuse every claim (its voucher key or chain is not the network's): why, and what to do. */
export function explainCashOutBlocked(code: VaultRefusalCode): { title: string; sentence: string } {
  const why =
    code === 'vault_key_mismatch'
      ? 'This network signs its promises to pay you with a key its payout vault on the TON chain does not hold'
      : 'This network makes its promises to pay you for another TON chain than the one its payout vault pays on';
  return {
    title: 'Earnings from this network cannot be cashed out',
    sentence: `${why}, so the vault would refuse every cash-out. What you earn from it cannot be cashed out: ask its operator, or choose another network in Settings.`,
  };
}
