/**
 * The local chain's own record of every transaction, in execution order, with a per-account
 * index. We keep it ourselves rather than asking the sandbox: sandbox 0.41's
 * `getTransactions()` reverses its array in place on every call and compares hashes with `===`.
 */
import { Address, Cell, loadTransaction, type Transaction } from '@ton/core';
import { ChainError } from './chain-error.js';

/** One transaction as the local chain records it. */
export interface ChainTransaction {
  /** Position in the chain's execution order, from 0. */
  index: number;
  /** The account the transaction ran on. */
  account: Address;
  transaction: Transaction;
  /** The transaction cell as base64 BOC. */
  boc: string;
  lt: bigint;
  hash: Buffer;
}

/** Which of an account's transactions to list: newest first, starting at (lt, hash) inclusive, stopping above toLt. */
export interface TransactionQuery {
  limit: number;
  lt?: bigint;
  hash?: Buffer;
  /** Only transactions with lt strictly greater than this (toncenter's `to_lt`); 0 = no bound. */
  toLt?: bigint;
}

/** Every transaction in order, plus each account's transactions in ascending lt. */
export class TransactionIndex {
  private readonly ordered: ChainTransaction[] = [];
  private readonly byAccount = new Map<string, ChainTransaction[]>();

  /** Records a transaction; returns the record. */
  add(account: Address, transaction: Transaction): ChainTransaction {
    const record: ChainTransaction = {
      index: this.ordered.length,
      account,
      transaction,
      boc: transaction.raw.toBoc().toString('base64'),
      lt: transaction.lt,
      hash: transaction.hash(),
    };
    this.ordered.push(record);
    const key = account.toRawString();
    const list = this.byAccount.get(key);
    if (list) list.push(record);
    else this.byAccount.set(key, [record]);
    return record;
  }

  /** How many transactions the chain has run. */
  get size(): number {
    return this.ordered.length;
  }

  /** Every transaction in execution order (read-only view). */
  all(): readonly ChainTransaction[] {
    return this.ordered;
  }

  /** An account's transactions, newest first, toncenter `getTransactions` style. */
  query(account: Address, query: TransactionQuery): ChainTransaction[] {
    const list = this.byAccount.get(account.toRawString()) ?? [];
    let start = list.length - 1;
    if (query.lt !== undefined) {
      start = lastAtOrBefore(list, query.lt);
      if (query.hash !== undefined) {
        const found = list[start];
        if (!found || found.lt !== query.lt || !found.hash.equals(query.hash)) {
          throw new ChainError(404, `No transaction with lt ${query.lt} and that hash on ${account.toString()}.`);
        }
      }
    }
    const toLt = query.toLt ?? 0n;
    const result: ChainTransaction[] = [];
    for (let i = start; i >= 0 && result.length < query.limit; i--) {
      const record = list[i];
      if (!record || (toLt > 0n && record.lt <= toLt)) break;
      result.push(record);
    }
    return result;
  }

  /** The transaction on `destination` caused by the internal message `source` created at `createdLt`. */
  locateResult(source: Address, destination: Address, createdLt: bigint): ChainTransaction | undefined {
    const list = this.byAccount.get(destination.toRawString()) ?? [];
    return list.find(({ transaction }) => {
      const info = transaction.inMessage?.info;
      return info?.type === 'internal' && info.src.equals(source) && info.createdLt === createdLt;
    });
  }

  /** The transaction on `source` that sent `destination` the internal message created at `createdLt`. */
  locateSource(source: Address, destination: Address, createdLt: bigint): ChainTransaction | undefined {
    const list = this.byAccount.get(source.toRawString()) ?? [];
    return list.find(({ transaction }) =>
      transaction.outMessages.values().some(({ info }) => info.type === 'internal' && info.dest.equals(destination) && info.createdLt === createdLt),
    );
  }
}

/** The account a transaction ran on: its hash part is in the transaction, the workchain in the inbound message. */
export function accountOf(transaction: Transaction): Address {
  const dest = transaction.inMessage?.info.dest;
  const workchain = Address.isAddress(dest) ? dest.workChain : 0;
  return new Address(workchain, Buffer.from(transaction.address.toString(16).padStart(64, '0'), 'hex'));
}

/** Parses a transaction BOC written by `TransactionIndex.add`. */
export function transactionFromBoc(boc: string): Transaction {
  return loadTransaction(Cell.fromBase64(boc).beginParse());
}

/** Index of the last record with lt <= `lt`, or -1. */
function lastAtOrBefore(list: readonly ChainTransaction[], lt: bigint): number {
  let low = 0;
  let high = list.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if ((list[mid]?.lt ?? 0n) <= lt) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}
