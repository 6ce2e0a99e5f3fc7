/**
 * Earnings: what this session served (from the worker's own counters and the network's
 * receipts), and the ledger's history — by day, receipts, payouts, CSV, cash out — shown as
 * honest empty states until the ledger is connected. Never an invented number.
 */
import type { AppError, EarningsRange, FinishedJob } from '../../../main/ipc/contract.js';
import { useEffect } from 'react';
import { useApp } from '../store/app-store.js';
import { Card, PageHeader, Stat } from '../ui/card.js';
import { Empty, Show } from '../ui/states.js';
import { formatDuration, formatInteger, formatTon, shorten } from '../format.js';

const RANGES: { id: EarningsRange; label: string }[] = [
  { id: 'today', label: 'Today' },
  { id: '7d', label: '7 days' },
  { id: '30d', label: '30 days' },
];

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

/** The Earnings screen. */
export function EarningsScreen() {
  const session = useApp((s) => s.session);
  const jobs = useApp((s) => s.session.value?.recentJobs);
  const range = useApp((s) => s.range);
  const summary = useApp((s) => s.summary);
  const receipts = useApp((s) => s.receipts);
  const payouts = useApp((s) => s.payouts);
  const loadSession = useApp((s) => s.loadSession);
  const loadHistory = useApp((s) => s.loadHistory);
  const setRange = useApp((s) => s.setRange);
  useEffect(() => {
    void loadSession();
    void loadHistory();
  }, [loadSession, loadHistory]);
  const ledgerReady = summary.status === 'ready';
  return (
    <div className="page">
      <PageHeader
        title="Earnings"
        subtitle="What your GPU served, and what the network owes you"
        actions={
          <div className="row">
            <button type="button" className="button" disabled={!ledgerReady} title={ledgerReady ? undefined : 'Available once the earnings ledger is connected'}>
              Export CSV
            </button>
            <button type="button" className="button primary" disabled={!ledgerReady} title={ledgerReady ? undefined : 'Available once the earnings ledger is connected'}>
              Cash out
            </button>
          </div>
        }
      />
      <Card title="This session">
        <Show data={session} onRetry={() => void loadSession()} lines={2}>
          {(value) => (
            <div className="stats" data-testid="session-earnings">
              <Stat value={formatInteger(value.jobsServed)} hint={`jobs served${value.jobsFailed > 0 ? ` · ${value.jobsFailed} failed` : ''}`} />
              <Stat value={formatInteger(value.tokensGenerated)} hint="tokens generated" />
              <Stat value={formatDuration(value.sharedMs)} hint="time shared" />
              <Stat small value={value.receipts > 0 ? `${formatTon(value.reportedNanotons)} TON` : '—'} hint={value.receipts > 0 ? `stated in ${value.receipts} ${value.receipts === 1 ? 'receipt' : 'receipts'} · not yet settled on chain` : 'no receipts from the network yet'} />
            </div>
          )}
        </Show>
      </Card>
      <Card title="Jobs this session">
        {jobs ? <SessionJobs jobs={jobs} /> : null}
      </Card>
      <Card
        title="History"
        actions={
          <div className="segmented" role="group" aria-label="Range">
            {RANGES.map((item) => (
              <button key={item.id} type="button" aria-pressed={range === item.id} onClick={() => void setRange(item.id)}>
                {item.label}
              </button>
            ))}
          </div>
        }
      >
        <Show data={summary} onRetry={() => void loadHistory()} whenUnavailable={(error) => <LedgerUnavailable error={error} what="earnings history" />}>
          {(value) => (
            <div className="stats">
              <Stat value={`${formatTon(value.totalNanotons)} TON`} hint="earned" />
              <Stat value={`${formatTon(value.pendingNanotons)} TON`} hint="pending" />
              <Stat value={`${formatTon(value.claimableNanotons)} TON`} hint="claimable now" />
              <Stat value={`${formatTon(value.paidNanotons)} TON`} hint="paid" />
            </div>
          )}
        </Show>
      </Card>
      <div className="grid-2">
        <Card title="Receipts">
          <Show data={receipts} whenUnavailable={(error) => <LedgerUnavailable short error={error} what="receipts" />}>
            {(page) =>
              page.items.length === 0 ? (
                <Empty title="No receipts yet" />
              ) : (
                <ul className="list">
                  {page.items.map((item) => (
                    <li key={item.jobId} className="row spread">
                      <span className="mono">{shorten(item.jobId, 5)}</span>
                      <span>{formatTon(item.nanotons)} TON</span>
                    </li>
                  ))}
                </ul>
              )
            }
          </Show>
        </Card>
        <Card title="Payouts">
          <Show data={payouts} whenUnavailable={(error) => <LedgerUnavailable short error={error} what="payouts" />}>
            {(page) =>
              page.items.length === 0 ? (
                <Empty title="No payouts yet" />
              ) : (
                <ul className="list">
                  {page.items.map((item) => (
                    <li key={item.txHash} className="row spread">
                      {item.explorerUrl ? (
                        <a href={item.explorerUrl} target="_blank" rel="noreferrer noopener">
                          {shorten(item.txHash, 6)}
                        </a>
                      ) : (
                        <span className="mono">{shorten(item.txHash, 6)}</span>
                      )}
                      <span>{formatTon(item.nanotons)} TON</span>
                    </li>
                  ))}
                </ul>
              )
            }
          </Show>
        </Card>
      </div>
    </div>
  );
}
