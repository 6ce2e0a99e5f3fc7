/**
 * Dashboard: the share switch (labelled for the mode it turns on) with the state in one plain
 * sentence and a pause's one-click fix; today's earnings (one figure, in TON and the owner's
 * currency, and today's chart by hour); the job running now; speed; the GPU in plain words.
 */
import type { AppState, EarningsView } from '../../../main/ipc/contract.js';
import { useEffect, useState } from 'react';
import { useApp } from '../store/app-store.js';
import { Badge, Card, PageHeader, Stat, type Tone } from '../ui/card.js';
import { ErrorNote, Show } from '../ui/states.js';
import { Switch } from '../ui/switch.js';
import { Money } from '../ui/money.js';
import { HourBars } from '../ui/hour-bars.js';
import { formatAgo, formatDuration, formatInteger, shorten } from '../format.js';
import { CashOutBlocked } from '../ui/cash-out-blocked.js';

const STATE_LABEL: Record<AppState['sharing']['state'], { text: string; tone: Tone }> = {
  sharing: { text: 'Sharing', tone: 'ok' },
  paused: { text: 'Paused', tone: 'warn' },
  off: { text: 'Off', tone: 'neutral' },
};

const MODE_LABEL = { off: 'Off', idle: 'When idle', polite: 'Polite', always: 'Always' } as const;

/** Ticks every second while mounted (for "running for 12 s"). */
function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

function ShareCard({ state }: { state: AppState }) {
  const toggle = useApp((s) => s.toggleSharing);
  const applyFix = useApp((s) => s.applyFix);
  const changing = useApp((s) => s.modeChanging);
  const modeError = useApp((s) => s.modeError);
  const { sharing } = state;
  const label = STATE_LABEL[sharing.state];
  const shownMode = sharing.mode === 'off' ? sharing.resumeMode : sharing.mode;
  return (
    <Card className="hero" title="Sharing">
      <div className="row spread">
        <Switch label={sharing.switchLabel} checked={sharing.mode !== 'off'} busy={changing} onChange={() => void toggle()} />
        <div className="row">
          <Badge tone={label.tone}>{label.text}</Badge>
          <Badge plain>
            <span data-testid="sharing-mode">Mode: {MODE_LABEL[shownMode]}</span>
          </Badge>
        </div>
      </div>
      <p className="hero-summary" data-testid="sharing-summary">
        {sharing.sentence}
      </p>
      {sharing.fix ? (
        <div className="row">
          <button type="button" className="button" disabled={changing} onClick={() => void applyFix(sharing.fix ?? { label: '', action: { kind: 'open-settings' } })}>
            {sharing.fix.label}
          </button>
        </div>
      ) : null}
      {sharing.caps ? (
        <p className="stat-hint">
          Polite limits on: up to {sharing.caps.maxTokensPerSecond === null ? 'any' : formatInteger(sharing.caps.maxTokensPerSecond)} tokens per second, {sharing.caps.maxVramMb === null ? 'any amount of' : `${formatInteger(sharing.caps.maxVramMb)} MB of`} GPU memory.
        </p>
      ) : null}
      {modeError ? <ErrorNote error={modeError} /> : null}
    </Card>
  );
}

function TodayBody({ today }: { today: EarningsView }) {
  const go = useApp((s) => s.go);
  const jobs = today.jobs ?? today.byDay.reduce((sum, day) => sum + day.jobs, 0);
  return (
    <>
      <div className="stat-value" data-testid="today-total">
        <Money nanotons={today.totalNanotons} />
      </div>
      <div className="stat-hint">
        {formatInteger(jobs)} {jobs === 1 ? 'job' : 'jobs'} paid for today
      </div>
      {today.byHour ? <HourBars slots={today.byHour} label="TON earned today, by hour" /> : null}
      <CashOutBlocked earnings={today} />
      <button type="button" className="button" onClick={() => go('earnings')}>
        Open earnings
      </button>
    </>
  );
}

function TodayCard() {
  const today = useApp((s) => s.today);
  const go = useApp((s) => s.go);
  return (
    <Card title="Today" className="today">
      <Show
        data={today}
        lines={3}
        whenUnavailable={(error) => (
          <>
            <Stat small value="Nothing kept yet" hint={error.message} />
            <button type="button" className="button" onClick={() => go('wallet')}>
              Set a payout address
            </button>
          </>
        )}
      >
        {(value) => <TodayBody today={value} />}
      </Show>
    </Card>
  );
}

function lastJobLine(job: NonNullable<AppState['lastJob']>, now: number): string {
  const ago = formatAgo(job.endedAt, now);
  if (job.outcome === 'done') return `Last: ${formatInteger(job.completionTokens)} tokens served ${ago}`;
  if (job.outcome === 'interrupted') return `Last: stopped ${ago} so you could use the GPU; the network finished it elsewhere`;
  return `Last: a job failed ${ago} after ${formatInteger(job.completionTokens)} tokens`;
}

function JobCard({ state, now }: { state: AppState; now: number }) {
  const { job, lastJob } = state;
  return (
    <Card title="Current job">
      {job ? (
        <Stat value={<span className="mono">{shorten(job.jobId.replace(/^job-/, ''), 5)}</span>} hint={`${job.model} · running for ${formatDuration(now - job.startedAt)}`} />
      ) : (
        <Stat small value="No job running" hint={lastJob ? lastJobLine(lastJob, now) : state.sharing.share ? 'Waiting for the network to send one.' : 'Jobs arrive while sharing.'} />
      )}
    </Card>
  );
}

function SpeedCard({ state }: { state: AppState }) {
  const { engine } = state;
  return (
    <Card title="Speed">
      {engine ? (
        <Stat value={`${formatInteger(engine.tokensPerSecond)} tokens/s`} hint={`How fast this PC writes answers with this model, measured when it loaded (${engine.gpu === 'cpu' ? 'on the processor' : `on the GPU, ${engine.gpu}`}).`} />
      ) : (
        <Stat small value="Model not loaded" hint="The model is loaded while sharing, and unloaded to give the GPU back." />
      )}
    </Card>
  );
}

function GpuCard({ state }: { state: AppState }) {
  const { gpu } = state;
  if (gpu === null) {
    return (
      <Card title="GPU">
        <Stat small value="No readings from your graphics card" hint="Silkworm cannot read its temperature or memory on this PC, so the temperature and power limits cannot be checked. Sharing still works." />
      </Card>
    );
  }
  const memory = gpu.memoryUsedMb !== null && gpu.memoryTotalMb !== null ? `${(gpu.memoryUsedMb / 1024).toFixed(1)} of ${(gpu.memoryTotalMb / 1024).toFixed(1)} GB memory in use` : 'memory in use not reported';
  return (
    <Card title="GPU">
      <Stat value={gpu.tempC !== null ? `${gpu.tempC} °C` : 'Temperature not reported'} hint={`${gpu.name ?? 'Your graphics card'} · ${memory}${gpu.powerW !== null ? ` · drawing ${Math.round(gpu.powerW)} W` : ''}`} />
    </Card>
  );
}

/** How each state of the link to the network reads in the page header. */
const LINK_LABEL: Record<AppState['worker']['status'], { subtitle: string; badge: string; tone: Tone }> = {
  connected: { subtitle: 'Connected to the network', badge: 'Online', tone: 'ok' },
  connecting: { subtitle: 'Reconnecting to the network…', badge: 'Offline', tone: 'warn' },
  refused: { subtitle: 'Refused by the network', badge: 'Refused', tone: 'fail' },
  'not-running': { subtitle: 'Reconnecting to the network…', badge: 'Offline', tone: 'warn' },
};

/** The Dashboard screen. */
export function DashboardScreen() {
  const state = useApp((s) => s.state);
  const loadState = useApp((s) => s.loadState);
  const loadSession = useApp((s) => s.loadSession);
  const loadToday = useApp((s) => s.loadToday);
  const now = useNow();
  useEffect(() => {
    void loadState();
    void loadSession();
    void loadToday();
  }, [loadState, loadSession, loadToday]);
  const link = state.value?.worker;
  return (
    <div className="page">
      <PageHeader title="Dashboard" subtitle={link ? LINK_LABEL[link.status].subtitle : 'Your GPU, shared when you are away'} actions={link ? <Badge tone={LINK_LABEL[link.status].tone}>{LINK_LABEL[link.status].badge}</Badge> : null} />
      <Show data={state} onRetry={() => void loadState()} lines={4}>
        {(value) => (
          <>
            {value.worker.status === 'refused' ? (
              <Card title={value.worker.refusal ?? 'Refused by the network'}>
                <p role="alert" data-testid="refusal">
                  {value.worker.lastError}
                </p>
                {value.worker.refusalCode === 'worker_ejected' || value.worker.refusalCode === 'identity_mismatch' ? (
                  <p className="stat-hint">
                    Silkworm keeps asking, every half minute or so, in case the network’s operator lifts it; nothing is earned meanwhile. Once you have fixed the cause, give the operator this PC’s worker id: <code data-testid="refused-worker-id">{value.worker.workerId ?? 'unknown'}</code>
                  </p>
                ) : (
                  <p className="stat-hint">Silkworm keeps asking, every half minute or so; nothing is earned meanwhile.</p>
                )}
              </Card>
            ) : value.worker.failedCheck ? (
              <Card title={value.worker.failedCheck.title}>
                <p data-testid="failed-check">{value.worker.failedCheck.sentence}</p>
                <p className="stat-hint">{formatAgo(value.worker.failedCheck.at, now)}</p>
              </Card>
            ) : null}
            <ShareCard state={value} />
            <div className="grid">
              <TodayCard />
              <JobCard state={value} now={now} />
              <SpeedCard state={value} />
              <GpuCard state={value} />
            </div>
          </>
        )}
      </Show>
    </div>
  );
}
