/**
 * Who pays the worker: its payout account of the vault, which the vault's getter names. Payouts
 * are judged by their sender, so none is judged before the sender to expect is known: a chain
 * that does not answer (a 429 from toncenter is enough) is not a vault without payout accounts.
 */
import { Address } from '@ton/core';
import type { TonClient } from '@ton/ton';
// Layer note: the vault's wrapper is the contract's public interface (as for Cash out).
import { Vault } from '../../network/contracts/vault.js';
import type { Ledger } from '../ledger/ledger.js';

/**
 * Our payout account of `vault`; null for a vault that has no such getter (the old design pays
 * from the vault itself). Throws when the chain gave no answer.
 */
export async function lookUpPayoutAccount(client: TonClient, vault: string, payoutAddress: string): Promise<string | null> {
  try {
    return (await client.open(Vault.createFromAddress(Address.parse(vault))).getAccountAddress(Address.parse(payoutAddress))).toString();
  } catch (error) {
    if (getMethodFailed(error)) return null;
    throw error;
  }
}

/**
 * Whether a get method's failure is the contract's answer: TonClient reports a get method the
 * contract could not run by its exit code; anything else (an HTTP error, a timeout) says nothing
 * about the contract.
 */
export function getMethodFailed(error: unknown): boolean {
  return error instanceof Error && /exit_code/.test(error.message);
}

/**
 * A chain watcher's `beforePoll` that makes sure `ledger` knows its payout account before any
 * payout is judged: until the chain answers, each poll fails and is tried again after the
 * watcher's back-off, and the cursor stays where it was.
 */
export function knowPayoutAccount(client: TonClient, ledger: Ledger): () => Promise<void> {
  let known = ledger.identity.payoutAccount !== undefined;
  return async () => {
    if (known) return;
    const account = await lookUpPayoutAccount(client, ledger.identity.vault, ledger.identity.payoutAddress);
    if (account !== null) ledger.setPayoutAccount(account);
    known = true;
  };
}
