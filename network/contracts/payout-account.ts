// TypeScript side of the per-worker payout account (payout-account.tolk): its address, derived
// from (vault, worker) like a jetton wallet's, and its getters. It opens with @ton/sandbox and
// @ton/ton's TonClient alike.
import type { Address} from '@ton/core';
import { beginCell, contractAddress, type Cell, type Contract, type ContractProvider } from '@ton/core';

/** Account status (the `status` getter). */
export const AccountStatus = { ready: 0, needsImport: 1, importing: 2 } as const;

/**
 * The account's initial data, as the vault builds it to derive the address: master, worker,
 * paid 0, lastSeq 0, status (needs import when the vault has a predecessor), no pending settle.
 */
export function accountInitialData(vault: Address, worker: Address, needsImport: boolean): Cell {
  return beginCell()
    .storeAddress(vault)
    .storeAddress(worker)
    .storeCoins(0)
    .storeUint(0, 64)
    .storeUint(needsImport ? AccountStatus.needsImport : AccountStatus.ready, 2)
    .storeBit(false)
    .endCell();
}

/** Where `worker`'s payout account of `vault` lives (whether or not it is deployed yet). */
export function accountAddressOf(code: Cell, vault: Address, worker: Address, needsImport = false): Address {
  return contractAddress(0, { code, data: accountInitialData(vault, worker, needsImport) });
}

/** A worker's payout account: the vault's per-worker paid counter. */
export class PayoutAccount implements Contract {
  constructor(readonly address: Address) {}

  /** The account at a known address. */
  static createFromAddress(address: Address): PayoutAccount {
    return new PayoutAccount(address);
  }

  /** Nanotons paid to the worker so far (cumulative): its paid total. */
  async getPaid(provider: ContractProvider): Promise<bigint> {
    return (await provider.get('paid', [])).stack.readBigNumber();
  }

  /** Everything the account knows: paid total, highest seq, status (AccountStatus), worker, vault. */
  async getState(provider: ContractProvider): Promise<{ paid: bigint; lastSeq: number; status: number; worker: Address; master: Address }> {
    const { stack } = await provider.get('state', []);
    return { paid: stack.readBigNumber(), lastSeq: stack.readNumber(), status: stack.readNumber(), worker: stack.readAddress(), master: stack.readAddress() };
  }

  /** Whether the account exists on chain (it is deployed by the worker's first settle). */
  async getDeployed(provider: ContractProvider): Promise<boolean> {
    return (await provider.getState()).state.type === 'active';
  }
}
