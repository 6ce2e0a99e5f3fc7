/**
 * Checks a payout address typed by the owner: a user-friendly TON address whose checksum
 * matches and whose testnet flag matches the network this worker is paid on. Shown back
 * non-bounceable, as wallets expect for payouts (docs/design.md, Wallet).
 */
import { Address } from '@ton/core';
import { fail, ok, type Result } from '../ipc/result.js';
import type { TonNetwork } from '../ipc/views.js';

/** Validates and normalises an address; the value is the non-bounceable friendly form. */
export function validatePayoutAddress(text: string, network: TonNetwork): Result<string> {
  const input = text.trim();
  if (Address.isRaw(input)) {
    return fail('invalid-address', 'That is a raw address (0:…). Paste the user-friendly form your wallet shows (it starts with UQ, EQ, 0Q or kQ).');
  }
  let parsed: ReturnType<typeof Address.parseFriendly>;
  try {
    parsed = Address.parseFriendly(input);
  } catch {
    return fail('invalid-address', 'This is not a valid TON address: check for a typo (its checksum does not match).');
  }
  if (parsed.address.workChain !== 0) return fail('invalid-address', 'Payouts go to the basechain (workchain 0); this address is on another workchain.');
  if (network === 'mainnet' && parsed.isTestOnly) return fail('wrong-network', 'This is a testnet address, but this worker is paid on mainnet. Use your mainnet wallet address.');
  if (network === 'testnet' && !parsed.isTestOnly) {
    return fail('wrong-network', 'This is a mainnet address, but this worker is paid on testnet. Switch your wallet to testnet and copy its address (it starts with 0Q or kQ).');
  }
  return ok(parsed.address.toString({ urlSafe: true, bounceable: false, testOnly: network === 'testnet' }));
}
