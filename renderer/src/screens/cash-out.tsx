/**
 * Claimable now and the Cash out flow: confirm → sending the claim → waiting for the payout on
 * chain → paid (with its explorer link), or the worker's reason when it refused. Keyboard:
 * the confirm button takes focus when asked, Escape cancels.
 */
import type { EarningsView } from '../../../main/ipc/contract.js';
import { useEffect, useRef, type KeyboardEvent } from 'react';
import { useApp } from '../store/app-store.js';
import { Stat } from '../ui/card.js';
import { formatTon } from '../format.js';
import { ExplorerLink } from './earnings-tables.js';

function CashOutStatus() {
  const state = useApp((s) => s.cashOut);
  const cancel = useApp((s) => s.cancelCashOut);
  const confirm = useApp((s) => s.confirmCashOut);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (state.phase === 'confirming') confirmRef.current?.focus();
  }, [state.phase]);
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') cancel();
  };
  switch (state.phase) {
    case 'idle':
      return null;
    case 'confirming':
      return (
        <div className="cash-out-panel" role="group" aria-labelledby="cash-out-question" onKeyDown={onKeyDown}>
          <p id="cash-out-question">
            Claim <strong>{formatTon(state.nanotons)} TON</strong> from the payout vault to your payout address? Your wallet attaches a little TON for gas; what is not used comes back.
          </p>
          <div className="row">
            <button ref={confirmRef} type="button" className="button primary" onClick={() => void confirm()}>
              Claim {formatTon(state.nanotons)} TON
            </button>
            <button type="button" className="button" onClick={cancel}>
              Cancel
            </button>
          </div>
        </div>
      );
    case 'sending':
      return (
        <div className="cash-out-panel" role="status" aria-live="polite">
          <span className="spinner" aria-hidden="true" /> Sending the claim for {formatTon(state.nanotons)} TON…
        </div>
      );
    case 'waiting':
      return (
        <div className="cash-out-panel" role="status" aria-live="polite">
          <p>
            <span className="spinner" aria-hidden="true" /> Claim sent{state.seq !== null ? ` with voucher ${state.seq}` : ''}. Waiting for the payout of {formatTon(state.nanotons)} TON on chain…
          </p>
          {state.late ? <p className="muted">This is taking longer than usual. The payout appears under Payouts once the chain confirms it; you can leave this screen.</p> : null}
        </div>
      );
    case 'paid':
      return (
        <div className="cash-out-panel tone-ok" role="status" aria-live="polite" data-testid="cash-out-paid">
          <p>
            Paid: <strong>{formatTon(state.nanotons)} TON</strong> arrived at your payout address.
            {state.payout?.explorerUrl ? (
              <>
                {' '}
                <ExplorerLink url={state.payout.explorerUrl}>View the transaction</ExplorerLink>
              </>
            ) : null}
          </p>
          <button type="button" className="button" onClick={cancel}>
            Done
          </button>
        </div>
      );
    case 'nothing':
      return (
        <div className="cash-out-panel" role="status">
          <p>Nothing to claim right now: your balance is already paid, or not yet signed by the network.</p>
          <button type="button" className="button" onClick={cancel}>
            OK
          </button>
        </div>
      );
    case 'error':
      return (
        <div className="cash-out-panel error-note" role="alert">
          <span>{state.error.message}</span>
          <button type="button" className="button" onClick={cancel}>
            Dismiss
          </button>
        </div>
      );
  }
}

/** The balance card's body: claimable now with Cash out, then pending, paid and flagged. */
export function Balance({ summary }: { summary: EarningsView }) {
  const phase = useApp((s) => s.cashOut.phase);
  const ask = useApp((s) => s.askCashOut);
  const nothing = summary.claimableNanotons === '0';
  const busy = phase === 'sending' || phase === 'waiting';
  const flagged = summary.flaggedNanotons ?? '0';
  return (
    <>
      <div className="claim">
        <div data-testid="claimable">
          <div className="stat-value">{formatTon(summary.claimableNanotons)} TON</div>
          <div className="stat-hint">claimable now · signed by the network, not yet paid</div>
        </div>
        <button
          type="button"
          className="button primary"
          disabled={nothing || busy || phase === 'confirming'}
          aria-busy={busy}
          title={nothing ? 'Nothing is claimable yet' : undefined}
          onClick={ask}
        >
          {busy ? 'Cashing out…' : 'Cash out'}
        </button>
      </div>
      <CashOutStatus />
      <div className="stats" data-testid="balances">
        <Stat small value={`${formatTon(summary.pendingNanotons)} TON`} hint="pending · credited, awaiting a voucher" />
        <Stat small value={`${formatTon(summary.paidNanotons)} TON`} hint="paid on chain" />
        {flagged !== '0' ? <Stat small value={<span className="warn-text">{formatTon(flagged)} TON</span>} hint="flagged · received but not matched, not counted" /> : null}
        {summary.underpaidJobs ? (
          <Stat
            small
            value={<span className="warn-text" data-testid="underpaid">{formatTon(summary.underpaidNanotons ?? '0')} TON short</span>}
            hint={`underpaid · ${summary.underpaidJobs} ${summary.underpaidJobs === 1 ? 'job was' : 'jobs were'} paid for fewer tokens than this PC generated`}
          />
        ) : null}
      </div>
    </>
  );
}
