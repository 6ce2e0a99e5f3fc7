/**
 * Wallet: where earnings are paid. One payout address, from one of three ways, each explained
 * for someone who has never used TON: connect a wallet app (TON Connect QR), create a wallet on
 * this PC, or type an address (checked by the worker).
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import type { PayoutSource } from '../../../main/ipc/contract.js';
import { useApp } from '../store/app-store.js';
import { Badge, Card, PageHeader } from '../ui/card.js';
import { Empty, Show } from '../ui/states.js';
import { ConnectWalletCard } from './wallet-connect.js';
import { LocalWalletCard } from './wallet-local.js';

const SOURCE_LABEL: Record<PayoutSource, string> = {
  tonconnect: 'From your wallet app (TON Connect)',
  local: 'The wallet on this PC',
  typed: 'Typed in',
  'command-line': 'Set when the worker was started (--payout-address)',
};

function AddressForm({ network }: { network: string }) {
  const save = useApp((s) => s.savePayoutAddress);
  const saving = useApp((s) => s.addressSaving);
  const error = useApp((s) => s.addressError);
  const [text, setText] = useState('');
  const inputId = useId();
  const errorId = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await save(text)) setText('');
  };
  return (
    <form className="field" onSubmit={(event) => void submit(event)} noValidate>
      <label htmlFor={inputId}>Payout address</label>
      <div className="row" style={{ flexWrap: 'nowrap' }}>
        <input
          id={inputId}
          className="input mono"
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder={network === 'testnet' ? '0Q… or kQ… (testnet)' : 'UQ… or EQ…'}
          spellCheck={false}
          autoComplete="off"
          aria-invalid={error !== null}
          aria-describedby={error ? errorId : undefined}
        />
        <button type="submit" className="button primary" disabled={saving || text.trim() === ''}>
          {saving ? 'Checking…' : 'Save'}
        </button>
      </div>
      {error ? (
        <span id={errorId} className="field-error" role="alert">
          {error.message}
        </span>
      ) : (
        <span className="field-hint">Copy it from your TON wallet. The checksum and network are checked before it is saved; no key ever touches this PC.</span>
      )}
    </form>
  );
}

/** The Wallet screen. */
export function WalletScreen() {
  const wallet = useApp((s) => s.wallet);
  const load = useApp((s) => s.loadWallet);
  const clear = useApp((s) => s.clearPayoutAddress);
  const saving = useApp((s) => s.addressSaving);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <div className="page">
      <PageHeader title="Wallet" subtitle="Where your Toncoin is paid" />
      <Show data={wallet} onRetry={() => void load()} lines={3}>
        {(value) => (
          <>
            <Card title="Payout address" actions={<Badge tone={value.network === 'mainnet' ? 'ok' : 'info'}>{value.network === 'mainnet' ? 'Mainnet' : 'Testnet'}</Badge>}>
              {value.payoutAddress ? (
                <div className="row spread">
                  <div style={{ display: 'grid', gap: 4, minWidth: 0 }}>
                    <code data-testid="payout-address" style={{ overflowWrap: 'anywhere' }}>
                      {value.payoutAddress}
                    </code>
                    <span className="stat-hint" data-testid="payout-source">{value.source ? SOURCE_LABEL[value.source] : null}</span>
                  </div>
                  <button type="button" className="button" disabled={saving} onClick={() => void clear()}>
                    Remove
                  </button>
                </div>
              ) : (
                <Empty title="No payout address yet">Pick one of the three ways below. Until then the network keeps your earnings under this worker’s id.</Empty>
              )}
              {value.pendingAddress || value.pendingClear ? (
                <p className="stat-hint" role="status" data-testid="payout-pending">
                  {value.pendingClear ? 'Removing the payout address: the worker tells the network once the running job ends.' : `Switching payouts to ${value.pendingAddress}: the worker tells the network once the running job ends.`}
                </p>
              ) : null}
            </Card>
            <ConnectWalletCard view={value.tonConnect} payoutAddress={value.source === 'tonconnect' ? value.payoutAddress : null} />
            <LocalWalletCard view={value} />
            <Card title="Type an address">
              <p className="muted">Already have a TON wallet you would rather not connect? Paste its address (for this network).</p>
              <AddressForm network={value.network} />
            </Card>
          </>
        )}
      </Show>
    </div>
  );
}
