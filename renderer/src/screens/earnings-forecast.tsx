/**
 * The rate and the month forecast, net of electricity, in TON and the owner's currency. The
 * forecast is the books' own (average of the last full days, up to 7); when the owner set no
 * electricity price, or the jobs carry no GPU time, it says so instead of showing a made-up net.
 */
import type { EarningsView, ForecastView } from '../../../main/ipc/contract.js';
import { Stat } from '../ui/card.js';
import { Money } from '../ui/money.js';
import { formatDuration, formatInteger } from '../format.js';
import { formatTon } from '../money.js';

const monthName = new Intl.DateTimeFormat(undefined, { month: 'long', timeZone: 'UTC' });

function ElectricityLine({ forecast }: { forecast: ForecastView }) {
  const power = forecast.electricity;
  if (!power) return <p className="stat-hint">Electricity is not counted: set your price per kWh in Settings to see the forecast after electricity.</p>;
  if (forecast.projectedBusyMs === 0) return <p className="stat-hint">Electricity shows as nothing: the jobs so far carry no GPU time to price at {formatInteger(power.watts)} W.</p>;
  return (
    <p className="stat-hint">
      After {formatTon(power.costNanotons)} TON of electricity: {formatDuration(forecast.projectedBusyMs)} busy at {formatInteger(power.watts)} W ({power.wattsSource === 'measured' ? 'measured' : 'your estimate'}).
    </p>
  );
}

function Forecast({ forecast }: { forecast: ForecastView }) {
  const month = monthName.format(new Date(`${forecast.month}-01T00:00:00Z`));
  if (forecast.basisDays === 0) {
    return <Stat small value={<Money nanotons={forecast.earnedSoFarNanotons} />} hint={`earned in ${month} so far · a forecast needs one full day of jobs`} />;
  }
  return (
    <div data-testid="forecast">
      <Stat small value={<>≈ <Money nanotons={forecast.projectedNetNanotons} /></>} hint={`${month} forecast${forecast.electricity ? ', after electricity' : ''} · from the last ${forecast.basisDays} ${forecast.basisDays === 1 ? 'day' : 'days'}`} />
      <ElectricityLine forecast={forecast} />
    </div>
  );
}

/** The rate card's body: what the last hour earned, and the month forecast. */
export function RateAndForecast({ earnings }: { earnings: EarningsView }) {
  const live = earnings.live;
  return (
    <>
      {live ? (
        <div data-testid="live-rate">
          <div className="stat-value">
            <Money nanotons={live.nanotonsPerHour} suffix=" / hour" />
          </div>
          <div className="stat-hint">
            earned in the last hour, {formatInteger(live.jobsLastHour)} {live.jobsLastHour === 1 ? 'job' : 'jobs'}
          </div>
        </div>
      ) : null}
      {earnings.forecast ? <Forecast forecast={earnings.forecast} /> : null}
    </>
  );
}
