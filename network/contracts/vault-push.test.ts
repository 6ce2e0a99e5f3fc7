import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address, beginCell, internal, toNano } from '@ton/core';
import { exitCodeOf, gasOf, payoutsIn, refusalsTo, setupVaultChain, txsOn, txTo } from './test-chain.js';
import {
  ACCOUNT_FLOOR,
  chunkPushEntries,
  DEFAULT_MIN_RESERVE,
  MAX_PUSH_BATCH,
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

test('a push of 250 workers in one wallet message pays each exactly its due, less its account deposit', async (t) => {
  const chain = await setupVaultChain({ fund: toNano('100') });
  const { vault, owner, balance } = chain;
  const addresses = workers(250);
  // Some workers were already paid part of their total by an earlier push.
  const early = await vault.sendPushBatch(owner.getSender(), addresses.slice(0, 50).map((worker, i) => ({ worker, cumulativeNanotons: toNano('0.02') + BigInt(i), seq: 1 })));
  assert.equal(exitCodeOf(txTo(early.transactions, vault.address)), 0);
  const before = new Map(await Promise.all(addresses.map(async (a) => [a.toString(), await balance(a)] as const)));

  // The coordinator splits the payouts into pushes and sends them all in one external message
  // of its wallet (a V5R1 wallet carries up to 255; the treasury stands in for it). It knows
  // what each account was paid, sends exactly the due, and skips the code for known accounts.
  const entries: PushEntry[] = addresses.map((worker, i) => {
    const paid = i < 50 ? toNano('0.02') + BigInt(i) : 0n;
    return { worker, cumulativeNanotons: amountFor(i), seq: 2, amountNanotons: amountFor(i) - paid, deploy: i >= 50 };
  });
  const chunks = chunkPushEntries(entries);
  assert.deepEqual(chunks.map((c) => c.length), [PUSH_CHUNK, PUSH_CHUNK, 250 - 2 * PUSH_CHUNK]);
  const result = await owner.sendMessages(chunks.map((chunk, i) =>
    internal({ to: vault.address, value: pushBatchValue(chunk.length), bounce: true, body: pushBatchBody(chunk, BigInt(i)) })));
  const pushTxs = txsOn(result.transactions, vault.address).filter((tx) => tx.inMessage?.info.src?.toString() === owner.address.toString());
  assert.equal(pushTxs.length, chunks.length);
  for (const [i, tx] of pushTxs.entries()) {
    assert.equal(exitCodeOf(tx), 0);
    t.diagnostic(`push of ${chunks[i]?.length}: vault gas ${gasOf(tx)} (${Number(gasOf(tx)) / (chunks[i]?.length ?? 1)} per entry), fees ${tx.totalFees.coins}`);
  }
  const payouts = payoutsIn(result.transactions);
  assert.equal(payouts.length, 250);
  for (const [i, worker] of addresses.entries()) {
    const paidBefore = i < 50 ? toNano('0.02') + BigInt(i) : 0n;
    const due = amountFor(i) - paidBefore;
    // The first 50 accounts already hold their storage floor; the others keep it out of this payout.
    const deposit = i < 50 ? 0n : ACCOUNT_FLOOR;
    const payout = payouts.find((p) => p.dest.equals(worker));
    assert.ok(payout, `worker ${i} paid`);
    assert.deepEqual(payout.body, { queryId: BigInt(Math.floor(i / PUSH_CHUNK)), cumulativeNanotons: amountFor(i), seq: 2n, dueNanotons: due, depositNanotons: deposit });
    assert.equal(payout.value, due - deposit);
    // An undeployed account holds exactly what it was sent.
    assert.equal((await balance(worker)) - (before.get(worker.toString()) ?? 0n), due - deposit);
    assert.equal(await chain.paid(worker), amountFor(i));
  }
});

test('one account owed more than the vault holds is skipped; the others in the push are paid', async () => {
  const chain = await setupVaultChain({ fund: toNano('3') });
  const { vault, owner, balance } = chain;
  const [a, big, b] = workers(3, 1);
  assert.ok(a && big && b);
  const spendable = (await balance(vault.address)) - DEFAULT_MIN_RESERVE;
  const result = await vault.sendPushBatch(owner.getSender(), [
    { worker: a, cumulativeNanotons: toNano('1'), seq: 1 },
    { worker: big, cumulativeNanotons: spendable * 10n, seq: 1 },
    { worker: b, cumulativeNanotons: toNano('1.5'), seq: 1 },
  ]);
  assert.equal(exitCodeOf(txTo(result.transactions, vault.address)), 0);
  assert.deepEqual(payoutsIn(result.transactions).map((p) => [p.dest.toString(), p.body.dueNanotons]),
    [[a.toString(), toNano('1')], [b.toString(), toNano('1.5')]]);
  assert.equal(await chain.paid(a), toNano('1'));
  assert.equal(await chain.paid(big), 0n);
  assert.equal(await chain.paid(b), toNano('1.5'));
  // What is left cannot fund it either, but a part of it can be sent on purpose: paid in part.
  const part = await vault.sendPushBatch(owner.getSender(), [{ worker: big, cumulativeNanotons: spendable * 10n, seq: 1, amountNanotons: toNano('0.2') }]);
  assert.equal(payoutsIn(part.transactions)[0]?.body.cumulativeNanotons, toNano('0.2'));
  assert.equal(await chain.paid(big), toNano('0.2'));
});

test('re-sending a push pays nobody twice; an entry that sends too much gets the rest back', async () => {
  const chain = await setupVaultChain({ fund: toNano('20') });
  const { vault, owner, balance } = chain;
  const entries = workers(20, 2).map((worker, i) => ({ worker, cumulativeNanotons: amountFor(i), seq: 1 }));
  await vault.sendPushBatch(owner.getSender(), entries);
  const before = await balance(vault.address);
  const again = await vault.sendPushBatch(owner.getSender(), entries.map((e) => ({ ...e, deploy: false })));
  assert.equal(payoutsIn(again.transactions).length, 0);
  // Each account answered "replayed" to the vault and sent its funds back.
  assert.deepEqual(refusalsTo(again.transactions, vault.address).map((r) => r.code), entries.map(() => VaultExitCode.replayed));
  for (const [i, entry] of entries.entries()) assert.equal(await chain.paid(entry.worker), amountFor(i));
  // The vault lost only gas (the owner's value paid it): every nanoton of funds came back.
  assert.ok((await balance(vault.address)) >= before, 'the funds of a re-sent push come back');
  // A newer total sent with a stale, too-high amount pays the due and returns the rest.
  const [first] = entries;
  assert.ok(first);
  const newer = await vault.sendPushBatch(owner.getSender(), [{ ...first, cumulativeNanotons: first.cumulativeNanotons + 5n, seq: 2, amountNanotons: first.cumulativeNanotons + 5n, deploy: false }]);
  assert.deepEqual(payoutsIn(newer.transactions).map((p) => p.body.dueNanotons), [5n]);
  assert.equal(await chain.paid(first.worker), first.cumulativeNanotons + 5n);
});

test('push: owner only, bounded in size, paid for, closed vault refuses; masterchain entries skipped', async () => {
  const { blockchain, vault, owner, paid } = await setupVaultChain({ fund: toNano('5') });
  const [a] = workers(1, 3);
  assert.ok(a);
  const stranger = await blockchain.treasury('stranger');
  const notOwner = await vault.sendPushBatch(stranger.getSender(), [{ worker: a, cumulativeNanotons: toNano('0.1'), seq: 1 }]);
  assert.equal(exitCodeOf(txTo(notOwner.transactions, vault.address)), VaultExitCode.notOwner);
  const cheap = await vault.sendPushBatch(owner.getSender(), [{ worker: a, cumulativeNanotons: toNano('0.1'), seq: 1 }], { value: toNano('0.01') });
  assert.equal(exitCodeOf(txTo(cheap.transactions, vault.address)), VaultExitCode.lowValue);
  assert.equal(await paid(a), 0n);
  // A count above the limit is refused before any entry is read.
  const oversized = beginCell().storeUint(VaultOp.pushBatch, 32).storeUint(0, 64).storeUint(MAX_PUSH_BATCH + 1, 8)
    .storeRef(beginCell().endCell()).endCell();
  const big = await owner.send({ to: vault.address, value: toNano('10'), bounce: true, body: oversized });
  assert.equal(exitCodeOf(txTo(big.transactions, vault.address)), VaultExitCode.batchTooLarge);
  assert.throws(() => pushBatchBody(workers(MAX_PUSH_BATCH + 1).map((worker) => ({ worker, cumulativeNanotons: 1n, seq: 1 }))), RangeError);
  // A masterchain payout address is skipped (fees there are ~10x); the rest of the push goes on.
  const mixed = await vault.sendPushBatch(owner.getSender(), [
    { worker: new Address(-1, Buffer.alloc(32, 9)), cumulativeNanotons: toNano('0.1'), seq: 1 },
    { worker: a, cumulativeNanotons: toNano('0.1'), seq: 1 },
  ]);
  assert.deepEqual(payoutsIn(mixed.transactions).map((p) => p.dest.toString()), [a.toString()]);
  // Once closed, the vault takes no more pushes (nor claims).
  const closed = await vault.sendClose(owner.getSender());
  assert.equal(exitCodeOf(txTo(closed.transactions, vault.address)), 0);
  assert.equal(await vault.getClosed(), true);
  const late = await vault.sendPushBatch(owner.getSender(), [{ worker: a, cumulativeNanotons: toNano('0.2'), seq: 2 }]);
  assert.equal(exitCodeOf(txTo(late.transactions, vault.address)), VaultExitCode.closed);
  assert.equal(await paid(a), toNano('0.1'));
});

test('push then claim: a voucher already pushed is refused, a newer one pays the rest', async () => {
  const chain = await setupVaultChain({ fund: toNano('10') });
  const { blockchain, vault, owner, issue } = chain;
  const worker = await blockchain.treasury('worker');
  await vault.sendPushBatch(owner.getSender(), [pushEntryFromVoucher(issue(worker.address, toNano('1'), 4))]);
  const replay = await vault.sendClaim(worker.getSender(), issue(worker.address, toNano('1'), 4), { deploy: false });
  assert.deepEqual(refusalsTo(replay.transactions, worker.address), [{ code: VaultExitCode.replayed, paid: toNano('1') }]);
  const newer = await vault.sendClaim(worker.getSender(), issue(worker.address, toNano('1.5'), 5), { deploy: false, amountNanotons: toNano('0.5') });
  assert.equal(payoutsIn(newer.transactions)[0]?.body.dueNanotons, toNano('0.5'));
  // A stale entry in a later push (lower total) is refused by the account, not paid.
  const stale = await vault.sendPushBatch(owner.getSender(), [{ worker: worker.address, cumulativeNanotons: toNano('1.2'), seq: 5, deploy: false }]);
  assert.deepEqual(refusalsTo(stale.transactions, vault.address).map((r) => r.code), [VaultExitCode.replayed]);
  assert.equal(await chain.paid(worker.address), toNano('1.5'));
});

test('withdraw-surplus: owner only, exact amounts, never below the reserve', async () => {
  const { blockchain, vault, owner, balance } = await setupVaultChain({ fund: toNano('10') });
  const stranger = await blockchain.treasury('stranger');
  const refused = await vault.sendWithdrawSurplus(stranger.getSender(), { amount: toNano('1') });
  assert.equal(exitCodeOf(txTo(refused.transactions, vault.address)), VaultExitCode.notOwner);
  const before = await balance(vault.address);
  const some = await vault.sendWithdrawSurplus(owner.getSender(), { amount: toNano('3') });
  assert.equal(exitCodeOf(txTo(some.transactions, vault.address)), 0);
  assert.equal(await balance(vault.address), before - toNano('3'));
  const tooMuch = await vault.sendWithdrawSurplus(owner.getSender(), { amount: toNano('7') });
  assert.equal(exitCodeOf(txTo(tooMuch.transactions, vault.address)), VaultExitCode.insufficientFunds);
  const all = await vault.sendWithdrawSurplus(owner.getSender());
  assert.equal(exitCodeOf(txTo(all.transactions, vault.address)), 0);
  assert.equal(await balance(vault.address), DEFAULT_MIN_RESERVE);
});
