/**
 * Test helpers for the ledger, chain and earnings specs: a coordinator key, addresses, voucher
 * signing and a silent logger. Used only by *.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { Address } from '@ton/core';
import { keyPairFromSeed, type KeyPair } from '@ton/crypto';
import { CHAIN_GLOBAL_ID, signVoucher, voucherToJson, type VoucherJson } from '../../../network/protocol/voucher.js';
import { createLogger, type Logger } from '../../../network/node-kit/log.js';
import { utcDay } from '../days.js';
import { Ledger, type JobCredit, type LedgerIdentity } from '../ledger.js';

/** A logger that writes nothing. */
export const silentLogger: Logger = createLogger('test', { level: 'silent' });

/** A fresh random account address. */
export function randomAddress(): Address {
  return new Address(0, randomBytes(32));
}

/** A coordinator key and the identity a worker ledger would be configured with. */
export interface LedgerWorld {
  coordinator: KeyPair;
  vault: Address;
  worker: Address;
  identity: LedgerIdentity;
  /** Signs a voucher (JSON form) for this vault and worker unless overridden. */
  issue(cumulativeNanotons: bigint, seq: number, overrides?: { vault?: Address; worker?: Address; key?: KeyPair; globalId?: number }): VoucherJson;
}

/** Builds a world around a (given or random) vault and worker address. */
export function ledgerWorld(options: { vault?: Address; worker?: Address; coordinator?: KeyPair } = {}): LedgerWorld {
  const coordinator = options.coordinator ?? keyPairFromSeed(randomBytes(32));
  const vault = options.vault ?? randomAddress();
  const worker = options.worker ?? randomAddress();
  return {
    coordinator,
    vault,
    worker,
    identity: { coordinatorPublicKey: coordinator.publicKey.toString('hex'), vault: vault.toString(), payoutAddress: worker.toString() },
    issue: (cumulativeNanotons, seq, overrides = {}) =>
      voucherToJson(signVoucher(
        { globalId: overrides.globalId ?? CHAIN_GLOBAL_ID.testnet, vault: overrides.vault ?? vault, worker: overrides.worker ?? worker, cumulativeNanotons, seq },
        (overrides.key ?? coordinator).secretKey,
      )),
  };
}

/** Opens a ledger with a pinned clock and UTC days (deterministic in any time zone). */
export function openTestLedger(world: LedgerWorld, path = ':memory:', now: () => number = () => Date.UTC(2026, 2, 14, 12)): Ledger {
  return Ledger.open({ path, identity: world.identity, logger: silentLogger, dayOf: utcDay, now });
}

/** A job credit with sensible defaults. */
export function job(jobId: string, earnedNanotons: bigint, overrides: Partial<JobCredit> = {}): JobCredit {
  return { jobId, model: 'llama-test', finishedAt: Date.UTC(2026, 2, 14, 11), promptTokens: 10, completionTokens: 20, earnedNanotons, ...overrides };
}
