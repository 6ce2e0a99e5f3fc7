/**
 * What is ready to cash out, and the Cash out flow: confirm (with the passphrase of the wallet
 * on this PC when it has one, or a note to approve it in the wallet app) → sending the claim →
 * waiting for the payout on chain → paid (with its explorer link), or the worker's reason when it
 * refused. Keyboard: the confirm button takes focus when asked, Escape cancels. A network whose
 * vault would refuse every claim is said above all else. The books' states to the nanoton (not
 * yet signed, flagged, underpaid) and what they set aside are BooksDetail, under Advanced.
 */
import type { EarningsView } from '../../../main/ipc/contract.js';
import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useApp } from '../store/app-store.js';
import { Stat } from '../ui/card.js';
import { Money } from '../ui/money.js';
import { formatTon, formatTonExact } from '../money.js';
import { ExplorerLink } from './earnings-tables.js';
import { formatAgo } from '../format.js';
import { CashOutBlocked } from '../ui/cash-out-blocked.js';

function Confirming({ nanotons }: { nanotons: string }) {
  const state = useApp((s) => s.cashOut);
  const cancel = useApp((s) => s.cancelCashOut);
  const confirm = useApp((s) => s.confirmCashOut);
  const via = useApp((s) => s.wallet.value?.cashOut);
  const needsPassphrase = via?.via === 'local' && via.needsPassphrase;
  const [passphrase, setPassphrase] = useState('');
  const confirmRef = useRef<HTMLButtonElement>(null);
  const passphraseRef = useRef<HTMLInputElement>(null);
  const passphraseId = useId();
  const error = state.phase === 'confirming' ? state.error : null;
  useEffect(() => {
    (needsPassphrase ? passphraseRef.current : confirmRef.current)?.focus();
  }, [needsPassphrase, error]);
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') cancel();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void confirm(needsPassphrase ? passphrase : undefined);
  };
  return (
    <form className="cash-out-panel" aria-labelledby="cash-out-question" onKeyDown={onKeyDown} onSubmit={submit}>
      <p id="cash-out-question">
        Send <strong>{formatTon(nanotons)} TON</strong> from the network’s payout vault to your payout address? Your wallet attaches a little TON for the fee; what is not used comes back.
        {via?.via === 'tonconnect' ? ' You approve it in your wallet app.' : ''}
      </p>
      {needsPassphrase ? (
        <div className="field">
          <label htmlFor={passphraseId}>Wallet passphrase</label>
          <input ref={passphraseRef} id={passphraseId} className="input" type="password" autoComplete="current-password" value={passphrase} onChange={(event) => setPassphrase(event.target.value)} aria-invalid={error ? true : undefined} />
        </div>
      ) : null}
      {error ? (
        <p className="field-error" role="alert">
          {error.message}
        </p>
      ) : null}
      <div className="row">
        <button ref={confirmRef} type="submit" className="button primary" disabled={needsPassphrase && passphrase === ''}>
          Cash out {formatTon(nanotons)} TON
        </button>
        <button type="button" className="button" onClick={cancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function CashOutStatus() {
  const state = useApp((s) => s.cashOut);
  const cancel = useApp((s) => s.cancelCashOut);
  switch (state.phase) {
    case 'idle':
      return null;
    case 'confirming':
      return <Confirming nanotons={state.nanotons} />;
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
            <span className="spinner" aria-hidden="true" /> Claim sent. Waiting for {formatTon(state.nanotons)} TON to arrive…
          </p>
          {state.late ? <p className="muted">This is taking longer than usual. The payout shows under Advanced → Payouts once the chain confirms it; you can leave this screen.</p> : null}
        </div>
      );
    case 'paid':
      return (
        <div className="cash-out-panel tone-ok" role="status" aria-live="polite" data-testid="cash-out-paid">
          <p>
            Paid: <strong>{formatTon(state.nanotons)} TON</strong> to your payout address.
            {state.payout && BigInt(state.payout.depositNanotons) > 0n ? ` ${formatTon(state.payout.depositNanotons)} TON of it stays in your payout account to pay for its storage.` : null}
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
          <p>Nothing to cash out right now: it is already paid, or the network has not signed it yet.</p>
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

/** The balance card's body: ready to cash out (with Cash out), and paid so far. */
export function Balance({ earnings }: { earnings: EarningsView }) {
  const phase = useApp((s) => s.cashOut.phase);
  const ask = useApp((s) => s.askCashOut);
  const via = useApp((s) => s.wallet.value?.cashOut);
  const nothing = earnings.claimableNanotons === '0';
  const busy = phase === 'sending' || phase === 'waiting';
  const cannot = via?.via === null ? via.reason : null;
  return (
    <>
      <div className="claim">
        <div data-testid="claimable">
          <div className="stat-value">
            <Money nanotons={earnings.claimableNanotons} />
          </div>
          <div className="stat-hint">ready to cash out</div>
        </div>
        <button type="button" className="button primary" disabled={nothing || busy || phase === 'confirming' || cannot !== null} aria-busy={busy} onClick={ask} aria-describedby={cannot ? 'cash-out-why' : undefined}>
          {busy ? 'Cashing out…' : 'Cash out'}
        </button>
      </div>
      {cannot && !nothing ? (
        <p className="stat-hint" id="cash-out-why">
          {cannot}
        </p>
      ) : null}
      <CashOutStatus />
      <div className="stats" data-testid="balances">
        <Stat small value={<Money nanotons={earnings.paidNanotons} />} hint="paid to your wallet so far" />
      </div>
      <CashOutBlocked earnings={earnings} />
      {earnings.underpaidJobs || (earnings.flaggedNanotons ?? '0') !== '0' || earnings.flags ? (
        <p className="warn-text" role="note">
          Some payments do not match what this PC counted: see Advanced → Books.
        </p>
      ) : null}
    </>
  );
}

/** The books' flags under Advanced: each kind in plain words, how many, when the last came, and the books' code. */
function FlagList({ flags }: { flags: NonNullable<EarningsView['flags']> }) {
  return (
    <ul className="list" aria-label="Set aside" data-testid="flags">
      {flags.map((flag) => (
        <li key={`${flag.kind}/${flag.code}`}>
          <span>{flag.summary}</span>
          <span className="stat-hint">
            {' '}
            Last {formatAgo(flag.lastAt)} · <span className="mono">{flag.code}</span>
          </span>
        </li>
      ))}
    </ul>
  );
}

/** The books' states to the nanoton (under Advanced): signed or not, paid, flagged, underpaid. */
export function BooksDetail({ earnings }: { earnings: EarningsView }) {
  const flagged = earnings.flaggedNanotons ?? '0';
  return (
    <section aria-label="Books">
      <h3>Books</h3>
      <div className="stats" data-testid="books-detail">
        <Stat small value={`${formatTonExact(earnings.claimableNanotons)} TON`} hint="signed by the network in a voucher, not yet paid" />
        <Stat small value={`${formatTonExact(earnings.pendingNanotons)} TON`} hint="earned, waiting for the network’s voucher" />
        <Stat small value={`${formatTonExact(earnings.paidNanotons)} TON`} hint="paid on chain" />
        {flagged !== '0' ? <Stat small value={<span className="warn-text">{formatTonExact(flagged)} TON</span>} hint="received but not matched to a voucher: not counted" /> : null}
        {earnings.underpaidJobs ? (
          <Stat
            small
            value={<span className="warn-text" data-testid="underpaid">{formatTonExact(earnings.underpaidNanotons ?? '0')} TON short</span>}
            hint={`underpaid: ${earnings.underpaidJobs} ${earnings.underpaidJobs === 1 ? 'job was' : 'jobs were'} paid for fewer tokens than this PC wrote`}
          />
        ) : null}
      </div>
      {earnings.flags ? <FlagList flags={earnings.flags} /> : null}
    </section>
  );
}
