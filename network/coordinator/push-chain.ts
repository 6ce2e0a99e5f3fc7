/**
 * What settlement reads from the chain (any toncenter v2 endpoint through TonClient): a payout
 * account's paid counter, and the outcome of each settle a push sent, from the vault's own
 * transactions. Nothing here is assumed from the wallet's seqno.
 */
import type { Address, Transaction } from '@ton/core';
import type { TonClient } from '@ton/ton';
import { Vault, VaultOp } from '../contracts/vault.js';

/** A payout account as the chain shows it. */
export interface AccountReading {
  deployed: boolean;
  /** Its `paid` getter: nanotons paid to the worker so far (0 while not deployed). */
  paid: bigint;
}

/** Reads a payout account's paid counter by its get-method. */
export async function readPayoutAccount(client: TonClient, address: Address): Promise<AccountReading> {
  const state = await client.getContractState(address);
  if (state.state !== 'active') return { deployed: false, paid: 0n };
  const { stack } = await client.runMethod(address, 'paid');
  return { deployed: true, paid: stack.readBigNumber() };
}

/** What the vault has paid a worker in all, read from the worker's payout account (0 before the first payout). */
export async function paidToWorker(client: TonClient, vault: Address, worker: Address): Promise<bigint> {
  const account = await client.open(Vault.createFromAddress(vault)).getAccountAddress(worker);
  return (await readPayoutAccount(client, account)).paid;
}

/** The logical time of the vault's latest transaction (0 before its first). */
export async function lastLt(client: TonClient, address: Address): Promise<bigint> {
  const [latest] = await client.getTransactions(address, { limit: 1, archival: true });
  return latest?.lt ?? 0n;
}

/** How one settle ended, as the vault saw it come back. */
export type SettleOutcome = { kind: 'paid' } | { kind: 'refused'; code: number } | { kind: 'bounced' };

/** What a push did, read from the vault's transactions after it. */
export interface PushOutcomes {
  /** Push transactions found (one per push message sent). */
  pushes: number;
  /** Pushes the vault refused (their settles were never sent). */
  failedPushes: number;
  /** Payout accounts (raw address) the vault sent a settle to. */
  sent: Set<string>;
  /** Outcome per payout account (raw address). */
  outcomes: Map<string, SettleOutcome>;
  /** Every push and every settle accounted for (false: the deadline came first). */
  complete: boolean;
}

/**
 * Follows the vault's transactions after `sinceLt` until every push (by query id) and every
 * settle it sent has come back — as the account's `excesses` (paid), `refused` (with its code)
 * or a bounce — or until `deadlineMs` passes. On the local chain all of it is there at once.
 */
export async function awaitPushOutcomes(
  client: TonClient,
  vault: Address,
  sinceLt: bigint,
  queryIds: ReadonlySet<bigint>,
  options: { deadlineMs?: number; pollMs?: number } = {},
): Promise<PushOutcomes> {
  const deadline = Date.now() + (options.deadlineMs ?? 120_000);
  for (;;) {
    const result = interpret(await transactionsSince(client, vault, sinceLt), queryIds);
    if (result.complete || Date.now() > deadline) return result;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1000));
  }
}

function interpret(transactions: readonly Transaction[], queryIds: ReadonlySet<bigint>): PushOutcomes {
  const result: PushOutcomes = { pushes: 0, failedPushes: 0, sent: new Set(), outcomes: new Map(), complete: false };
  for (const tx of transactions) {
    const info = tx.inMessage?.info;
    if (info?.type !== 'internal') continue;
    const body = tx.inMessage?.body.beginParse();
    if (!body || body.remainingBits < 96) continue;
    if (info.bounced) {
      // A settle that bounced (an account that could not run it): 0xFFFFFFFF, then its first 256 bits.
      body.skip(32);
      if (body.loadUint(32) === VaultOp.settle && queryIds.has(body.loadUintBig(64))) result.outcomes.set(info.src.toRawString(), { kind: 'bounced' });
      continue;
    }
    const op = body.loadUint(32);
    const queryId = body.loadUintBig(64);
    if (!queryIds.has(queryId)) continue;
    if (op === VaultOp.pushBatch) {
      result.pushes += 1;
      const d = tx.description;
      if (d.type !== 'generic' || d.aborted) result.failedPushes += 1;
      for (const out of tx.outMessages.values()) {
        if (out.info.type === 'internal' && out.body.beginParse().preloadUint(32) === VaultOp.settle) result.sent.add(out.info.dest.toRawString());
      }
    } else if (op === VaultOp.excesses) {
      result.outcomes.set(info.src.toRawString(), { kind: 'paid' });
    } else if (op === VaultOp.refused) {
      result.outcomes.set(info.src.toRawString(), { kind: 'refused', code: body.loadUint(16) });
    }
  }
  result.complete = result.pushes >= queryIds.size && [...result.sent].every((account) => result.outcomes.has(account));
  return result;
}

// The vault's transactions newer than `sinceLt`, oldest first (paged back from the newest).
async function transactionsSince(client: TonClient, address: Address, sinceLt: bigint): Promise<Transaction[]> {
  const found = new Map<string, Transaction>();
  let from: Transaction | undefined;
  for (;;) {
    const page = await client.getTransactions(address, {
      limit: 100,
      archival: true,
      ...(sinceLt > 0n ? { to_lt: sinceLt.toString() } : {}),
      ...(from ? { lt: from.lt.toString(), hash: from.hash().toString('base64') } : {}),
    });
    let reached = false;
    for (const tx of page) {
      if (tx.lt <= sinceLt) reached = true;
      else found.set(tx.hash().toString('hex'), tx);
    }
    const last = page[page.length - 1];
    if (reached || page.length < 100 || !last || (from && last.lt >= from.lt)) break;
    from = last;
  }
  return [...found.values()].sort((a, b) => (a.lt < b.lt ? -1 : a.lt > b.lt ? 1 : 0));
}
