/**
 * Wallet → "Create a wallet on this PC": a new TON wallet whose key the worker keeps encrypted
 * here (passphrase, or the OS keychain in the desktop app). The 24 words are shown once in a
 * numbered grid with an "I wrote them down" step, again only on "Show recovery phrase"; or the
 * owner restores a wallet from words they already have.
 */
import { useId, useState, type FormEvent } from 'react';
import type { WalletView } from '../../../main/ipc/contract.js';
import { Money } from '../ui/money.js';
import { useApp } from '../store/app-store.js';
import { Badge, Card } from '../ui/card.js';

/** The 24 words, numbered, in reading order. */
function WordGrid({ words }: { words: string[] }) {
  return (
    <ol data-testid="recovery-words" aria-label="Recovery phrase" style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(150px, 1fr))', gap: 8, padding: 0, margin: '12px 0', listStyle: 'none' }}>
      {words.map((word, index) => (
        <li key={index} className="chip mono" style={{ display: 'flex', gap: 8, padding: '6px 10px' }}>
          <span className="muted" style={{ minWidth: 22, textAlign: 'right' }}>{index + 1}.</span>
          <span>{word}</span>
        </li>
      ))}
    </ol>
  );
}

function Passphrase({ label, value, onChange, hint }: { label: string; value: string; onChange: (text: string) => void; hint?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} className="input" type="password" value={value} onChange={(event) => onChange(event.target.value)} autoComplete="new-password" />
      {hint ? <span className="field-hint">{hint}</span> : null}
    </div>
  );
}

function LocalError() {
  const error = useApp((s) => s.localError);
  return error ? (
    <div className="error-note" role="alert" style={{ marginTop: 12 }}>
      <span>{error.message}</span>
    </div>
  ) : null;
}

/** Create (passphrase when needed) or restore from words. */
function Setup({ view }: { view: WalletView }) {
  const create = useApp((s) => s.createLocalWallet);
  const restore = useApp((s) => s.importLocalWallet);
  const busy = useApp((s) => s.localBusy);
  const [mode, setMode] = useState<'create' | 'import'>('create');
  const [pass, setPass] = useState('');
  const [again, setAgain] = useState('');
  const [words, setWords] = useState('');
  const wordsId = useId();
  const needs = view.localPassphrase.required;
  const mismatch = needs && again !== '' && pass !== again;
  const ready = !needs || (pass.length >= 8 && pass === again);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = mode === 'create' ? await create(needs ? pass : undefined) : await restore(words, needs ? pass : undefined);
    if (done) {
      setPass('');
      setAgain('');
      setWords('');
    }
  };
  return (
    <form onSubmit={(event) => void submit(event)} style={{ display: 'grid', gap: 12 }} noValidate>
      <div className="segmented" role="group" aria-label="New or existing wallet">
        <button type="button" aria-pressed={mode === 'create'} onClick={() => setMode('create')}>New wallet</button>
        <button type="button" aria-pressed={mode === 'import'} onClick={() => setMode('import')}>I have 24 words</button>
      </div>
      {mode === 'import' ? (
        <div className="field">
          <label htmlFor={wordsId}>Your 24 recovery words, in order</label>
          <textarea id={wordsId} className="input mono" rows={4} value={words} onChange={(event) => setWords(event.target.value)} spellCheck={false} autoComplete="off" />
          <span className="field-hint">Separated by spaces or new lines. TON words only (not a Bitcoin/Ethereum phrase).</span>
        </div>
      ) : null}
      {needs ? (
        <div className="form-grid">
          <Passphrase label="Passphrase (at least 8 characters)" value={pass} onChange={setPass} hint={view.localPassphrase.reason ?? undefined} />
          <Passphrase label="Passphrase again" value={again} onChange={setAgain} hint={mismatch ? 'The two passphrases differ.' : 'You need it to see the words again.'} />
        </div>
      ) : (
        <p className="stat-hint">The key is encrypted with this computer’s keychain.</p>
      )}
      <div className="row">
        <button type="submit" className="button primary" disabled={busy || !ready || (mode === 'import' && words.trim() === '')}>
          {busy ? 'Working…' : mode === 'create' ? 'Create wallet' : 'Restore wallet'}
        </button>
      </div>
    </form>
  );
}

/** The words of a wallet just created, until the owner confirms they are written down. */
function Backup({ words, address }: { words: string[]; address: string }) {
  const confirm = useApp((s) => s.confirmWalletBackup);
  const busy = useApp((s) => s.localBusy);
  const [checked, setChecked] = useState(false);
  return (
    <div data-testid="new-wallet-backup">
      <p>
        <strong>Write these 24 words on paper, in order.</strong> They are the only way to reach this wallet’s money if this PC breaks. Never type them into a website or share them; nobody from Silkworm will ever ask for them.
      </p>
      <WordGrid words={words} />
      <p className="stat-hint">
        Address: <code style={{ overflowWrap: 'anywhere' }}>{address}</code>
      </p>
      <label className="row" style={{ gap: 8 }}>
        <input type="checkbox" checked={checked} onChange={(event) => setChecked(event.target.checked)} />
        I wrote down all 24 words, in order
      </label>
      <div className="row" style={{ marginTop: 12 }}>
        <button type="button" className="button primary" disabled={!checked || busy} onClick={() => void confirm()}>
          Use this wallet for payouts
        </button>
      </div>
    </div>
  );
}

/** The stored wallet: address, balance, backup state, reveal and remove. */
function Stored({ view }: { view: WalletView }) {
  const local = view.local!;
  const reveal = useApp((s) => s.revealRecoveryPhrase);
  const hide = useApp((s) => s.hideRecoveryPhrase);
  const revealed = useApp((s) => s.revealedWords);
  const confirm = useApp((s) => s.confirmWalletBackup);
  const remove = useApp((s) => s.removeLocalWallet);
  const busy = useApp((s) => s.localBusy);
  const [pass, setPass] = useState('');
  const [removing, setRemoving] = useState(false);
  const usesPassphrase = local.protection === 'passphrase';
  return (
    <div style={{ display: 'grid', gap: 12 }} data-testid="local-wallet">
      <dl className="kv">
        <dt>Address</dt>
        <dd>
          <code data-testid="local-address">{local.address}</code>
        </dd>
        <dt>Balance</dt>
        <dd>{local.balanceNanotons === null ? <span className="unknown">not known (no chain connection)</span> : <Money nanotons={local.balanceNanotons} />}</dd>
        <dt>Backup</dt>
        <dd>{local.backedUp ? <Badge tone="ok">Words written down</Badge> : <Badge tone="warn">Not confirmed yet</Badge>}</dd>
        <dt>Protected by</dt>
        <dd>{local.protection === 'passphrase' ? 'your passphrase' : 'this computer’s keychain'}</dd>
      </dl>
      {revealed ? (
        <div>
          <WordGrid words={revealed} />
          <div className="row">
            {!local.backedUp ? (
              <button type="button" className="button primary" disabled={busy} onClick={() => void confirm().then(hide)}>
                I wrote them down — use for payouts
              </button>
            ) : null}
            <button type="button" className="button" onClick={hide}>Hide words</button>
          </div>
        </div>
      ) : (
        <form className="row" onSubmit={(event) => { event.preventDefault(); void reveal(usesPassphrase ? pass : undefined).then((done) => done && setPass('')); }}>
          {usesPassphrase ? <input className="input" type="password" aria-label="Wallet passphrase" placeholder="Passphrase" value={pass} onChange={(event) => setPass(event.target.value)} autoComplete="current-password" style={{ maxWidth: 240 }} /> : null}
          <button type="submit" className="button" disabled={busy || (usesPassphrase && pass === '')}>Show recovery phrase</button>
        </form>
      )}
      {removing ? (
        <div className="error-note" role="alert">
          <span>Forget this wallet on this PC? Without its 24 words, its money cannot be reached again. Payouts to it stop.</span>
          <div className="row">
            <button type="button" className="button" onClick={() => setRemoving(false)}>Keep it</button>
            <button type="button" className="button" disabled={busy} onClick={() => void remove().then(() => setRemoving(false))}>Forget it</button>
          </div>
        </div>
      ) : (
        <div>
          <button type="button" className="button" onClick={() => setRemoving(true)}>Forget this wallet…</button>
        </div>
      )}
    </div>
  );
}

/** The "Create a wallet on this PC" card. */
export function LocalWalletCard({ view }: { view: WalletView }) {
  const created = useApp((s) => s.newWallet);
  return (
    <Card title="Create a wallet on this PC">
      <p className="muted">No wallet app? Silkworm can make a TON wallet and keep its key on this computer, encrypted. You get 24 words to write down: they are your backup.</p>
      {created ? <Backup words={created.words} address={created.address} /> : view.local ? <Stored view={view} /> : <Setup view={view} />}
      <LocalError />
    </Card>
  );
}
