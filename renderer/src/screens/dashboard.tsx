/** Dashboard: the share toggle, what the PC is doing and why, the current job, speed, GPU, today. */
import type { AppState } from '../../../main/ipc/contract.js';
import { useEffect, useState } from 'react';
import { useApp } from '../store/app-store.js';
import { Badge, Card, PageHeader, Stat, type Tone } from '../ui/card.js';
import { ErrorNote, Show } from '../ui/states.js';
import { Switch } from '../ui/switch.js';
import { formatAgo, formatDuration, formatInteger, formatTon, shorten } from '../format.js';

const STATE_LABEL: Record<AppState['sharing']['state'], { text: string; tone: Tone }> = {
  sharing: { text: 'Sharing', tone: 'ok' },
  paused: { text: 'Paused', tone: 'warn' },
  off: { text: 'Off', tone: 'neutral' },
};

const MODE_LABEL = { off: 'Off', idle: 'When idle', polite: 'Polite', always: 'Always' } as const;

/** "Sharing: away 12 min · no game" → "away 12 min · no game" (the badge already says the state). */
function why(summary: string): string {
  return summary.replace(/^(Sharing|Paused|Off)(:\s*)?/, '') || 'Sharing is turned off.';
}

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
  const changing = useApp((s) => s.modeChanging);
  const modeError = useApp((s) => s.modeError);
  const { sharing } = state;
  const label = STATE_LABEL[sharing.state];
  return (
    <Card className="hero" title="Sharing">
      <div className="row spread">
        <Switch label="Share GPU when idle" checked={sharing.mode !== 'off'} busy={changing} onChange={() => void toggle()} />
        <div className="row">
          <Badge tone={label.tone}>{label.text}</Badge>
          {sharing.mode !== 'off' ? <Badge plain>Mode: {MODE_LABEL[sharing.mode]}</Badge> : null}
        </div>
      </div>
      <p className="hero-summary" data-testid="sharing-summary">
        {why(sharing.summary)}
      </p>
      {sharing.caps ? <p className="stat-hint">Polite limits on: up to {sharing.caps.maxTokensPerSecond ?? '∞'} tokens/s, {sharing.caps.maxVramMb ?? '∞'} MB VRAM.</p> : null}
      {modeError ? <ErrorNote error={modeError} /> : null}
    </Card>
  );
}

function JobCard({ state, now }: { state: AppState; now: number }) {
  const { job, lastJob } = state;
  return (
    <Card title="Current job">
      {job ? (
        <Stat value={<span className="mono">{shorten(job.jobId.replace(/^job-/, ''), 5)}</span>} hint={`${job.model} · running for ${formatDuration(now - job.startedAt)}`} />
      ) : (
        <Stat small value="No job running" hint={lastJob ? `Last: ${formatInteger(lastJob.completionTokens)} tokens ${lastJob.outcome === 'done' ? 'served' : 'before it failed'} ${formatAgo(lastJob.endedAt, now)}` : state.sharing.share ? 'Waiting for the network to send one.' : 'Jobs arrive while sharing.'} />
      )}
    </Card>
  );
}

function SpeedCard({ state }: { state: AppState }) {
  const { engine, lastJob } = state;
  const value = lastJob?.tokensPerSecond ?? engine?.tokensPerSecond ?? null;
  const benchmark = engine ? `${formatInteger(engine.tokensPerSecond)} at load (${engine.gpu})` : 'model unloaded while not sharing';
  return (
    <Card title="Tokens / s">
      <Stat value={value === null ? '—' : formatInteger(value)} hint={lastJob?.tokensPerSecond != null ? `last job · ${benchmark}` : engine ? `measured ${benchmark}` : benchmark} />
    </Card>
  );
}

function GpuCard({ state }: { state: AppState }) {
  const { gpu } = state;
  const vram = gpu && gpu.memoryUsedMb !== null && gpu.memoryTotalMb !== null ? `${formatInteger(gpu.memoryUsedMb)} / ${formatInteger(gpu.memoryTotalMb)} MB` : null;
  return (
    <Card title="GPU">
      <Stat value={gpu?.tempC != null ? `${gpu.tempC} °C` : null} hint={<>VRAM {vram ?? <span className="unknown">unknown</span>}{gpu?.name ? ` · ${gpu.name}` : ''}</>} />
      {gpu === null ? <p className="stat-hint">No GPU telemetry here (nvidia-smi or rocm-smi not found).</p> : null}
    </Card>
  );
}

function TodayCard() {
  const session = useApp((s) => s.session);
  const go = useApp((s) => s.go);
  return (
    <Card title="Earned this session">
      <Show data={session} lines={2}>
        {(value) => (
          <>
            {value.receipts > 0 ? (
              <Stat small value={`${formatTon(value.reportedNanotons)} TON`} hint={`reported by the network for ${formatInteger(value.jobsServed)} ${value.jobsServed === 1 ? 'job' : 'jobs'} this session · not yet settled`} />
            ) : (
              <Stat small value="Nothing yet" hint={`${formatInteger(value.jobsServed)} jobs · ${formatInteger(value.tokensGenerated)} tokens served this session`} />
            )}
            <button type="button" className="button" onClick={() => go('earnings')}>
              Open earnings
            </button>
          </>
        )}
      </Show>
    </Card>
  );
}

/** The Dashboard screen. */
export function DashboardScreen() {
  const state = useApp((s) => s.state);
  const loadState = useApp((s) => s.loadState);
  const loadSession = useApp((s) => s.loadSession);
  const now = useNow();
  useEffect(() => {
    void loadState();
    void loadSession();
  }, [loadState, loadSession]);
  const link = state.value?.worker;
  return (
    <div className="page">
      <PageHeader
        title="Dashboard"
        subtitle={link ? (link.status === 'connected' ? 'Connected to the network' : link.status === 'connecting' ? `Reconnecting to the network${link.lastError ? ` (${link.lastError})` : ''}…` : 'The worker is not running') : 'Your GPU, shared when you are away'}
        actions={link ? <Badge tone={link.status === 'connected' ? 'ok' : 'warn'}>{link.status === 'connected' ? 'Online' : 'Offline'}</Badge> : null}
      />
      <Show data={state} onRetry={() => void loadState()} lines={4}>
        {(value) => (
          <>
            <ShareCard state={value} />
            <div className="grid">
              <JobCard state={value} now={now} />
              <SpeedCard state={value} />
              <GpuCard state={value} />
              <TodayCard />
            </div>
          </>
        )}
      </Show>
    </div>
  );
}
