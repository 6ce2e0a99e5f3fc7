/**
 * The one way Silkworm talks to a TON chain: a TonClient on a toncenter v2 endpoint (public
 * toncenter, or the local chain `silkworm chain` serves with the same API).
 */
import { TonClient } from '@ton/ton';

/** Options of createTonClient. */
export interface TonClientOptions {
  apiKey?: string | undefined;
  /** Per-request timeout (the UI's balance look-ups keep it short). */
  timeoutMs?: number;
}

/** A client for the toncenter v2 API at `chainUrl` (its JSON-RPC route is `<chainUrl>/jsonRPC`). */
export function createTonClient(chainUrl: string, options: TonClientOptions = {}): TonClient {
  return new TonClient({
    endpoint: `${chainUrl.replace(/\/+$/, '')}/jsonRPC`,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
  });
}
