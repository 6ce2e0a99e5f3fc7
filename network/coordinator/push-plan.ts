/**
 * Plans a push payout before anything is sent: which accounts go out, how much of the vault's
 * money each settle carries (what its payout account on chain says is still due), how much the
 * coordinator wallet must add to the vault first, and which accounts wait. Pure: the chain reads
 * happen in settlement.ts. Amounts are bigint nanotons.
 */
import { Address, toNano } from '@ton/core';
import { PUSH_CHUNK, pushBatchValue, type PushEntry } from '../contracts/vault.js';

/** An account the store says is owed, with what its payout account on chain says was paid. */
export interface DueAccount {
  /** Earnings account: the payout address, raw ("0:…"). */
  account: string;
  cumulative: bigint;
  seq: number;
  /** The payout account's `paid` (0 while it does not exist). */
  paidOnChain: bigint;
  /** Whether the payout account exists (then the settle need not carry its code). */
  deployed: boolean;
}

/** What the vault and the wallet can put in. */
export interface Funding {
  /** The vault's balance minus its reserve. */
  vaultSpendable: bigint;
  /** The wallet's balance minus what it keeps for its own fees. */
  walletAvailable: bigint;
}

/** Why an account is not in this push. */
export type HoldReason = 'paid' | 'underfunded';

/** The push to send. */
export interface PushPlan {
  entries: Array<PushEntry & { account: string; amountNanotons: bigint }>;
  held: Array<{ account: string; amountNanotons: bigint; reason: HoldReason }>;
  /** Sent from the wallet to the vault before the pushes (0: the vault has enough). */
  topUp: bigint;
  /** Gas money attached to the pushes (what is unused comes back to the vault). */
  gas: bigint;
}

/**
 * Kept out of the vault's spendable balance as read: between the read and the push the vault pays
 * the top-up's gas and its storage rent, and a push whose funds exceed what is left skips entries.
 */
export const VAULT_MARGIN = toNano('0.05');

/** Gas money for `count` entries split in pushes of PUSH_CHUNK. */
export function gasFor(count: number): bigint {
  let total = 0n;
  for (let left = count; left > 0; left -= PUSH_CHUNK) total += pushBatchValue(Math.min(left, PUSH_CHUNK));
  return total;
}

/**
 * Takes accounts smallest amount first while the vault plus what the wallet can add covers
 * their funds and the pushes' gas: one account owed more than everything never blocks the others
 * (it waits, and the rest are paid). Accounts the chain shows paid up to their total are dropped.
 */
export function planPush(due: readonly DueAccount[], funding: Funding): PushPlan {
  const vaultSpendable = funding.vaultSpendable > VAULT_MARGIN ? funding.vaultSpendable - VAULT_MARGIN : 0n;
  const held: PushPlan['held'] = [];
  const owed = due
    .map((d) => ({ ...d, amount: d.cumulative - d.paidOnChain }))
    .filter((d) => {
      if (d.amount > 0n) return true;
      held.push({ account: d.account, amountNanotons: 0n, reason: 'paid' });
      return false;
    })
    .sort((a, b) => (a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0));
  const chosen: typeof owed = [];
  let funds = 0n;
  for (const d of owed) {
    const needFromWallet = (funds + d.amount > vaultSpendable ? funds + d.amount - vaultSpendable : 0n) + gasFor(chosen.length + 1);
    if (needFromWallet <= funding.walletAvailable) {
      chosen.push(d);
      funds += d.amount;
    } else {
      held.push({ account: d.account, amountNanotons: d.amount, reason: 'underfunded' });
    }
  }
  return {
    entries: chosen.map((d) => ({
      account: d.account,
      worker: Address.parse(d.account),
      cumulativeNanotons: d.cumulative,
      seq: d.seq,
      amountNanotons: d.amount,
      deploy: !d.deployed,
    })),
    held,
    topUp: funds > vaultSpendable ? funds - vaultSpendable : 0n,
    gas: gasFor(chosen.length),
  };
}
