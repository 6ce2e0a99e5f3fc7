/**
 * First-run setup, shown once in the desktop app: what Silkworm does (and what it cannot
 * promise), when to share, where to be paid, and the electricity price. Every step can be
 * skipped; all of it can be changed later in Settings and Wallet.
 */
import { useId, useState, type FormEvent } from 'react';
import type { AppSettingsView, SharingMode } from '../../../main/ipc/contract.js';
import { useApp } from '../store/app-store.js';
import { Card, PageHeader } from '../ui/card.js';
import { ElectricityCard } from './electricity-card.js';

const STEPS = ['Welcome', 'When to share', 'Payouts', 'Electricity'] as const;

const CHOICES: { id: SharingMode; title: string; text: string }[] = [
  { id: 'idle', title: 'When I’m away (recommended)', text: 'Shares after a few minutes without keyboard or mouse, stops the moment you are back or a game starts.' },
  { id: 'always', title: 'Always', text: 'For a PC nobody uses: shares all the time, within the temperature and power limits.' },
  { id: 'off', title: 'Not yet', text: 'Nothing is shared until you turn it on on the Dashboard.' },
];

function Welcome() {
  return (
    <>
      <p>Silkworm lends your graphics card to a network that runs AI chat requests, while you are not using it, and pays you in Toncoin for every job.</p>
      <ul className="setup-points">
        <li>Jobs run in a separate, locked-down process that cannot read your files or open network connections.</li>
        <li>The moment you come back or start a game, the job stops and the GPU’s memory is freed.</li>
        <li>Requests are encrypted until they reach that process. A home PC has no secure enclave, so Silkworm tells clients honestly that an owner with admin rights could, in principle, inspect a job.</li>
      </ul>
    </>
  );
}

function ModeStep({ mode, onMode }: { mode: SharingMode; onMode(mode: SharingMode): void }) {
  return (
    <div className="mode-options" role="radiogroup" aria-label="When to share">
      {CHOICES.map((choice) => (
        <label key={choice.id} className="mode-option">
          <input type="radio" name="setup-mode" value={choice.id} checked={mode === choice.id} onChange={() => onMode(choice.id)} />
          <span>
            <strong>{choice.title}</strong>
            <span className="field-hint" style={{ display: 'block' }}>
              {choice.text}
            </span>
          </span>
        </label>
      ))}
    </div>
  );
}

function PayoutStep({ onSaved }: { onSaved(): void }) {
  const save = useApp((s) => s.savePayoutAddress);
  const error = useApp((s) => s.addressError);
  const [text, setText] = useState('');
  const id = useId();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await save(text)) onSaved();
  };
  return (
    <form className="field" onSubmit={(event) => void submit(event)} noValidate>
      <p>Earnings are paid to a TON wallet address. Paste yours here, or skip and connect Tonkeeper or create a wallet later on the Wallet screen.</p>
      <label htmlFor={id}>Payout address</label>
      <div className="row" style={{ flexWrap: 'nowrap' }}>
        <input id={id} className="input mono" value={text} onChange={(event) => setText(event.target.value)} spellCheck={false} autoComplete="off" aria-invalid={error !== null} />
        <button type="submit" className="button primary" disabled={text.trim() === ''}>
          Save address
        </button>
      </div>
      {error ? (
        <span className="field-error" role="alert">
          {error.message}
        </span>
      ) : null}
    </form>
  );
}

/** The setup, step by step; `view` is the settings the worker answered. */
export function SetupScreen({ view }: { view: AppSettingsView }) {
  const setMode = useApp((s) => s.setMode);
  const complete = useApp((s) => s.completeSetup);
  const [step, setStep] = useState(0);
  const [mode, setLocalMode] = useState<SharingMode>(view.sharing.mode === 'off' ? 'idle' : view.sharing.mode);
  const [busy, setBusy] = useState(false);
  const next = async () => {
    if (STEPS[step] === 'When to share') await setMode(mode);
    if (step < STEPS.length - 1) setStep(step + 1);
    else {
      setBusy(true);
      await complete();
    }
  };
  return (
    <div className="page setup">
      <PageHeader title="Welcome to Silkworm" subtitle={`Step ${step + 1} of ${STEPS.length}: ${STEPS[step]}`} />
      <ol className="setup-steps" aria-label="Setup steps">
        {STEPS.map((name, index) => (
          <li key={name} aria-current={index === step ? 'step' : undefined} className={index < step ? 'done' : undefined}>
            {name}
          </li>
        ))}
      </ol>
      {STEPS[step] === 'Electricity' ? (
        <ElectricityCard view={view} onSaved={() => void next()} />
      ) : (
        <Card title={STEPS[step]}>
          {STEPS[step] === 'Welcome' ? <Welcome /> : null}
          {STEPS[step] === 'When to share' ? <ModeStep mode={mode} onMode={setLocalMode} /> : null}
          {STEPS[step] === 'Payouts' ? <PayoutStep onSaved={() => void next()} /> : null}
        </Card>
      )}
      <div className="row">
        {step > 0 ? (
          <button type="button" className="button" onClick={() => setStep(step - 1)}>
            Back
          </button>
        ) : null}
        <button type="button" className="button primary" disabled={busy} onClick={() => void next()}>
          {step === STEPS.length - 1 ? 'Finish' : STEPS[step] === 'Payouts' || STEPS[step] === 'Electricity' ? 'Skip' : 'Continue'}
        </button>
      </div>
    </div>
  );
}
