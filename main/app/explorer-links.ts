/**
 * Block-explorer links for payout transactions. Mainnet and testnet have public explorers
 * (tonviewer, tonscan; both on the desktop app's allow-list of external hosts); a local chain
 * (`silkworm chain`, the demo) has none, so its payouts get no link rather than a broken one.
 */
import type { TonNetwork } from '../ipc/views.js';

/** Where payouts settle: a public network, or a local chain with no explorer. */
export type ChainKind = TonNetwork | 'local';

/** A public TON block explorer. */
export type Explorer = 'tonviewer' | 'tonscan';

const BASES: Record<Explorer, Record<TonNetwork, string>> = {
  tonviewer: { mainnet: 'https://tonviewer.com/transaction/', testnet: 'https://testnet.tonviewer.com/transaction/' },
  tonscan: { mainnet: 'https://tonscan.org/tx/', testnet: 'https://testnet.tonscan.org/tx/' },
};

/** Builds the link of a transaction (hex hash, as the ledger stores it); undefined on a local chain. */
export function explorerLinks(chain: ChainKind, explorer: Explorer = 'tonviewer'): (txHash: string) => string | undefined {
  if (chain === 'local') return () => undefined;
  const base = BASES[explorer][chain];
  return (txHash) => (/^[0-9a-fA-F]{64}$/.test(txHash) ? `${base}${txHash.toLowerCase()}` : undefined);
}

/** The public toncenter hosts; any other chain URL is taken for a local chain. */
const TONCENTER: Record<string, TonNetwork> = { 'toncenter.com': 'mainnet', 'testnet.toncenter.com': 'testnet' };

/**
 * Which chain a worker follows, from its `--chain` URL: toncenter's hosts are the public
 * networks; anything else (127.0.0.1, a LAN host) is a local chain; no URL means the network
 * the app is set to (payouts are then not followed, but links still make sense).
 */
export function chainKindOf(chainUrl: string | undefined, network: TonNetwork): ChainKind {
  if (!chainUrl) return network;
  try {
    return TONCENTER[new URL(chainUrl).hostname] ?? 'local';
  } catch {
    return 'local';
  }
}
