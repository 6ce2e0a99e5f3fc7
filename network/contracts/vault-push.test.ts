import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address, beginCell, internal, toNano } from '@ton/core';
import { actionsOk, exitCodeOf, gasOf, internalOuts, setupVaultChain, storageFeeOf, txsOn, txTo } from './test-chain.js';
import {
  chunkPushEntries,
  DEFAULT_MIN_RESERVE,
  MAX_PUSH_BATCH,
  parsePushReceipt,
  PUSH_CHUNK,
  pushBatchBody,
  pushBatchValue,
  pushEntryFromVoucher,
  VaultExitCode,
  VaultOp,
  type PushEntry,
} from './vault.js';

// Distinct worker addresses that were never deployed: a payout lands on them as-is.
function workers(count: number, salt = 0): Address[] {
  return Array.from({ length: count }, (_, i) => {
    const hash = Buffer.alloc(32, salt);
    hash.writeUInt32BE(i + 1, 0);
    return new Address(0, hash);
  });
}

// Amounts with odd nanotons so any rounding would show.
const amountFor = (i: number) => toNano('0.1') + BigInt(i) * 1_000_003n + 7n;

test('push-batch of 200 workers, sent in one wallet message, pays each exactly its difference', async (t) => {
  const chain = await setupVaultChain(toNano('100'));
  const { vault, owner, balance } = chain;
  const addresses = workers(200);
  // Some workers were already paid part of their total by an earlier push.
  const early = await vault.sendPushBatch(owner.getSender(), addresses.slice(0, 50).map((worker, i) => ({ worker, cumulativeNanotons: 1_000n + BigInt(i), seq: 1 })));
  assert.equal(exitCodeOf(txTo(early.transactions, vault.address)), 0);
  const before = new Map(await Promise.all(addresses.map(async (a) => [a.toString(), await balance(a)] as const)));
  const vaultBefore = await balance(vault.address);

  // The coordinator splits the payouts into push-batches and sends them all in one external
  // message of its wallet (a V5R1 wallet carries up to 255; the treasury stands in for it).
  const entries: PushEntry[] = addresses.map((worker, i) => ({ worker, cumulativeNanotons: amountFor(i), seq: 2 }));
  const chunks = chunkPushEntries(entries);
  assert.deepEqual(chunks.map((c) => c.length), [PUSH_CHUNK, PUSH_CHUNK, 200 - 2 * PUSH_CHUNK]);
  const result = await owner.sendMessages(chunks.map((chunk, i) =>
    internal({ to: vault.address, value: pushBatchValue(chunk.length), bounce: true, body: pushBatchBody(chunk, BigInt(i)) })));
  const vaultTxs = txsOn(result.transactions, vault.address);
  assert.equal(vaultTxs.length, chunks.length);
  const payouts = vaultTxs.flatMap((tx, i) => {
    assert.equal(exitCodeOf(tx), 0);
    assert.ok(actionsOk(tx));
    const outs = internalOuts(tx);
    const receipt = parsePushReceipt(outs[outs.length - 1]?.body ?? beginCell().endCell());
    assert.deepEqual(receipt && [receipt.queryId, receipt.processed], [BigInt(i), chunks[i]?.length]);
    t.diagnostic(`push of ${chunks[i]?.length}: gas ${gasOf(tx)}, vault fees ${tx.totalFees.coins}, receipt refund ${outs[outs.length - 1]?.value}`);
    return outs.slice(0, -1);
  });
  assert.equal(payouts.length, 200);
  // The contract's paid map holds exactly the pushed totals (getter spot checks, full map below).
  for (const i of [0, 49, 50, 199]) assert.equal(await vault.getPaid(addresses[i] as Address), amountFor(i));
  const data = await chain.data();
  assert.equal(data.workers.size, 200);
  let total = 0n;
  for (const [i, worker] of addresses.entries()) {
    const due = amountFor(i) - (i < 50 ? 1_000n + BigInt(i) : 0n);
    const out = payouts[i];
    assert.ok(out);
    assert.ok(out.dest.equals(worker));
    assert.equal(out.value, due);
    const body = out.body.beginParse();
    assert.equal(body.loadUint(32), VaultOp.payout);
    assert.equal(body.loadUintBig(64), BigInt(Math.floor(i / PUSH_CHUNK)));
    assert.equal(body.loadCoins(), amountFor(i));
    assert.deepEqual(data.workers.get(worker.toRawString()), { paid: amountFor(i), lastSeq: 2n });
    // An undeployed account holds exactly what it was sent.
    assert.equal((await balance(worker)) - (before.get(worker.toString()) ?? 0n), due);
    total += due;
  }
  // Fees came out of the attached values: the vault is down by exactly what it paid.
  const storage = vaultTxs.reduce((sum, tx) => sum + storageFeeOf(tx), 0n);
  assert.equal(await balance(vault.address), vaultBefore - total - storage);
});

test('a batch past the gas budget is paid in part, the receipt says how far, a re-send finishes it', async (t) => {
  const chain = await setupVaultChain(toNano('100'));
  const { vault, owner } = chain;
  const entries = workers(MAX_PUSH_BATCH, 4).map((worker, i) => ({ worker, cumulativeNanotons: amountFor(i), seq: 1 }));
  let sent = 0;
  let rounds = 0;
  while (sent < entries.length) {
    const result = await vault.sendPushBatch(owner.getSender(), entries.slice(sent));
    const tx = txTo(result.transactions, vault.address);
    assert.equal(exitCodeOf(tx), 0);
    const outs = internalOuts(tx);
    const receipt = parsePushReceipt(outs[outs.length - 1]?.body ?? beginCell().endCell());
    assert.ok(receipt && receipt.processed > 0);
    assert.equal(outs.length - 1, receipt.processed);
    assert.equal(receipt.paidNanotons, outs.slice(0, -1).reduce((sum, o) => sum + o.value, 0n));
    t.diagnostic(`round ${rounds}: ${receipt.processed} of ${entries.length - sent} entries, gas ${gasOf(tx)}`);
    sent += receipt.processed;
    rounds += 1;
  }
  assert.ok(rounds > 1, 'a full 250-entry batch should not fit in one transaction');
  const data = await chain.data();
  for (const [i, entry] of entries.entries()) assert.equal(data.workers.get(entry.worker.toRawString())?.paid, amountFor(i));
  // Re-sending a part of the whole batch pays nobody.
  const again = await vault.sendPushBatch(owner.getSender(), entries.slice(0, 60));
  const outs = internalOuts(txTo(again.transactions, vault.address));
  assert.equal(outs.length, 1);
  assert.deepEqual(parsePushReceipt(outs[0]?.body ?? beginCell().endCell()), { queryId: 0n, processed: 60, paidNanotons: 0n });
});

test('push-batch: owner only, atomic when underfunded, bounded in size', async () => {
  const { blockchain, vault, owner, balance } = await setupVaultChain(toNano('1'));
  const [a, b] = workers(2);
  assert.ok(a && b);
  const stranger = await blockchain.treasury('stranger');
  const notOwner = await vault.sendPushBatch(stranger.getSender(), [{ worker: a, cumulativeNanotons: toNano('0.1'), seq: 1 }]);
  const notOwnerTx = txTo(notOwner.transactions, vault.address);
  assert.equal(exitCodeOf(notOwnerTx), VaultExitCode.notOwner);
  assert.equal(internalOuts(notOwnerTx).filter((o) => o.dest.equals(a)).length, 0);
  assert.equal(await vault.getPaid(a), 0n);

  // Together they exceed balance minus reserve: nobody is paid, not even the first entry.
  const spendable = (await balance(vault.address)) - DEFAULT_MIN_RESERVE;
  const tooMuch = await vault.sendPushBatch(owner.getSender(), [
    { worker: a, cumulativeNanotons: spendable / 2n, seq: 1 },
    { worker: b, cumulativeNanotons: spendable / 2n + 2n, seq: 1 },
  ]);
  const tooMuchTx = txTo(tooMuch.transactions, vault.address);
  assert.equal(exitCodeOf(tooMuchTx), VaultExitCode.insufficientFunds);
  assert.equal(await vault.getPaid(a), 0n);
  assert.equal(await balance(a), 0n);

  // A count above the limit is refused before any entry is read.
  const oversized = beginCell().storeUint(VaultOp.pushBatch, 32).storeUint(0, 64).storeUint(MAX_PUSH_BATCH + 1, 8)
    .storeRef(beginCell().endCell()).endCell();
  const big = await owner.send({ to: vault.address, value: toNano('0.5'), bounce: true, body: oversized });
  assert.equal(exitCodeOf(txTo(big.transactions, vault.address)), VaultExitCode.batchTooLarge);
  assert.throws(() => pushBatchBody(workers(MAX_PUSH_BATCH + 1).map((worker) => ({ worker, cumulativeNanotons: 1n, seq: 1 }))), RangeError);
});

test('push then claim: a voucher already pushed is refused, a newer one pays the rest', async () => {
  const { blockchain, vault, owner, issue } = await setupVaultChain(toNano('10'));
  const worker = await blockchain.treasury('worker');
  const pushed = await vault.sendPushBatch(owner.getSender(), [pushEntryFromVoucher(issue(worker.address, toNano('1'), 4))]);
  assert.equal(exitCodeOf(txTo(pushed.transactions, vault.address)), 0);
  const replay = await vault.sendClaim(worker.getSender(), issue(worker.address, toNano('1'), 4));
  assert.equal(exitCodeOf(txTo(replay.transactions, vault.address)), VaultExitCode.replayed);
  const newer = await vault.sendClaim(worker.getSender(), issue(worker.address, toNano('1.5'), 5));
  const tx = txTo(newer.transactions, vault.address);
  assert.equal(exitCodeOf(tx), 0);
  assert.equal(internalOuts(tx)[0]?.value, toNano('0.5'));
  // A stale entry in a later push (lower seq) is skipped, not paid.
  const stale = await vault.sendPushBatch(owner.getSender(), [{ worker: worker.address, cumulativeNanotons: toNano('3'), seq: 5 }]);
  const staleOuts = internalOuts(txTo(stale.transactions, vault.address));
  assert.deepEqual(staleOuts.map((o) => o.dest.equals(owner.address)), [true]); // only the receipt
  assert.equal(await vault.getPaid(worker.address), toNano('1.5'));
});

test('withdraw-surplus: owner only, exact amounts, never below the reserve', async () => {
  const { blockchain, vault, owner, balance } = await setupVaultChain(toNano('10'));
  const stranger = await blockchain.treasury('stranger');
  const refused = await vault.sendWithdrawSurplus(stranger.getSender(), { amount: toNano('1') });
  assert.equal(exitCodeOf(txTo(refused.transactions, vault.address)), VaultExitCode.notOwner);

  const before = await balance(vault.address);
  const some = await vault.sendWithdrawSurplus(owner.getSender(), { amount: toNano('3') });
  const someTx = txTo(some.transactions, vault.address);
  assert.equal(exitCodeOf(someTx), 0);
  assert.equal(await balance(vault.address), before - toNano('3') - storageFeeOf(someTx));
  const [out] = internalOuts(someTx);
  assert.ok(out?.dest.equals(owner.address) && out.value > toNano('3'));

  const tooMuch = await vault.sendWithdrawSurplus(owner.getSender(), { amount: toNano('7') });
  assert.equal(exitCodeOf(txTo(tooMuch.transactions, vault.address)), VaultExitCode.insufficientFunds);
  const all = await vault.sendWithdrawSurplus(owner.getSender());
  assert.equal(exitCodeOf(txTo(all.transactions, vault.address)), 0);
  assert.equal(await balance(vault.address), DEFAULT_MIN_RESERVE);
  assert.equal(await vault.getBalance(), DEFAULT_MIN_RESERVE);
});
