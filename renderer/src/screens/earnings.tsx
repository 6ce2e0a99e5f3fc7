/**
 * Earnings, as a person reads them: what is ready to cash out (and Cash out), what was earned in
 * the chosen range with its charts, the rate and the month forecast — amounts in TON with
 * sensible precision and in the owner's currency. The books' detail (receipts, vouchers,
 * payouts to the nanoton, this session's counters) lives under Advanced. Without books it says
 * why, and shows this session only. Never an invented number.
 */
import type { AppError, EarningsRange, EarningsView, FinishedJob, SessionEarnings } from '../../../main/ipc/contract.js';
import { lazy, Suspense, useEffect, useRef } from 'react';
import { useApp } from '../store/app-store.js';
import { Card, PageHeader, Stat } from '../ui/card.js';
import { Empty, Loading, Show } from '../ui/states.js';
import { Money } from '../ui/money.js';
import { formatDuration, formatInteger, shorten } from '../format.js';
import { formatTonExact } from '../money.js';
import { saveTextFile } from '../save-file.js';
import { Balance, BooksDetail } from './cash-out.js';
import { RateAndForecast } from './earnings-forecast.js';
import { PayoutsTable, ReceiptsTable } from './earnings-tables.js';
import '../styles/earnings.css';

// The charts (recharts) load after the screen's figures.
const EarningsCharts = lazy(() => import('./earnings-charts.js').then((module) => ({ default: module.EarningsCharts })));

const RANGES: { id: EarningsRange; label: string }[] = [
  { id: 'today', label: 'Today' },
  { id: '7d', label: '7 days' },
  { id: '30d', label: '30 days' },
];

/** How often the rate and forecast are refreshed while the screen is open. */
const REFRESH_MS = 30_000;

const OUTCOME: Record<FinishedJob['outcome'], string> = { done: 'served', failed: 'failed', interrupted: 'stopped for you' };

function SessionJobs({ jobs }: { jobs: FinishedJob[] }) {
  if (jobs.length === 0) return <Empty title="No jobs served yet this session">Each job the network sends appears here as it ends.</Empty>;
  return (
    <ul className="list" aria-label="Recent jobs">
      {jobs
        .slice(-5)
        .reverse()
        .map((job) => (
          <li key={job.jobId} className="row spread">
            <span className="mono">{shorten(job.jobId.replace(/^job-/, ''), 5)}</span>
            <span className="muted">{job.model}</span>
            <span>{formatInteger(job.completionTokens)} tokens</span>
            <span className="muted">{job.outcome === 'done' ? formatDuration(job.durationMs) : OUTCOME[job.outcome]}</span>
          </li>
        ))}
    </ul>
  );
}

function SessionCounters({ session, withBooks }: { session: SessionEarnings; withBooks: boolean }) {
  const interrupted = session.recentJobs.filter((job) => job.outcome === 'interrupted').length;
  return (
    <div className="stats" data-testid="session-earnings">
      <Stat value={formatInteger(session.jobsServed)} hint="jobs served" />
      <Stat value={formatInteger(session.tokensGenerated)} hint="tokens written" />
      <Stat value={formatDuration(session.sharedMs)} hint="time shared" />
      {session.jobsFailed > 0 ? <Stat value={formatInteger(session.jobsFailed)} hint={interrupted > 0 ? `jobs stopped before the end (${formatInteger(interrupted)} so you could use the GPU)` : 'jobs stopped before the end'} /> : null}
      {withBooks ? <Stat value={formatInteger(session.receipts)} hint="receipts from the network" /> : null}
    </div>
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

function Earned({ earnings }: { earnings: EarningsView }) {
  const jobs = earnings.jobs ?? 0;
  return (
    <>
      <div className="stats range-totals" data-testid="range-totals">
        <Stat value={<Money nanotons={earnings.totalNanotons} block />} hint="earned" />
        <Stat value={formatInteger(jobs)} hint={jobs === 1 ? 'job paid for' : 'jobs paid for'} />
      </div>
      {earnings.byModel.length === 0 ? (
        <Empty title="No jobs in this range yet">Earnings appear here as the network pays for jobs.</Empty>
      ) : (
        <Suspense fallback={<Loading lines={3} label="Loading charts" />}>
          <EarningsCharts earnings={earnings} />
        </Suspense>
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
    <button type="button" className="button" disabled={!ready || busy} aria-busy={busy} title={ready ? 'The jobs of the range shown, as CSV' : 'Available once earnings are kept'} onClick={() => void save()}>
      {busy ? 'Exporting…' : 'Export CSV'}
    </button>
  );
}

/** Refreshes the books when a receipt arrives, and the rate every REFRESH_MS, while the screen is open. */
function useLiveEarnings(ready: boolean) {
  const receipts = useApp((s) => s.session.value?.receipts);
  const loadEarnings = useApp((s) => s.loadEarnings);
  const setRange = useApp((s) => s.setRange);
  const range = useApp((s) => s.range);
  const seen = useRef(receipts);
  useEffect(() => {
    if (!ready || receipts === seen.current) return;
    seen.current = receipts;
    // The books credit a receipt right after it arrives: give them a moment.
    const timer = setTimeout(() => void loadEarnings(), 400);
    return () => clearTimeout(timer);
  }, [ready, receipts, loadEarnings]);
  useEffect(() => {
    if (!ready) return;
    const timer = setInterval(() => void setRange(range), REFRESH_MS);
    return () => clearInterval(timer);
  }, [ready, range, setRange]);
}

function NoBooks({ error }: { error: AppError }) {
  const go = useApp((s) => s.go);
  return (
    <Empty title="No earnings kept yet" action={error.message.includes('payout address') ? <button type="button" className="button primary" onClick={() => go('wallet')}>Set a payout address</button> : undefined}>
      {error.message}
    </Empty>
  );
}

function Advanced({ books }: { books: EarningsView }) {
  const session = useApp((s) => s.session.value);
  const receipts = useApp((s) => s.receipts);
  const payouts = useApp((s) => s.payouts);
  const loadEarnings = useApp((s) => s.loadEarnings);
  const payoutItems = payouts.value?.items ?? [];
  return (
    <details className="card advanced" data-testid="advanced">
      <summary>
        <h2>Advanced</h2>
        <span className="muted">Every job, signature and payment in full detail, and this session’s counters</span>
      </summary>
      <BooksDetail earnings={books} />
      {session ? (
        <section aria-label="This session">
          <h3>This session</h3>
          <SessionCounters session={session} withBooks />
          <p className="stat-hint">Since Silkworm started: {formatTonExact(session.reportedNanotons)} TON stated in {formatInteger(session.receipts)} {session.receipts === 1 ? 'receipt' : 'receipts'}, all kept in the books above.</p>
        </section>
      ) : null}
      <section aria-label="Receipts">
        <h3>Receipts</h3>
        <Show data={receipts} onRetry={() => void loadEarnings()}>
          {(page) => <ReceiptsTable page={page} payouts={payoutItems} />}
        </Show>
      </section>
      <section aria-label="Payouts">
        <h3>Payouts</h3>
        <Show data={payouts} onRetry={() => void loadEarnings()}>
          {(page) => <PayoutsTable page={page} />}
        </Show>
      </section>
    </details>
  );
}

/** The Earnings screen. */
export function EarningsScreen() {
  const session = useApp((s) => s.session);
  const earnings = useApp((s) => s.earnings);
  const csvError = useApp((s) => s.csvExport.error);
  const loadSession = useApp((s) => s.loadSession);
  const loadEarnings = useApp((s) => s.loadEarnings);
  const loadWallet = useApp((s) => s.loadWallet);
  useEffect(() => {
    void loadSession();
    void loadEarnings();
    void loadWallet();
  }, [loadSession, loadEarnings, loadWallet]);
  // Ready once the books answered; an `unavailable` later (books closed) shows the reason again.
  const books = earnings.value !== null && earnings.error?.code !== 'unavailable' ? earnings.value : null;
  useLiveEarnings(books !== null);
  return (
    <div className="page">
      <PageHeader title="Earnings" subtitle="What your GPU earned, and what you can cash out" actions={<ExportButton ready={books !== null} />} />
      {csvError ? (
        <p className="error-note" role="alert">
          {csvError.message}
        </p>
      ) : null}
      {books ? (
        <>
          <div className="grid-2">
            <Card title="Balance">
              <Balance earnings={books} />
            </Card>
            <Card title="Rate and forecast">
              <RateAndForecast earnings={books} />
            </Card>
          </div>
          <Card title="Earned" actions={<RangePicker />}>
            <Earned earnings={books} />
          </Card>
          <Advanced books={books} />
        </>
      ) : (
        <>
          <Card title="Earned">
            <Show data={earnings} onRetry={() => void loadEarnings()} whenUnavailable={(error) => <NoBooks error={error} />}>
              {() => null}
            </Show>
          </Card>
          <Card title="This session">
            <Show data={session} onRetry={() => void loadSession()} lines={2}>
              {(value) => (
                <>
                  <SessionCounters session={value} withBooks={false} />
                  <SessionJobs jobs={value.recentJobs} />
                </>
              )}
            </Show>
          </Card>
        </>
      )}
    </div>
  );
}
