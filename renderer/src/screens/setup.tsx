/**
 * First-run setup, shown once in the desktop app: what Silkworm does (and what it cannot
 * promise), when to share, where to be paid, the electricity price. The same save model as
 * Settings: every step edits the one draft; Finish saves all of it (nothing typed is lost), and
 * a refused value brings its step back with the message beside the field. Every step can be
 * skipped; all of it can be changed later in Settings and Wallet.
 */
import { useState, type FormEvent } from 'react';
import type { AppSettingsView, SharingMode } from '../../../main/ipc/contract.js';
import { useApp, useAppStore } from '../store/app-store.js';
import { Card, PageHeader } from '../ui/card.js';
import { ErrorNote } from '../ui/states.js';
import { TextField } from '../ui/field.js';
import { ElectricityFields } from './electricity-card.js';

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

function ModeStep({ view }: { view: AppSettingsView }) {
  const draft = useApp((s) => s.drafts.sharing);
  const edit = useApp((s) => s.editSharing);
  const mode = (draft ?? view.sharing).mode;
  return (
    <div className="mode-options" role="radiogroup" aria-label="When to share">
      {CHOICES.map((choice) => (
        <label key={choice.id} className="mode-option">
          <input type="radio" name="setup-mode" value={choice.id} checked={mode === choice.id} onChange={() => edit({ mode: choice.id })} />
          <span>
            <strong>{choice.title}</strong>
            <span className="field-hint block">{choice.text}</span>
          </span>
        </label>
      ))}
    </div>
  );
}

function PayoutStep() {
  const text = useApp((s) => s.drafts.payoutAddress) ?? '';
  const edit = useApp((s) => s.editPayoutAddress);
  const error = useApp((s) => s.fieldErrors.payoutAddress);
  return (
    <>
      <p>Earnings are paid to a TON wallet address. Paste yours here, or skip this and connect a wallet app or create a wallet later on the Wallet screen.</p>
      <TextField label="Payout address" mono value={text} onChange={edit} error={error} placeholder="0Q… or UQ…" hint="It is checked when you finish." />
    </>
  );
}

/** Where a refused value is entered. */
function stepOf(path: string): number {
  if (path === 'payoutAddress') return STEPS.indexOf('Payouts');
  if (path.startsWith('electricity.')) return STEPS.indexOf('Electricity');
  return STEPS.indexOf('When to share');
}

/** The setup, step by step; `view` is the settings the worker answered. */
export function SetupScreen({ view }: { view: AppSettingsView }) {
  const finish = useApp((s) => s.finishSetup);
  const edit = useApp((s) => s.editSharing);
  const draft = useApp((s) => s.drafts.sharing);
  const formError = useApp((s) => s.formError);
  const saving = useApp((s) => s.settingsSaving);
  const store = useAppStore();
  const [step, setStep] = useState(0);
  const last = step === STEPS.length - 1;
  const next = async (event?: FormEvent) => {
    event?.preventDefault();
    // A fresh install is Off; the setup suggests When idle unless the owner chose.
    if (STEPS[step] === 'Welcome' && draft === null && view.sharing.mode === 'off') edit({ mode: 'idle' });
    if (!last) return setStep(step + 1);
    if (await finish()) return;
    // Back to the step of the first refused value (read from the store: this render's copy is older).
    const refused = Object.keys(store.getState().fieldErrors)[0];
    if (refused) setStep(stepOf(refused));
  };
  return (
    <form className="page setup" onSubmit={(event) => void next(event)} noValidate>
      <PageHeader title="Welcome to Silkworm" subtitle={`Step ${step + 1} of ${STEPS.length}: ${STEPS[step]}`} />
      <ol className="setup-steps" aria-label="Setup steps">
        {STEPS.map((name, index) => (
          <li key={name} aria-current={index === step ? 'step' : undefined} className={index < step ? 'done' : undefined}>
            {name}
          </li>
        ))}
      </ol>
      <Card title={STEPS[step]}>
        {STEPS[step] === 'Welcome' ? <Welcome /> : null}
        {STEPS[step] === 'When to share' ? <ModeStep view={view} /> : null}
        {STEPS[step] === 'Payouts' ? <PayoutStep /> : null}
        {STEPS[step] === 'Electricity' ? <ElectricityFields view={view} /> : null}
      </Card>
      {formError ? <ErrorNote error={formError} /> : null}
      <div className="row">
        {step > 0 ? (
          <button type="button" className="button" onClick={() => setStep(step - 1)}>
            Back
          </button>
        ) : null}
        <button type="submit" className="button primary" disabled={saving} aria-busy={saving}>
          {last ? (saving ? 'Saving…' : 'Finish') : 'Continue'}
        </button>
      </div>
    </form>
  );
}
