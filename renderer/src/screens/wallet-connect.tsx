/**
 * Wallet → "Connect a wallet app": TON Connect pairing, run by the worker. Shows the QR code
 * of the universal link (plus "Open in wallet app" and "Copy link"), waits for the wallet
 * app's answer (pushed as `wallet`), then the connected address with Disconnect.
 */
import { useEffect, useState } from 'react';
import type { TonConnectView } from '../../../main/ipc/contract.js';
import { useApp } from '../store/app-store.js';
import { Badge, Card } from '../ui/card.js';
import { QrCode } from '../ui/qr-code.js';

function useSecondsLeft(until: string | null): number | null {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!until) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [until]);
  return until ? Math.max(0, Math.round((Date.parse(until) - now) / 1000)) : null;
}

function Waiting({ link, expiresAt }: { link: string; expiresAt: string | null }) {
  const cancel = useApp((s) => s.cancelTonConnect);
  const busy = useApp((s) => s.pairingBusy);
  const left = useSecondsLeft(expiresAt);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = () => {
    navigator.clipboard.writeText(link).then(
      () => setCopied('yes'),
      () => setCopied('no'),
    );
  };
  return (
    <div className="row" style={{ alignItems: 'flex-start', gap: 24 }} data-testid="tonconnect-waiting">
      <QrCode text={link} label="QR code to scan with your wallet app" pixels={264} />
      <div style={{ display: 'grid', gap: 12, flex: '1 1 260px' }}>
        <ol className="muted" style={{ margin: 0, paddingLeft: 20, display: 'grid', gap: 6 }}>
          <li>Open Tonkeeper (or another TON wallet) on your phone.</li>
          <li>Tap its scan button and point the camera at this code.</li>
          <li>Approve the connection in the wallet app.</li>
        </ol>
        <p className="stat-hint" role="status" aria-live="polite">
          Waiting for your wallet app…{left !== null ? ` The code expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}.` : ''}
        </p>
        <div className="row">
          <a className="button primary" href={link} target="_blank" rel="noopener noreferrer" style={{ textDecoration: 'none' }}>
            Open in wallet app
          </a>
          <button type="button" className="button" onClick={copy}>
            {copied === 'yes' ? 'Link copied' : 'Copy link'}
          </button>
          <button type="button" className="button" disabled={busy} onClick={() => void cancel()}>
            Cancel
          </button>
        </div>
        {copied === 'no' ? <span className="field-error">Copying was not allowed here; use “Open in wallet app” instead.</span> : null}
        <span className="field-hint">On this PC with a desktop wallet? “Open in wallet app” opens it directly.</span>
      </div>
    </div>
  );
}

function Connected({ address, view }: { address: string | null; view: TonConnectView }) {
  const disconnect = useApp((s) => s.disconnectWallet);
  const busy = useApp((s) => s.pairingBusy);
  return (
    <div className="row spread" data-testid="tonconnect-connected">
      <div style={{ display: 'grid', gap: 4 }}>
        <span>
          <Badge tone="ok">Connected</Badge> {view.walletName ?? 'Wallet app'}
        </span>
        <code style={{ overflowWrap: 'anywhere' }}>{address ?? 'unknown'}</code>
      </div>
      <button type="button" className="button" disabled={busy} onClick={() => void disconnect()}>
        {busy ? 'Disconnecting…' : 'Disconnect'}
      </button>
    </div>
  );
}

/** The "Connect a wallet app" card. */
export function ConnectWalletCard({ view, payoutAddress }: { view: TonConnectView; payoutAddress: string | null }) {
  const start = useApp((s) => s.startTonConnect);
  const busy = useApp((s) => s.pairingBusy);
  const callError = useApp((s) => s.pairingError);
  const error = callError ?? view.error;
  return (
    <Card title="Connect a wallet app" actions={<Badge tone="info">Recommended</Badge>}>
      <p className="muted">
        Use the TON wallet app on your phone (Tonkeeper or another). You scan a code, the app proves the address is yours, and earnings go straight to it. Nothing secret is stored on this PC.
      </p>
      {view.state === 'waiting' && view.universalLink ? (
        <Waiting link={view.universalLink} expiresAt={view.expiresAt} />
      ) : view.state === 'verifying' ? (
        <p role="status">Checking the wallet app’s proof…</p>
      ) : view.state === 'connected' ? (
        <Connected address={payoutAddress} view={view} />
      ) : (
        <div className="row">
          <button type="button" className="button primary" disabled={busy} onClick={() => void start()}>
            {busy ? 'Preparing…' : view.state === 'failed' ? 'Try again' : 'Connect a wallet app'}
          </button>
        </div>
      )}
      {error && view.state !== 'waiting' && view.state !== 'connected' ? (
        <div className="error-note" role="alert" style={{ marginTop: 12 }}>
          <span>{error.message}</span>
        </div>
      ) : null}
    </Card>
  );
}
