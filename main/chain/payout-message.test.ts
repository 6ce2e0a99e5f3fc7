// Reading payout messages out of real transactions (made on an in-process @ton/sandbox chain),
// and the watcher's polling loop against a scripted transaction source.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { beginCell, toNano, type Address, type Cell, type Transaction } from '@ton/core';
import { Blockchain, type SandboxContract, type TreasuryContract } from '@ton/sandbox';
import { VaultOp } from '../../network/contracts/vault.js';
import { job, ledgerWorld, openTestLedger, silentLogger } from '../ledger/testing/ledger-fixtures.js';
import { ChainWatcher, type TransactionSource } from './chain-watcher.js';
import { parsePayoutTransaction } from './payout-message.js';

let vault: SandboxContract<TreasuryContract>;
let worker: SandboxContract<TreasuryContract>;

// Sends `body` from the pretend vault to the worker; returns the worker's transaction.
async function deliver(body: Cell, value = toNano('1')): Promise<Transaction> {
  const result = await vault.send({ to: worker.address, value, bounce: false, body });
  const tx = result.transactions.find((t) => t.inMessage?.info.dest?.toString() === worker.address.toString());
  assert.ok(tx, 'the worker received it');
  return tx;
}

function payoutBody(cumulative: bigint, seq: number, queryId = 9n): Cell {
  return beginCell().storeUint(VaultOp.payout, 32).storeUint(queryId, 64).storeCoins(cumulative).storeUint(seq, 64).endCell();
}

before(async () => {
  const chain = await Blockchain.create();
  vault = await chain.treasury('vault');
  worker = await chain.treasury('worker');
});

describe('parsePayoutTransaction', () => {
  test('reads op, query id, total, seq, value and sender of a payout', async () => {
    const tx = await deliver(payoutBody(12_345_678_901n, 3), 777n);
    const parsed = parsePayoutTransaction(tx);
    assert.equal(parsed.kind, 'payout');
    assert.ok(parsed.kind === 'payout');
    assert.equal(parsed.payout.amountNanotons, 777n);
    assert.equal(parsed.payout.cumulativeNanotons, 12_345_678_901n);
    assert.equal(parsed.payout.seq, 3n);
    assert.equal(parsed.payout.queryId, 9n);
    assert.equal(parsed.payout.txHash, tx.hash().toString('hex'));
    assert.equal(parsed.payout.sender, vault.address.toString());
  });

  test('reads what a payout account adds: due and the deposit it kept; an old vault payout counts its value', async () => {
    const body = beginCell().storeUint(VaultOp.payout, 32).storeUint(4, 64).storeCoins(3_000_000_000n).storeUint(7, 64)
      .storeCoins(1_000_000_000n).storeCoins(10_000_000n).endCell();
    const parsed = parsePayoutTransaction(await deliver(body, 990_000_000n));
    assert.ok(parsed.kind === 'payout');
    assert.deepEqual([parsed.payout.amountNanotons, parsed.payout.cumulativeNanotons, parsed.payout.seq, parsed.payout.dueNanotons, parsed.payout.depositNanotons],
      [990_000_000n, 3_000_000_000n, 7n, 1_000_000_000n, 10_000_000n]);
    const legacy = parsePayoutTransaction(await deliver(payoutBody(5n, 1), 5n));
    assert.ok(legacy.kind === 'payout');
    assert.deepEqual([legacy.payout.dueNanotons, legacy.payout.depositNanotons], [5n, 0n]);
  });

  test('other messages are not payouts; a truncated payout body is malformed', async () => {
    assert.equal(parsePayoutTransaction(await deliver(beginCell().storeUint(VaultOp.excesses, 32).storeUint(0, 64).endCell())).kind, 'other');
    assert.equal(parsePayoutTransaction(await deliver(beginCell().endCell())).kind, 'other');
    assert.equal(parsePayoutTransaction(await deliver(beginCell().storeUint(VaultOp.payout, 32).storeUint(1, 16).endCell())).kind, 'malformed');
  });
});

describe('ChainWatcher polling', () => {
  test('start() polls, retries after a failing endpoint, flags malformed payouts, and stop() ends it', async () => {
    const world = ledgerWorld({ vault: vault.address as Address, worker: worker.address as Address });
    const ledger = openTestLedger(world);
    ledger.recordJob(job('a', 5n));
    ledger.recordVoucher(world.issue(5n, 1));
    const good = await deliver(payoutBody(5n, 1), 5n);
    const truncated = await deliver(beginCell().storeUint(VaultOp.payout, 32).storeUint(1, 16).endCell());
    let calls = 0;
    const source: TransactionSource = {
      getTransactions: async () => {
        calls += 1;
        if (calls === 1) throw new Error('toncenter is down');
        return [truncated, good]; // newest first, as toncenter answers
      },
    };
    const watcher = new ChainWatcher({ client: source, ledger, logger: silentLogger, intervalMs: 5 });
    watcher.start();
    const [polled] = await once(watcher, 'polled');
    await watcher.stop();
    assert.ok(calls >= 2, 'a failed poll, then a successful one');
    assert.equal(polled.handled, 2);
    assert.equal(ledger.balances().paidNanotons, 5n);
    assert.deepEqual(ledger.anomalies().map((a) => [a.kind, a.code]), [['payout', 'malformed']]);
    assert.equal(ledger.getCursor(worker.address.toString())?.lt, truncated.lt);
    ledger.close();
  });
});
