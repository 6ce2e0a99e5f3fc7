/**
 * Today's earnings by hour as a small bar chart: plain SVG (the Dashboard loads no chart
 * library), each bar titled with its hour and amount, and the same figures as a table for
 * screen readers.
 */
import { formatTon } from '../money.js';

/** One hour of today. */
export interface HourSlot {
  hour: number;
  nanotons: string;
  jobs: number;
}

function hourLabel(hour: number): string {
  return new Intl.DateTimeFormat(undefined, { hour: 'numeric' }).format(new Date(2000, 0, 1, hour));
}

/** Bars for hours 0–23 (the hours so far), scaled to the largest. */
export function HourBars({ slots, label }: { slots: HourSlot[]; label: string }) {
  const most = slots.reduce((max, slot) => (BigInt(slot.nanotons) > max ? BigInt(slot.nanotons) : max), 0n);
  const width = 24 * 10;
  return (
    <figure className="hour-bars" data-testid="today-chart">
      <svg viewBox={`0 0 ${width} 48`} role="img" aria-label={label} preserveAspectRatio="none">
        {slots.map((slot) => {
          const value = BigInt(slot.nanotons);
          const height = most === 0n || value === 0n ? 1 : Math.max(3, Number((value * 46n) / most));
          return (
            <rect key={slot.hour} x={slot.hour * 10 + 1} y={48 - height} width={8} height={height} rx={1.5} className={value === 0n ? 'hour-bar empty' : 'hour-bar'}>
              <title>{`${hourLabel(slot.hour)}: ${formatTon(slot.nanotons)} TON, ${slot.jobs} ${slot.jobs === 1 ? 'job' : 'jobs'}`}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption className="hour-axis" aria-hidden="true">
        <span>{hourLabel(0)}</span>
        <span>{hourLabel(12)}</span>
        <span>{hourLabel(23)}</span>
      </figcaption>
      <table className="sr-only">
        <caption>{label}</caption>
        <tbody>
          {slots
            .filter((slot) => slot.jobs > 0)
            .map((slot) => (
              <tr key={slot.hour}>
                <th scope="row">{hourLabel(slot.hour)}</th>
                <td>{formatTon(slot.nanotons)} TON</td>
                <td>{slot.jobs} jobs</td>
              </tr>
            ))}
        </tbody>
      </table>
    </figure>
  );
}
