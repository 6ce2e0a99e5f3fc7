/**
 * Earnings: what this session served (from the worker's own counters and the network's
 * receipts), and — once the worker keeps its books — the ledger's real figures: claimable now
 * with Cash out, the live rate and month forecast, charts by day and model, receipts, payouts
 * with chain links, and CSV export. Without the ledger it says why and shows only the session.
 * Never an invented number.
 */
import type { AppError, EarningsRange, EarningsView, FinishedJob } from '../../../main/ipc/contract.js';
import { useEffect, useRef } from 'react';
import { useApp } from '../store/app-store.js';
import { Card, PageHeader, Stat } from '../ui/card.js';
import { Empty, Show } from '../ui/states.js';
import { formatDuration, formatInteger, formatTon, shorten } from '../format.js';
import { saveTextFile } from '../save-file.js';
import { Balance } from './cash-out.js';
import { ByDayChart, ByModelChart } from './earnings-charts.js';
import { RateAndForecast } from './earnings-forecast.js';
import { PayoutsTable, ReceiptsTable } from './earnings-tables.js';
import '../styles/earnings.css';

const RANGES: { id: EarningsRange; label: string }[] = [
  { id: 'today', label: 'Today' },
  { id: '7d', label: '7 days' },
  { id: '30d', label: '30 days' },
];

/** How often the live rate and forecast are refreshed while the screen is open. */
const REFRESH_MS = 30_000;

function LedgerUnavailable({ error, what, short = false }: { error: AppError; what: string; short?: boolean }) {
  return <Empty title={`No ${what} yet`}>{short ? `They appear here once the earnings ledger is connected.` : error.message}</Empty>;
}

function SessionJobs({ jobs }: { jobs: FinishedJob[] }) {
  if (jobs.length === 0) return <Empty title="No jobs served yet this session">Each job the network sends appears here as it ends.</Empty>;
  const most = Math.max(...jobs.map((job) => job.completionTokens), 1);
  return (
    <>
      <div className="bars" role="img" aria-label={`Tokens of the last ${jobs.length} jobs`}>
        {jobs.map((job) => (
          <span key={job.jobId} title={`${job.completionTokens} tokens`} style={{ height: `${Math.max(4, (job.completionTokens / most) * 100)}%`, opacity: job.outcome === 'done' ? 0.85 : 0.35 }} />
        ))}
      </div>
      <ul className="list" aria-label="Recent jobs">
        {jobs
          .slice(-5)
          .reverse()
          .map((job) => (
            <li key={job.jobId} className="row spread">
              <span className="mono">{shorten(job.jobId.replace(/^job-/, ''), 5)}</span>
              <span className="muted">{job.model}</span>
              <span>{formatInteger(job.completionTokens)} tokens</span>
              <span className="muted">{job.outcome === 'done' ? `${job.durationMs} ms` : 'failed'}</span>
            </li>
          ))}
      </ul>
    </>
  );
}

function RangePicker() {
  const range = useApp((s) => s.range);
  const setRange = useApp((s) => s.setRange);
  return (
    <div className="segmented" role="group" aria-label="Range">
      {RANGES.map((item) => (
        <button key={item.id} type="button" aria-pressed={range === item.id} onClick={() => void setRange(item.id)}>
          {item.label}
        </button>
      ))}
    </div>
  );
}

function History({ summary }: { summary: EarningsView }) {
  return (
    <>
      <div className="stats range-totals" data-testid="range-totals">
        <Stat value={`${formatTon(summary.totalNanotons)} TON`} hint="earned" />
        {summary.jobs !== undefined ? <Stat value={formatInteger(summary.jobs)} hint="jobs" /> : null}
        {summary.completionTokens !== undefined ? <Stat value={formatInteger(summary.completionTokens)} hint="tokens served" /> : null}
        {summary.promptTokens !== undefined ? <Stat value={formatInteger(summary.promptTokens)} hint="prompt tokens read" /> : null}
      </div>
      {summary.byModel.length === 0 ? (
        <Empty title="No jobs in this range yet">Earnings appear here as the network pays for jobs.</Empty>
      ) : (
        <div className="charts">
          <ByDayChart summary={summary} />
          <ByModelChart summary={summary} />
        </div>
      )}
    </>
  );
}

function ExportButton({ ready }: { ready: boolean }) {
  const exportCsv = useApp((s) => s.exportCsv);
  const busy = useApp((s) => s.csvExport.busy);
  const save = async () => {
    const file = await exportCsv();
    if (file) saveTextFile(file.filename, file.csv);
  };
  return (
    <button type="button" className="button" disabled={!ready || busy} aria-busy={busy} title={ready ? 'The jobs of the range shown, as CSV' : 'Available once the earnings ledger is connected'} onClick={() => void save()}>
      {busy ? 'Exporting…' : 'Export CSV'}
    </button>
  );
}

/** Refreshes the ledger when a receipt arrives, and the rate every REFRESH_MS, while the screen is open. */
function useLiveLedger(ready: boolean) {
  const receipts = useApp((s) => s.session.value?.receipts);
  const loadHistory = useApp((s) => s.loadHistory);
  const setRange = useApp((s) => s.setRange);
  const range = useApp((s) => s.range);
  const seen = useRef(receipts);
  useEffect(() => {
    if (!ready || receipts === seen.current) return;
    seen.current = receipts;
    // The ledger credits a receipt right after it arrives: give it a moment.
    const timer = setTimeout(() => void loadHistory(), 400);
    return () => clearTimeout(timer);
  }, [ready, receipts, loadHistory]);
  useEffect(() => {
    if (!ready) return;
    const timer = setInterval(() => void setRange(range), REFRESH_MS);
    return () => clearInterval(timer);
  }, [ready, range, setRange]);
}

/** The Earnings screen. */
export function EarningsScreen() {
  const session = useApp((s) => s.session);
  const jobs = useApp((s) => s.session.value?.recentJobs);
  const summary = useApp((s) => s.summary);
  const receipts = useApp((s) => s.receipts);
  const payouts = useApp((s) => s.payouts);
  const csvError = useApp((s) => s.csvExport.error);
  const loadSession = useApp((s) => s.loadSession);
  const loadHistory = useApp((s) => s.loadHistory);
  useEffect(() => {
    void loadSession();
    void loadHistory();
  }, [loadSession, loadHistory]);
  // Ready once the ledger answered; an `unavailable` later (books closed) shows the reason again.
  const ledger = summary.value !== null && summary.error?.code !== 'unavailable' ? summary.value : null;
  useLiveLedger(ledger !== null);
  const payoutItems = payouts.value?.items ?? [];
  return (
    <div className="page">
      <PageHeader
        title="Earnings"
        subtitle="What your GPU served, and what the network owes you"
        actions={
          <div className="row">
            <ExportButton ready={ledger !== null} />
            {ledger === null ? (
              <button type="button" className="button primary" disabled title="Available once the earnings ledger is connected">
                Cash out
              </button>
            ) : null}
          </div>
        }
      />
      {csvError ? (
        <p className="error-note" role="alert">
          {csvError.message}
        </p>
      ) : null}
      {ledger ? (
        <div className="grid-2">
          <Card title="Balance">
            <Balance summary={ledger} />
          </Card>
          <Card title="Rate and forecast">
            <RateAndForecast summary={ledger} />
          </Card>
        </div>
      ) : null}
      <Card title="This session">
        <Show data={session} onRetry={() => void loadSession()} lines={2}>
          {(value) => (
            <div className="stats" data-testid="session-earnings">
              <Stat value={formatInteger(value.jobsServed)} hint={`jobs served${value.jobsFailed > 0 ? ` · ${value.jobsFailed} failed` : ''}`} />
              <Stat value={formatInteger(value.tokensGenerated)} hint="tokens generated" />
              <Stat value={formatDuration(value.sharedMs)} hint="time shared" />
              <Stat small value={value.receipts > 0 ? `${formatTon(value.reportedNanotons)} TON` : '—'} hint={value.receipts > 0 ? `stated in ${value.receipts} ${value.receipts === 1 ? 'receipt' : 'receipts'} · ${ledger ? 'credited to the ledger below' : 'not yet settled on chain'}` : 'no receipts from the network yet'} />
            </div>
          )}
        </Show>
      </Card>
      {ledger ? null : <Card title="Jobs this session">{jobs ? <SessionJobs jobs={jobs} /> : null}</Card>}
      <Card title="History" actions={<RangePicker />}>
        <Show data={summary} onRetry={() => void loadHistory()} whenUnavailable={(error) => <LedgerUnavailable error={error} what="earnings history" />}>
          {(value) => <History summary={value} />}
        </Show>
      </Card>
      {ledger ? (
        <>
          <Card title="Receipts">
            <Show data={receipts} onRetry={() => void loadHistory()}>
              {(page) => <ReceiptsTable page={page} payouts={payoutItems} />}
            </Show>
          </Card>
          <Card title="Payouts">
            <Show data={payouts} onRetry={() => void loadHistory()}>
              {(page) => <PayoutsTable page={page} />}
            </Show>
          </Card>
        </>
      ) : (
        <div className="grid-2">
          <Card title="Receipts">
            <Show data={receipts} whenUnavailable={(error) => <LedgerUnavailable short error={error} what="receipts" />}>
              {(page) => <ReceiptsTable page={page} payouts={payoutItems} />}
            </Show>
          </Card>
          <Card title="Payouts">
            <Show data={payouts} whenUnavailable={(error) => <LedgerUnavailable short error={error} what="payouts" />}>
              {(page) => <PayoutsTable page={page} />}
            </Show>
          </Card>
        </div>
      )}
    </div>
  );
}
