/**
 * The books' lists under Earnings → Advanced, to the nanoton: per-job receipts (tokens, earned,
 * voucher, paid state) and on-chain payouts with their block-explorer links, newest first, a page at a
 * time. Links open in the owner's browser: the dashboard's new tab, or Electron's window-open
 * handler, which hands only allow-listed https URLs to the OS.
 */
import type { Page, PayoutView, ReceiptView } from '../../../main/ipc/contract.js';
import type { MouseEvent, ReactNode } from 'react';
import { useApp } from '../store/app-store.js';
import { Badge, type Tone } from '../ui/card.js';
import { Empty } from '../ui/states.js';
import { formatInteger, shorten } from '../format.js';
import { formatTonExact } from '../money.js';

const when = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** "Mar 14, 11:30" */
export function formatWhen(ms: number): string {
  return when.format(new Date(ms));
}

/** A link to a block explorer; anything but https is shown as plain text. The desktop app opens it in the owner's browser. */
export function ExplorerLink({ url, children }: { url: string; children: ReactNode }) {
  const viaShell = useApp((s) => s.info.value?.features.openExternal ?? false);
  const openLink = useApp((s) => s.openLink);
  if (!url.startsWith('https://')) return <>{children}</>;
  const onClick = (event: MouseEvent) => {
    event.preventDefault();
    void openLink(url);
  };
  return (
    <a href={url} target="_blank" rel="noopener noreferrer" title="Opens the block explorer in your browser" {...(viaShell ? { onClick } : {})}>
      {children}
      <span className="sr-only"> (opens in your browser)</span>
    </a>
  );
}

function MoreButton({ list, page }: { list: 'receipts' | 'payouts'; page: Page<unknown> }) {
  const loadMore = useApp((s) => s.loadMore);
  const busy = useApp((s) => s.moreLoading[list]);
  if (!page.next) return null;
  return (
    <button type="button" className="button more" disabled={busy} aria-busy={busy} onClick={() => void loadMore(list)}>
      {busy ? 'Loading…' : `Show older ${list}`}
    </button>
  );
}

const RECEIPT_STATUS: Record<NonNullable<ReceiptView['status']>, { tone: Tone; label: string }> = {
  pending: { tone: 'neutral', label: 'pending' },
  claimable: { tone: 'info', label: 'claimable' },
  paid: { tone: 'ok', label: 'paid' },
};

/** Per-job receipts, newest first. */
export function ReceiptsTable({ page, payouts }: { page: Page<ReceiptView>; payouts: PayoutView[] }) {
  if (page.items.length === 0) return <Empty title="No receipts yet">Each job the network pays for appears here with its voucher.</Empty>;
  const links = new Map(payouts.map((payout) => [payout.txHash, payout.explorerUrl]));
  return (
    <>
      <div className="table-scroll">
        <table className="table" aria-label="Receipts">
          <thead>
            <tr>
              <th scope="col">Finished</th>
              <th scope="col">Job</th>
              <th scope="col">Model</th>
              <th scope="col" className="num">Tokens in / out</th>
              <th scope="col" className="num">Earned</th>
              <th scope="col" className="num">Voucher</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((item) => {
              const status = RECEIPT_STATUS[item.status ?? 'pending'];
              const link = item.paidTx ? links.get(item.paidTx) : null;
              return (
                <tr key={item.jobId}>
                  <td className="nowrap">{formatWhen(item.finishedAt)}</td>
                  <td className="mono" title={item.jobId}>{shorten(item.jobId.replace(/^job-/, ''), 5)}</td>
                  <td>{item.model}</td>
                  <td className="num">{formatInteger(item.promptTokens)} / {formatInteger(item.completionTokens)}</td>
                  <td className="num">{formatTonExact(item.nanotons)} TON</td>
                  <td className="num">{item.voucherSeq ?? '—'}</td>
                  <td>
                    <Badge tone={status.tone}>{status.label}</Badge>
                    {item.paidTx && link ? (
                      <>
                        {' '}
                        <ExplorerLink url={link}>tx</ExplorerLink>
                      </>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <MoreButton list="receipts" page={page} />
    </>
  );
}

/** On-chain payouts, newest first, each with its explorer link (none on a local chain). */
export function PayoutsTable({ page }: { page: Page<PayoutView> }) {
  if (page.items.length === 0) return <Empty title="No payouts yet">A payout appears here once the chain shows it: after Cash out, or when the network pays out by itself.</Empty>;
  return (
    <>
      <div className="table-scroll">
        <table className="table" aria-label="Payouts">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col" className="num">Amount</th>
              <th scope="col" className="num">Voucher</th>
              <th scope="col">Status</th>
              <th scope="col">Transaction</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((item) => (
              <tr key={item.txHash}>
                <td className="nowrap">{formatWhen(item.at)}</td>
                <td className="num">
                  {formatTonExact(item.nanotons)} TON
                  <PayoutArrival item={item} />
                </td>
                <td className="num">{item.seq ?? '—'}</td>
                <td>
                  {item.status === 'matched' ? <Badge tone="ok">paid</Badge> : <Badge tone="warn">flagged</Badge>}
                  {item.flag ? <div className="stat-hint">{item.flag}; not counted</div> : null}
                </td>
                <td className="mono" title={item.txHash}>
                  {item.explorerUrl ? <ExplorerLink url={item.explorerUrl}>{shorten(item.txHash, 6)}</ExplorerLink> : shorten(item.txHash, 6)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page.items.some((item) => !item.explorerUrl) ? <p className="stat-hint">Payouts on a local test chain have no public block explorer.</p> : null}
      <MoreButton list="payouts" page={page} />
    </>
  );
}

/**
 * How a counted payout reached the payout address, when that differs from what it paid: the
 * payout account keeps a storage deposit out of a first payout (still the owner's, on their
 * account), and a Cash out's unused fee comes back with the money.
 */
function PayoutArrival({ item }: { item: PayoutView }) {
  const paid = BigInt(item.nanotons);
  const arrived = BigInt(item.arrivedNanotons);
  if (item.status !== 'matched' || arrived === paid) return null;
  const deposit = BigInt(item.depositNanotons);
  const returned = arrived - (paid - deposit);
  const parts = [
    deposit > 0n ? `${formatTonExact(deposit)} TON kept in your payout account for its storage` : null,
    returned > 0n ? `${formatTonExact(returned)} TON of the Cash out fee back` : null,
  ].filter((part): part is string => part !== null);
  return (
    <div className="stat-hint" data-testid="payout-arrival">
      {formatTonExact(arrived)} TON arrived{parts.length > 0 ? `: ${parts.join(', ')}` : ''}
    </div>
  );
}
