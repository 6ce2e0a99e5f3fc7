/**
 * The electricity form (Settings and the first-run setup): the owner's price per kWh, the price
 * of 1 TON in the same currency (it also shows earnings in that currency), and optionally the
 * PC's watts while serving. Part of the page's one draft: saved with the page's Save (or the
 * setup's Finish), never on its own. Either decimal separator is accepted.
 */
import type { AppSettingsView } from '../../../main/ipc/contract.js';
import { useApp } from '../store/app-store.js';
import { electricityDraftOf } from '../store/settings-slice.js';
import { TextField } from '../ui/field.js';
import { parseDecimal } from '../decimal-input.js';

/** A rough preview of TON per kWh (display only; the worker converts exactly). */
function preview(price: string, tonPrice: string): string | null {
  const kwh = parseDecimal(price);
  const ton = parseDecimal(tonPrice);
  if (kwh === null || ton === null || Number(ton) === 0) return null;
  return (Number(kwh) / Number(ton)).toLocaleString(undefined, { maximumFractionDigits: 4 });
}

/** The electricity fields, bound to the page's draft. */
export function ElectricityFields({ view }: { view: AppSettingsView }) {
  const draft = useApp((s) => s.drafts.electricity) ?? electricityDraftOf(view.electricity);
  const edit = useApp((s) => s.editElectricity);
  const errors = useApp((s) => s.fieldErrors);
  const perKwh = preview(draft.pricePerKwh, draft.tonPrice);
  const currency = draft.currency.trim() || 'your currency';
  return (
    <>
      <p className="field-hint">So the forecast can subtract what sharing costs, and amounts can be shown in your currency. Nothing here leaves this PC.</p>
      <div className="form-grid">
        <TextField label="Price per kWh" inputMode="decimal" value={draft.pricePerKwh} placeholder="0.30" onChange={(pricePerKwh) => edit({ pricePerKwh })} error={errors['electricity.pricePerKwh']} unit={currency} />
        <TextField label="Currency" value={draft.currency} placeholder="EUR" onChange={(value) => edit({ currency: value })} error={errors['electricity.currency']} />
        <TextField label={`Price of 1 TON in ${currency}`} inputMode="decimal" value={draft.tonPrice} placeholder="3.10" onChange={(tonPrice) => edit({ tonPrice })} error={errors['electricity.tonPrice']} hint="The rate your wallet or exchange shows." />
        <TextField label="Power while sharing" inputMode="numeric" unit="W" value={draft.watts} placeholder="measured" onChange={(watts) => edit({ watts })} error={errors['electricity.watts']} hint="Leave empty to use the GPU’s measured draw." />
      </div>
      {perKwh ? <p className="muted">≈ {perKwh} TON per kWh</p> : null}
      {view.electricity ? (
        <button type="button" className="button" onClick={() => edit({ pricePerKwh: '', tonPrice: '', watts: '' })}>
          Don’t count electricity
        </button>
      ) : null}
    </>
  );
}
