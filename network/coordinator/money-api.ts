/**
 * The money side of the client API: the published price list, a client's balance, and the
 * operator's deposit endpoint (until deposits are read from the chain).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { readJsonBody, sendError, sendJson } from './http-util.js';
import type { Billing } from './billing.js';
import { callStore, type CoordinatorStore } from './store.js';
import { describeIssues } from '../protocol/chat.js';
import { formatTon } from '../protocol/pricing.js';

/** `GET /v1/pricing`: prices in nanotons per 1M tokens, the commission, the vault, voucher key and chain. */
export function handlePricing(res: ServerResponse, billing: Billing, chainGlobalId: number): void {
  const price = (p: { promptPerMillion: bigint; completionPerMillion: bigint }) => ({ prompt_per_million_nanotons: p.promptPerMillion.toString(), completion_per_million_nanotons: p.completionPerMillion.toString() });
  sendJson(res, 200, {
    default: price(billing.prices.default),
    models: Object.fromEntries(Object.entries(billing.prices.models).map(([id, p]) => [id, price(p)])),
    commission_bps: billing.prices.commissionBps,
    vault: billing.vault ?? null,
    voucher_public_key: billing.voucherPublicKey ?? null,
    // The global id every voucher names (mainnet -239, testnet -3): a worker checks it.
    chain_global_id: billing.vault ? chainGlobalId : null,
  });
}

/** `GET /v1/balance`: the calling client's spendable balance, and since when its sealed usage receipts are paused (null while they count). */
export async function handleBalance(res: ServerResponse, store: CoordinatorStore, clientId: string | undefined): Promise<void> {
  if (!clientId) return sendJson(res, 200, { metered: false });
  const [balance, pausedAt] = await Promise.all([callStore(store, (s) => s.balance(clientId)), callStore(store, (s) => s.receiptsPausedAt(clientId))]);
  sendJson(res, 200, { metered: true, client: clientId, balance_nanotons: balance.toString(), balance_ton: formatTon(balance), receipts_paused_at: pausedAt === undefined ? null : new Date(pausedAt).toISOString() });
}

const depositSchema = z.strictObject({
  client: z.string().min(1).max(128),
  nanotons: z.string().regex(/^[1-9]\d{0,30}$/, 'a positive whole number of nanotons, as a string'),
  reference: z.string().min(1).max(200),
});

/** `POST /v1/admin/deposits`: credits a client once per reference (operator only). */
export async function handleDeposit(req: IncomingMessage, res: ServerResponse, store: CoordinatorStore): Promise<void> {
  const body = await readJsonBody(req);
  if (!body.ok) return sendError(res, body.status, body.message);
  const parsed = depositSchema.safeParse(body.value);
  if (!parsed.success) return sendError(res, 400, describeIssues(parsed.error.issues).message, 'invalid_request');
  const { client, nanotons, reference } = parsed.data;
  const applied = await callStore(store, (s) => s.deposit(client, BigInt(nanotons), reference));
  const balance = await callStore(store, (s) => s.balance(client));
  sendJson(res, applied ? 201 : 200, { applied, client, balance_nanotons: balance.toString() });
}
