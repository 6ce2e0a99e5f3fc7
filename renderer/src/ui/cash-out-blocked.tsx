/**
 * What stops every cash-out from the network the worker serves (its payout vault would refuse
 * them), in the owner's words, on the Dashboard and beside Cash out; nothing when all is well.
 */
import type { EarningsView } from '../../../main/ipc/contract.js';

export function CashOutBlocked({ earnings }: { earnings: EarningsView }) {
  if (!earnings.cashOutBlocked) return null;
  return (
    <p className="error-note" role="alert" data-testid="cash-out-blocked">
      {earnings.cashOutBlocked.summary}
    </p>
  );
}
