/**
 * The Earnings screen's charts (recharts, loaded only with them): TON earned per day and per
 * model over the chosen range. Bars are sized from the books' nanoton strings; amounts are
 * written as people read them (no axis of tiny ticks: the bars carry their amounts in labels,
 * tooltips and a screen-reader table). Colours come from the theme's CSS variables.
 */
import type { EarningsView } from '../../../main/ipc/contract.js';
import { Bar, BarChart, CartesianGrid, LabelList, Tooltip, XAxis, YAxis, type LabelProps, type TooltipContentProps } from 'recharts';
import { formatInteger } from '../format.js';
import { formatTon } from '../money.js';

interface Row {
  label: string;
  ton: number;
  nanotons: string;
  jobs: number;
  tokens: number | undefined;
}

const dayLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

/** "Mar 14" for a `YYYY-MM-DD` day key (the key is already the owner's calendar day). */
export function formatDay(day: string): string {
  return dayLabel.format(new Date(`${day}T00:00:00Z`));
}

function tonNumber(nanotons: string): number {
  return Number(nanotons) / 1e9;
}

function ChartTooltip({ active, payload }: TooltipContentProps) {
  const row = payload[0]?.payload as Row | undefined;
  if (!active || !row) return null;
  return (
    <div className="chart-tooltip">
      <strong>{row.label}</strong>
      <span>{formatTon(row.nanotons)} TON</span>
      <span className="muted">
        {formatInteger(row.jobs)} {row.jobs === 1 ? 'job' : 'jobs'}
        {row.tokens !== undefined ? ` · ${formatInteger(row.tokens)} tokens` : ''}
      </span>
    </div>
  );
}

/** The exact amount beside a bar (one line, in the theme's text colour), placed from the bar's box. */
function AmountLabel({ viewBox, value }: LabelProps) {
  const bar = viewBox as { x?: number; y?: number; width?: number; height?: number } | undefined;
  if (bar?.x === undefined || bar.y === undefined || value === undefined) return null;
  return (
    <text x={bar.x + (bar.width ?? 0) + 8} y={bar.y + (bar.height ?? 0) / 2} dominantBaseline="central" className="chart-label">
      {formatTon(String(value))} TON
    </text>
  );
}

/** The same numbers as a table, for screen readers (the chart itself is a picture). */
function DataTable({ caption, rows, first }: { caption: string; rows: Row[]; first: string }) {
  return (
    <table className="sr-only">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{first}</th>
          <th scope="col">TON</th>
          <th scope="col">Jobs</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.label}>
            <th scope="row">{row.label}</th>
            <td>{formatTon(row.nanotons)}</td>
            <td>{row.jobs}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** TON earned per day of the range. */
function ByDayChart({ earnings }: { earnings: EarningsView }) {
  const rows: Row[] = earnings.byDay.map((d) => ({ label: formatDay(d.day), ton: tonNumber(d.nanotons), nanotons: d.nanotons, jobs: d.jobs, tokens: d.tokens }));
  return (
    <figure className="chart" data-testid="chart-by-day">
      <figcaption className="chart-caption">By day</figcaption>
      <div className="chart-area">
        <BarChart responsive width="100%" height="100%" data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }} accessibilityLayer title="TON earned per day">
          <CartesianGrid vertical={false} stroke="var(--border)" />
          <XAxis dataKey="label" tickLine={false} axisLine={false} tick={{ fill: 'var(--muted)', fontSize: 12 }} interval="preserveStartEnd" minTickGap={12} />
          <YAxis hide />
          <Tooltip content={ChartTooltip} cursor={{ fill: 'var(--surface-2)' }} isAnimationActive={false} />
          <Bar dataKey="ton" name="TON" fill="var(--accent)" radius={[4, 4, 0, 0]} maxBarSize={44} isAnimationActive={false} />
        </BarChart>
      </div>
      <DataTable caption="TON earned per day" rows={rows} first="Day" />
    </figure>
  );
}

/** TON earned per model over the range, largest first. */
function ByModelChart({ earnings }: { earnings: EarningsView }) {
  const rows: Row[] = earnings.byModel.map((m) => ({ label: m.model, ton: tonNumber(m.nanotons), nanotons: m.nanotons, jobs: m.jobs, tokens: m.tokens }));
  const height = Math.max(1, rows.length) * 40 + 16;
  return (
    <figure className="chart" data-testid="chart-by-model">
      <figcaption className="chart-caption">By model</figcaption>
      <div className="chart-area" style={{ height }}>
        <BarChart responsive width="100%" height="100%" layout="vertical" data={rows} margin={{ top: 4, right: 120, bottom: 4, left: 0 }} accessibilityLayer title="TON earned per model">
          <XAxis type="number" hide />
          <YAxis type="category" dataKey="label" width={120} tickLine={false} axisLine={false} tick={{ fill: 'var(--text)', fontSize: 12.5 }} />
          <Tooltip content={ChartTooltip} cursor={{ fill: 'var(--surface-2)' }} isAnimationActive={false} />
          <Bar dataKey="ton" name="TON" fill="var(--accent)" radius={[0, 4, 4, 0]} maxBarSize={22} isAnimationActive={false}>
            <LabelList dataKey="nanotons" position="right" content={AmountLabel} />
          </Bar>
        </BarChart>
      </div>
      <DataTable caption="TON earned per model" rows={rows} first="Model" />
    </figure>
  );
}

/** Both charts of a range (the screen loads this module on demand). */
export function EarningsCharts({ earnings }: { earnings: EarningsView }) {
  return (
    <div className="charts">
      <ByDayChart earnings={earnings} />
      <ByModelChart earnings={earnings} />
    </div>
  );
}
