/**
 * What the vault on chain holds: the voucher key and chain global id every claim is checked
 * against. A coordinator's welcome names them too, but only the vault's pay: a voucher signed
 * with another key, or for another chain, is refused by every claim, so the books must not count
 * it as claimable. A chain that does not answer (a 429 from toncenter is enough) says nothing
 * about the key: until it answers, vouchers are kept as the welcome's key allows.
 */
import { Address } from '@ton/core';
import type { TonClient } from '@ton/ton';
// Layer note: the vault's wrapper is the contract's public interface (as for Cash out).
import { Vault } from '../../network/contracts/vault.js';
import type { Logger } from '../../network/node-kit/log.js';
import type { Ledger, VaultTerms } from '../ledger/ledger.js';
import { getMethodFailed } from './payout-account.js';

/**
 * The voucher key and chain global id `vault` holds; null when it cannot run those getters (not
 * deployed, or not a vault): nothing to compare with. Throws when the chain gave no answer.
 */
export async function lookUpVaultTerms(client: TonClient, vault: string): Promise<VaultTerms | null> {
  const contract = client.open(Vault.createFromAddress(Address.parse(vault)));
  try {
    return { publicKey: (await contract.getPublicKey()).toString('hex'), globalId: await contract.getGlobalId() };
  } catch (error) {
    if (getMethodFailed(error)) return null;
    throw error;
  }
}

/**
 * A chain watcher's `beforePoll` that asks the vault for its terms until the chain answers, then
 * gives them to `ledger` (which flags the vouchers the vault would refuse). A failed look-up is
 * asked again before the next poll and holds back no payout.
 */
export function knowVaultTerms(client: TonClient, ledger: Ledger, logger: Logger): () => Promise<void> {
  let known = ledger.identity.vaultTerms !== undefined;
  return async () => {
    if (known) return;
    try {
      const terms = await lookUpVaultTerms(client, ledger.identity.vault);
      if (terms) ledger.setVaultTerms(terms);
      else logger.warn('the vault on chain does not say its voucher key (not deployed?): vouchers are not checked against it');
      known = true;
    } catch (error) {
      logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'could not read the vault\'s voucher key; asking again before the next poll');
    }
  };
}
