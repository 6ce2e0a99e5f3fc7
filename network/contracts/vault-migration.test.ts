import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beginCell, toNano } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';
import { accountCode } from './compile.js';
import { AccountStatus, accountInitialData } from './payout-account.js';
import { exitCodeOf, forge, payoutsIn, refusalsTo, settleBody, setupVaultChain, txTo, type VaultChain } from './test-chain.js';
import { VaultExitCode, VaultOp } from './vault.js';

/** V1 with some history, closed, and its successor V2 (new voucher key) on the same chain. */
async function migrated() {
  const v1 = await setupVaultChain({ fund: toNano('20') });
  const { blockchain } = v1;
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((seed) => blockchain.treasury(seed)));
  assert.ok(a && b && c);
  // a: paid 1 TON, holds an unclaimed voucher for 1.5; b: never paid, holds a voucher for 0.7;
  // c: paid all of its 2 TON.
  await v1.vault.sendClaim(a.getSender(), v1.issue(a.address, toNano('1'), 1));
  await v1.vault.sendPushBatch(v1.owner.getSender(), [{ worker: c.address, cumulativeNanotons: toNano('2'), seq: 3 }]);
  const outstandingA = v1.issue(a.address, toNano('1.5'), 2);
  const outstandingB = v1.issue(b.address, toNano('0.7'), 1);
  // The owner closes V1: no new claims or pushes there.
  await v1.vault.sendClose(v1.owner.getSender());
  const v2 = await setupVaultChain({
    on: { blockchain, coordinator: keyPairFromSeed(Buffer.alloc(32, 2)) },
    fund: toNano('20'),
    predecessor: { vault: v1.vault.address, publicKey: v1.coordinator.publicKey, accountCode: await accountCode(), accountsNeedImport: false },
  });
  return { v1, v2, a, b, c, outstandingA, outstandingB };
}

async function totalPaid(v1: VaultChain, v2: VaultChain, worker: Parameters<VaultChain['paid']>[0]) {
  return { v1: await v1.paid(worker), v2: await v2.paid(worker) };
}

test('migration: an outstanding voucher of the old vault is paid exactly once by the new one', async () => {
  const { v1, v2, a, b, outstandingA, outstandingB } = await migrated();
  assert.ok((await v2.vault.getPredecessor())?.equals(v1.vault.address));
  assert.equal(await v2.vault.getClosed(), false);
  // The closed old vault refuses the outstanding voucher...
  const onOld = await v1.vault.sendClaim(a.getSender(), outstandingA, { deploy: false });
  assert.equal(exitCodeOf(txTo(onOld.transactions, v1.vault.address)), VaultExitCode.closed);
  // ...and the new one pays exactly what the old one had not: its account first reads the old
  // account's paid total (1 TON), then pays 1.5 − 1.
  const onNew = await v2.vault.sendClaim(a.getSender(), outstandingA);
  assert.deepEqual(payoutsIn(onNew.transactions).map((p) => [p.dest.toString(), p.body.dueNanotons, p.body.cumulativeNanotons]),
    [[a.address.toString(), toNano('0.5'), toNano('1.5')]]);
  assert.deepEqual(await totalPaid(v1, v2, a.address), { v1: toNano('1'), v2: toNano('1.5') });
  // Never twice: the same voucher again is refused, on either vault.
  const again = await v2.vault.sendClaim(a.getSender(), outstandingA, { deploy: false });
  assert.deepEqual(refusalsTo(again.transactions, a.address).map((r) => r.code), [VaultExitCode.replayed]);
  assert.equal(payoutsIn(again.transactions).length, 0);
  // A worker the old vault never paid: its old account does not exist, the import bounces, 0 was paid.
  const first = await v2.vault.sendClaim(b.getSender(), outstandingB);
  assert.deepEqual(payoutsIn(first.transactions).map((p) => p.body.dueNanotons), [toNano('0.7')]);
  assert.deepEqual(await totalPaid(v1, v2, b.address), { v1: 0n, v2: toNano('0.7') });
  // New vouchers (the new key, the new vault) continue the same cumulative totals.
  const next = await v2.vault.sendClaim(a.getSender(), v2.issue(a.address, toNano('2'), 3), { deploy: false, amountNanotons: toNano('0.5') });
  assert.deepEqual(payoutsIn(next.transactions).map((p) => p.body.dueNanotons), [toNano('0.5')]);
  // An old-key voucher naming the new vault is refused: the old key signs only for the old vault.
  const mixed = await v2.vault.sendClaim(a.getSender(), v2.issue(a.address, toNano('3'), 4, { key: v1.coordinator }), { deploy: false });
  assert.equal(exitCodeOf(txTo(mixed.transactions, v2.vault.address)), VaultExitCode.badSignature);
  assert.deepEqual(await totalPaid(v1, v2, a.address), { v1: toNano('1'), v2: toNano('2') });
});

test('migration: a push to a worker the old vault paid in full pays nothing, then continues', async () => {
  const { v1, v2, c } = await migrated();
  // The coordinator re-pushes c's last total on the new vault (it does not need to know V1 paid it).
  const repush = await v2.vault.sendPushBatch(v2.owner.getSender(), [{ worker: c.address, cumulativeNanotons: toNano('2'), seq: 3 }]);
  assert.equal(payoutsIn(repush.transactions).length, 0);
  assert.deepEqual(refusalsTo(repush.transactions, v2.vault.address).map((r) => r.code), [VaultExitCode.replayed]);
  assert.deepEqual(await totalPaid(v1, v2, c.address), { v1: toNano('2'), v2: toNano('2') });
  const more = await v2.vault.sendPushBatch(v2.owner.getSender(), [{ worker: c.address, cumulativeNanotons: toNano('2.25'), seq: 4, deploy: false, amountNanotons: toNano('0.25') }]);
  assert.deepEqual(payoutsIn(more.transactions).map((p) => p.body.dueNanotons), [toNano('0.25')]);
  // The old account was only read, never changed.
  assert.equal((await v1.account(c.address).getState()).paid, toNano('2'));
});

test('migration: an account still importing refuses (busy); only the old account may answer it', async () => {
  const { v1, v2, a } = await migrated();
  const { blockchain } = v1;
  const silent = await blockchain.treasury('silent'); // a wallet: takes the question, never answers
  const account = v2.vault.accountAddress(a.address);
  // The vault's first settle (forged here to point the import at the silent wallet) deploys the
  // account, which asks and waits.
  const accountInit = { code: await accountCode(), data: accountInitialData(v2.vault.address, a.address, true) };
  await forge(blockchain, v2.vault.address, account, toNano('1.1'), settleBody({ claim: true, cumulative: toNano('1.5'), seq: 2, funds: toNano('1'), importFrom: silent.address }), accountInit);
  assert.equal((await v2.account(a.address).getState()).status, AccountStatus.importing);
  const busy = await v2.vault.sendClaim(a.getSender(), v2.issue(a.address, toNano('1.5'), 2), { deploy: false });
  assert.deepEqual(refusalsTo(busy.transactions, a.address).map((r) => r.code), [VaultExitCode.busy]);
  // A report from anyone but the old account is refused.
  const stranger = await blockchain.treasury('stranger');
  const report = (ready: boolean, paid: bigint) => beginCell().storeUint(VaultOp.paidReport, 32).storeUint(0, 64).storeBit(ready).storeCoins(paid).storeUint(1, 64).endCell();
  const forged = await forge(blockchain, stranger.address, account, toNano('1'), report(true, 0n));
  assert.equal(exitCodeOf(txTo(forged.transactions, account)), VaultExitCode.notTrusted);
  // "Not ready" (the old account is itself importing): refused as busy, and it will ask again.
  const notReady = await forge(blockchain, silent.address, account, toNano('1.05'), report(false, 0n));
  assert.deepEqual(refusalsTo(notReady.transactions, a.address).map((r) => r.code), [VaultExitCode.busy]);
  assert.equal((await v2.account(a.address).getState()).status, AccountStatus.needsImport);
  assert.equal(await v2.paid(a.address), 0n);
});
