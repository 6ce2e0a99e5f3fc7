/** Settings: sharing mode (applies at once), idle rule, limits, schedule, start at login, network. */
import type { AppSettingsView, SharingMode, SharingSettings } from '../../../main/ipc/contract.js';
import { useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { useApp } from '../store/app-store.js';
import { Card, PageHeader } from '../ui/card.js';
import { ErrorNote, Show } from '../ui/states.js';
import { Switch } from '../ui/switch.js';
import { ScheduleEditor } from './schedule-editor.js';
import { ElectricityCard } from './electricity-card.js';

const MODES: { id: SharingMode; title: string; text: string }[] = [
  { id: 'off', title: 'Off', text: 'Never share.' },
  { id: 'idle', title: 'When idle', text: 'Share while you are away; stop the moment you are back.' },
  { id: 'polite', title: 'Polite', text: 'Also share while you work, within the limits below.' },
  { id: 'always', title: 'Always', text: 'For rigs: ignore presence, keep the safety limits.' },
];

function NumberField({ label, value, onChange, unit, hint, nullable = false, min }: {
  label: string;
  value: number | null;
  onChange(value: number | null): void;
  unit: string;
  hint?: ReactNode;
  nullable?: boolean;
  min?: number;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="row" style={{ flexWrap: 'nowrap' }}>
        <input
          id={id}
          className="input"
          type="number"
          inputMode="numeric"
          min={min}
          value={value ?? ''}
          placeholder={nullable ? 'no limit' : undefined}
          onChange={(event) => onChange(event.target.value === '' ? (nullable ? null : Number.NaN) : Number(event.target.value))}
          aria-invalid={value !== null && Number.isNaN(value)}
        />
        <span className="muted">{unit}</span>
      </div>
      {hint ? <span className="field-hint">{hint}</span> : null}
    </div>
  );
}

function ModeCard({ mode }: { mode: SharingMode }) {
  const setMode = useApp((s) => s.setMode);
  return (
    <Card title="Sharing mode">
      <div className="mode-options" role="radiogroup" aria-label="Sharing mode">
        {MODES.map((item) => (
          <label key={item.id} className="mode-option">
            <input type="radio" name="mode" value={item.id} checked={mode === item.id} onChange={() => void setMode(item.id)} />
            <span>
              <strong>{item.title}</strong>
              <span className="field-hint" style={{ display: 'block' }}>
                {item.text}
              </span>
            </span>
          </label>
        ))}
      </div>
    </Card>
  );
}

function SharingForm({ view }: { view: AppSettingsView }) {
  const save = useApp((s) => s.saveSharingSettings);
  const saving = useApp((s) => s.settingsSaving);
  const error = useApp((s) => s.settingsError);
  const savedAt = useApp((s) => s.settingsSavedAt);
  const [draft, setDraft] = useState<SharingSettings>(view.sharing);
  const edit = (change: Partial<SharingSettings>) => setDraft((current) => ({ ...current, ...change }));
  const polite = (change: Partial<SharingSettings['polite']>) => setDraft((current) => ({ ...current, polite: { ...current.polite, ...change } }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    // The mode applies at once from its own control; never overwrite it with this form's copy.
    const { mode: _mode, ...patch } = draft;
    void save(patch);
  };
  return (
    <form onSubmit={submit} style={{ display: 'contents' }}>
      <Card title="When to share">
        <div className="form-grid">
          <NumberField label="Away after" unit="min" min={1} value={draft.idleThresholdMinutes} onChange={(v) => edit({ idleThresholdMinutes: v ?? Number.NaN })} hint="No keyboard or mouse input for this long counts as away." />
          <div className="field">
            <label htmlFor="on-battery">On battery</label>
            <select id="on-battery" className="select" value={draft.onBattery} onChange={(event) => edit({ onBattery: event.target.value as SharingSettings['onBattery'] })}>
              <option value="pause">Pause sharing</option>
              <option value="share">Keep sharing</option>
            </select>
          </div>
        </div>
        <ScheduleEditor label="Schedule" windows={draft.schedule} onChange={(schedule) => edit({ schedule })} emptyText="Any time (no schedule)." />
        <ScheduleEditor label="Quiet hours" windows={draft.quietHours.windows} onChange={(windows) => edit({ quietHours: { ...draft.quietHours, windows } })} emptyText="None." />
      </Card>
      <Card title="Limits">
        <div className="form-grid">
          <NumberField label="Max GPU temperature" unit="°C" min={40} value={draft.maxGpuTempC} onChange={(v) => edit({ maxGpuTempC: v ?? Number.NaN })} />
          <NumberField label="Max GPU power" unit="W" nullable value={draft.maxPowerW} onChange={(v) => edit({ maxPowerW: v })} />
        </div>
        <p className="field-hint">Polite mode, while you use the PC:</p>
        <div className="form-grid">
          <NumberField label="VRAM" unit="MB" nullable value={draft.polite.maxVramMb} onChange={(v) => polite({ maxVramMb: v })} />
          <NumberField label="Speed" unit="tokens/s" nullable value={draft.polite.maxTokensPerSecond} onChange={(v) => polite({ maxTokensPerSecond: v })} />
          <NumberField label="Power" unit="W" nullable value={draft.polite.maxPowerW} onChange={(v) => polite({ maxPowerW: v })} />
        </div>
      </Card>
      {error ? <ErrorNote error={error} /> : null}
      <div className="row">
        <button type="submit" className="button primary" disabled={saving}>
          {saving ? 'Saving…' : 'Save changes'}
        </button>
        <button type="button" className="button" onClick={() => setDraft(view.sharing)}>
          Reset
        </button>
        {savedAt && !error ? (
          <span className="muted" role="status">
            Saved.
          </span>
        ) : null}
      </div>
    </form>
  );
}

/** The Settings screen. */
export function SettingsScreen() {
  const settings = useApp((s) => s.settings);
  const load = useApp((s) => s.loadSettings);
  const mode = useApp((s) => s.state.value?.sharing.mode);
  const setAutoStart = useApp((s) => s.setAutoStart);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <div className="page">
      <PageHeader title="Settings" subtitle="When and how much your GPU is shared" />
      <Show data={settings} onRetry={() => void load()} lines={5}>
        {(view) => (
          <>
            <ModeCard mode={mode ?? view.sharing.mode} />
            <SharingForm view={view} />
            <ElectricityCard view={view} />
            <Card title="App">
              <Switch
                compact
                label="Start Silkworm when I sign in"
                checked={view.autoStart === true}
                disabled={view.autoStart === null}
                description={view.autoStart === null ? 'Desktop app only. On a headless rig, use your service manager (systemd, launchd).' : 'Off unless you turn it on.'}
                onChange={(enabled) => void setAutoStart(enabled)}
              />
              <dl className="kv">
                <dt>Network</dt>
                <dd>{view.network === 'mainnet' ? 'TON mainnet' : 'TON testnet (test Toncoin)'}</dd>
                <dt>Coordinator</dt>
                <dd className="mono">{view.coordinator ?? 'not set'}</dd>
              </dl>
            </Card>
          </>
        )}
      </Show>
    </div>
  );
}
