/** An amount as people read it: TON with sensible precision, and the owner's currency beside it when a rate is known. */
import { useApp } from '../store/app-store.js';
import { formatTonExact, money } from '../money.js';

/** The rate the owner's amounts are shown in (their price of 1 TON, else the coordinator's); null: TON only. */
export function useFiat() {
  return useApp((s) => s.settings.value?.fiat ?? null);
}

/** "0.0088 TON ≈ €0.03", the exact amount in its tooltip. `block` puts the currency on its own line. */
export function Money({ nanotons, block = false, suffix = '' }: { nanotons: string; block?: boolean; suffix?: string }) {
  const fiat = useFiat();
  const shown = money(nanotons, fiat);
  return (
    <span className="money" title={`${formatTonExact(nanotons)} TON exactly`}>
      <span className="money-ton">
        {shown.ton}
        {suffix}
      </span>
      {shown.fiat ? (
        <>
          {block ? <br /> : ' '}
          <span className="money-fiat">
            {shown.fiat}
            {suffix}
          </span>
        </>
      ) : null}
    </span>
  );
}
