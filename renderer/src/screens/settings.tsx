/**
 * Settings: when to share, limits, schedule, electricity, start at login — one form with one
 * save model (docs/design.md, UI build). Edits stay as a draft (also when leaving the screen)
 * until Save; Reset drops them and their messages; a refused value is explained beside its field.
 */
import type { AppSettingsView, SharingMode, SharingSettings } from '../../../main/ipc/contract.js';
import { useEffect, useId, type FormEvent, type ReactNode } from 'react';
import { useApp } from '../store/app-store.js';
import { hasUnsavedChanges, numberText } from '../store/settings-slice.js';
import { Card, PageHeader } from '../ui/card.js';
import { ErrorNote, Show } from '../ui/states.js';
import { Switch } from '../ui/switch.js';
import { TextField } from '../ui/field.js';
import { ScheduleEditor } from './schedule-editor.js';
import { ElectricityFields } from './electricity-card.js';

const MODES: { id: SharingMode; title: string; text: string }[] = [
  { id: 'off', title: 'Off', text: 'Never share.' },
  { id: 'idle', title: 'When idle', text: 'Share while you are away; stop the moment you are back.' },
  { id: 'polite', title: 'Polite', text: 'Also share while you work, within the limits below.' },
  { id: 'always', title: 'Always', text: 'For a PC nobody uses: ignore presence, keep the safety limits.' },
];

/** A number field of the sharing settings, bound to the draft by its path. */
function NumberField({ path, label, unit, hint, view, placeholder }: { path: string; label: string; unit: string; hint?: ReactNode; view: AppSettingsView; placeholder?: string }) {
  const drafts = useApp((s) => s.drafts);
  const error = useApp((s) => s.fieldErrors[path]);
  const edit = useApp((s) => s.editNumber);
  return <TextField label={label} unit={unit} inputMode="decimal" value={numberText(drafts, view.sharing, path)} onChange={(text) => edit(path, text)} error={error} hint={hint} {...(placeholder ? { placeholder } : {})} />;
}

function ModeCard({ sharing }: { sharing: SharingSettings }) {
  const edit = useApp((s) => s.editSharing);
  return (
    <Card title="Sharing mode">
      <div className="mode-options" role="radiogroup" aria-label="Sharing mode">
        {MODES.map((item) => (
          <label key={item.id} className="mode-option">
            <input type="radio" name="mode" value={item.id} checked={sharing.mode === item.id} onChange={() => edit({ mode: item.id })} />
            <span>
              <strong>{item.title}</strong>
              <span className="field-hint block">{item.text}</span>
            </span>
          </label>
        ))}
      </div>
    </Card>
  );
}

function WhenCard({ sharing, view }: { sharing: SharingSettings; view: AppSettingsView }) {
  const edit = useApp((s) => s.editSharing);
  const errors = useApp((s) => s.fieldErrors);
  const id = useId();
  const scheduleError = Object.entries(errors).find(([path]) => path.startsWith('schedule') || path.startsWith('quietHours'))?.[1];
  return (
    <Card title="When to share">
      <div className="form-grid">
        <NumberField path="idleThresholdMinutes" label="Away after" unit="min" view={view} hint="No keyboard or mouse input for this long counts as away." />
        <div className="field">
          <label htmlFor={id}>On battery</label>
          <select id={id} className="select" value={sharing.onBattery} onChange={(event) => edit({ onBattery: event.target.value as SharingSettings['onBattery'] })}>
            <option value="pause">Pause sharing</option>
            <option value="share">Keep sharing</option>
          </select>
        </div>
      </div>
      <ScheduleEditor label="Schedule" windows={sharing.schedule} onChange={(schedule) => edit({ schedule })} emptyText="Any time (no schedule)." />
      <ScheduleEditor label="Quiet hours" windows={sharing.quietHours.windows} onChange={(windows) => edit({ quietHours: { ...sharing.quietHours, windows } })} emptyText="None." />
      {scheduleError ? (
        <span className="field-error" role="alert">
          {scheduleError}
        </span>
      ) : null}
    </Card>
  );
}

function LimitsCard({ view }: { view: AppSettingsView }) {
  return (
    <Card title="Limits">
      <div className="form-grid">
        <NumberField path="maxGpuTempC" label="Max GPU temperature" unit="°C" view={view} />
        <NumberField path="maxPowerW" label="Max GPU power" unit="W" view={view} placeholder="no limit" />
      </div>
      <p className="field-hint">Polite mode, while you use the PC:</p>
      <div className="form-grid">
        <NumberField path="polite.maxVramMb" label="Polite VRAM" unit="MB" view={view} placeholder="no limit" />
        <NumberField path="polite.maxTokensPerSecond" label="Polite speed" unit="tokens/s" view={view} placeholder="no limit" />
        <NumberField path="polite.maxPowerW" label="Polite power" unit="W" view={view} placeholder="no limit" />
      </div>
    </Card>
  );
}

function AppCard({ view }: { view: AppSettingsView }) {
  const draft = useApp((s) => s.drafts.autoStart);
  const edit = useApp((s) => s.editAutoStart);
  return (
    <Card title="App">
      <Switch
        compact
        label="Start Silkworm when I sign in"
        checked={(draft ?? view.autoStart) === true}
        disabled={view.autoStart === null}
        description={view.autoStart === null ? 'Desktop app only. On a PC without a screen, use your service manager (systemd, launchd).' : 'Off unless you turn it on.'}
        onChange={edit}
      />
      <dl className="kv">
        <dt>Network</dt>
        <dd>{view.network === 'mainnet' ? 'TON mainnet' : 'TON testnet (test Toncoin)'}</dd>
        <dt>Coordinator</dt>
        <dd className="mono">{view.coordinator ?? 'not set'}</dd>
      </dl>
    </Card>
  );
}

/** The page's one Save and Reset, with what they apply to. */
export function SaveBar({ label = 'Save changes' }: { label?: string }) {
  const saving = useApp((s) => s.settingsSaving);
  const dirty = useApp((s) => hasUnsavedChanges(s.drafts));
  const savedAt = useApp((s) => s.settingsSavedAt);
  const errors = useApp((s) => Object.keys(s.fieldErrors).length);
  const reset = useApp((s) => s.resetDrafts);
  return (
    <div className="save-bar" data-testid="save-bar">
      <button type="submit" className="button primary" disabled={saving || !dirty}>
        {saving ? 'Saving…' : label}
      </button>
      <button type="button" className="button" disabled={saving || (!dirty && errors === 0)} onClick={reset}>
        Reset
      </button>
      <span className="muted" role="status">
        {errors > 0 ? `${errors} ${errors === 1 ? 'value needs' : 'values need'} fixing: see the messages beside the fields.` : dirty ? 'Unsaved changes.' : savedAt ? 'Saved.' : ''}
      </span>
    </div>
  );
}

/** The Settings screen. */
export function SettingsScreen() {
  const settings = useApp((s) => s.settings);
  const load = useApp((s) => s.loadSettings);
  const draft = useApp((s) => s.drafts.sharing);
  const save = useApp((s) => s.saveSettings);
  const formError = useApp((s) => s.formError);
  useEffect(() => {
    void load();
  }, [load]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save();
  };
  return (
    <div className="page">
      <PageHeader title="Settings" subtitle="When and how much your GPU is shared" />
      <Show data={settings} onRetry={() => void load()} lines={5}>
        {(view) => {
          const sharing = draft ?? view.sharing;
          return (
            <form className="page" onSubmit={submit} noValidate>
              <ModeCard sharing={sharing} />
              <WhenCard sharing={sharing} view={view} />
              <LimitsCard view={view} />
              <Card title="Electricity">
                <ElectricityFields view={view} />
              </Card>
              <AppCard view={view} />
              {formError ? <ErrorNote error={formError} /> : null}
              <SaveBar />
            </form>
          );
        }}
      </Show>
    </div>
  );
}
