/**
 * The live rate and the month forecast, net of electricity. The forecast is the ledger's own
 * (average of the last full days, up to 7); when the owner has set no electricity price, or the
 * jobs carry no GPU busy time, it says so instead of showing a made-up net.
 */
import type { EarningsView, ForecastView } from '../../../main/ipc/contract.js';
import { Stat } from '../ui/card.js';
import { formatDuration, formatInteger, formatTon } from '../format.js';

const monthName = new Intl.DateTimeFormat(undefined, { month: 'long', timeZone: 'UTC' });

function ElectricityLine({ forecast }: { forecast: ForecastView }) {
  const power = forecast.electricity;
  if (!power) return <p className="stat-hint">Electricity is not counted: no price per kWh is set for this worker, so this is the gross forecast.</p>;
  if (forecast.projectedBusyMs === 0) {
    return <p className="stat-hint">Electricity shows as 0: the jobs in the ledger carry no GPU busy time to price at {power.watts} W.</p>;
  }
  return (
    <p className="stat-hint">
      − {formatTon(power.costNanotons)} TON electricity: {formatDuration(forecast.projectedBusyMs)} busy at {formatInteger(power.watts)} W ({power.wattsSource}) × {formatTon(power.nanotonsPerKwh)} TON/kWh
    </p>
  );
}

function Forecast({ forecast }: { forecast: ForecastView }) {
  const month = monthName.format(new Date(`${forecast.month}-01T00:00:00Z`));
  if (forecast.basisDays === 0) {
    return <Stat small value={`${formatTon(forecast.earnedSoFarNanotons)} TON`} hint={`earned in ${month} so far · a forecast needs one full day of jobs`} />;
  }
  const net = forecast.electricity ? 'net of electricity' : 'gross';
  return (
    <div data-testid="forecast">
      <Stat
        small
        value={`≈ ${formatTon(forecast.projectedNetNanotons)} TON`}
        hint={`${month} forecast, ${net} · ${formatTon(forecast.earnedSoFarNanotons)} TON so far, ${formatTon(forecast.dailyAverageNanotons)} TON/day over the last ${forecast.basisDays} ${forecast.basisDays === 1 ? 'day' : 'days'}`}
      />
      <ElectricityLine forecast={forecast} />
    </div>
  );
}

/** The rate card's body: TON per hour over the last hour, and the month forecast. */
export function RateAndForecast({ summary }: { summary: EarningsView }) {
  const live = summary.live;
  return (
    <>
      {live ? (
        <div data-testid="live-rate">
          <div className="stat-value">{formatTon(live.nanotonsPerHour)} TON/h</div>
          <div className="stat-hint">
            live rate · earned in the last hour, {formatInteger(live.jobsLastHour)} {live.jobsLastHour === 1 ? 'job' : 'jobs'}
          </div>
        </div>
      ) : null}
      {summary.forecast ? <Forecast forecast={summary.forecast} /> : null}
    </>
  );
}
