/**
 * Settings → Electricity: the owner's price per kWh, the TON price in the same currency, and
 * optionally the PC's watts while serving. The Earnings forecast subtracts what serving costs.
 * The conversion shown here is only a preview; the worker converts exactly and validates.
 */
import { useId, useState, type FormEvent } from 'react';
import type { AppSettingsView, ElectricityInput } from '../../../main/ipc/contract.js';
import { useApp } from '../store/app-store.js';
import { Card } from '../ui/card.js';
import { ErrorNote } from '../ui/states.js';

const EMPTY: ElectricityInput = { pricePerKwh: '', currency: 'EUR', tonPrice: '', watts: null };

function TextField({ label, value, onChange, hint, placeholder, inputMode = 'decimal' }: { label: string; value: string; onChange(value: string): void; hint?: string; placeholder?: string; inputMode?: 'decimal' | 'text' | 'numeric' }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} className="input" inputMode={inputMode} value={value} placeholder={placeholder} onChange={(event) => onChange(event.target.value)} autoComplete="off" spellCheck={false} />
      {hint ? <span className="field-hint">{hint}</span> : null}
    </div>
  );
}

/** A rough preview of TON per kWh (display only). */
function preview(draft: ElectricityInput): string | null {
  const price = Number(draft.pricePerKwh);
  const ton = Number(draft.tonPrice);
  if (!(price >= 0) || !(ton > 0) || draft.pricePerKwh.trim() === '') return null;
  return (price / ton).toLocaleString(undefined, { maximumFractionDigits: 4 });
}

/** The Electricity card of the Settings screen (also used by the first-run setup). */
export function ElectricityCard({ view, onSaved }: { view: AppSettingsView; onSaved?: () => void }) {
  const save = useApp((s) => s.saveElectricity);
  const error = useApp((s) => s.electricityError);
  const [draft, setDraft] = useState<ElectricityInput>(view.electricity ?? EMPTY);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);
  const edit = (change: Partial<ElectricityInput>) => {
    setSaved(false);
    setDraft((current) => ({ ...current, ...change }));
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    const done = await save(draft);
    setSaving(false);
    setSaved(done);
    if (done) onSaved?.();
  };
  const clear = async () => {
    if (await save(null)) setDraft(EMPTY);
  };
  const perKwh = preview(draft);
  return (
    <Card title="Electricity">
      <form onSubmit={(event) => void submit(event)} noValidate>
        <p className="field-hint">So the Earnings forecast can subtract what sharing costs you. Nothing here leaves this PC.</p>
        <div className="form-grid">
          <TextField label="Price per kWh" value={draft.pricePerKwh} placeholder="0.30" onChange={(pricePerKwh) => edit({ pricePerKwh })} />
          <TextField label="Currency" inputMode="text" value={draft.currency} placeholder="EUR" onChange={(currency) => edit({ currency })} />
          <TextField label={`Price of 1 TON in ${draft.currency.trim() || 'that currency'}`} value={draft.tonPrice} placeholder="3.00" onChange={(tonPrice) => edit({ tonPrice })} hint="Use the rate you see in your wallet or exchange." />
          <TextField
            label="Power while sharing (W)"
            inputMode="numeric"
            value={draft.watts === null ? '' : String(draft.watts)}
            placeholder="measured"
            onChange={(text) => edit({ watts: text.trim() === '' ? null : Number(text) })}
            hint="Leave empty to use the GPU’s measured draw."
          />
        </div>
        {perKwh ? <p className="muted">≈ {perKwh} TON per kWh</p> : null}
        {error ? <ErrorNote error={error} /> : null}
        <div className="row">
          <button type="submit" className="button primary" disabled={saving}>
            {saving ? 'Saving…' : 'Save electricity price'}
          </button>
          {view.electricity ? (
            <button type="button" className="button" onClick={() => void clear()}>
              Don’t count electricity
            </button>
          ) : null}
          {saved && !error ? (
            <span className="muted" role="status">
              Saved.
            </span>
          ) : null}
        </div>
      </form>
    </Card>
  );
}
