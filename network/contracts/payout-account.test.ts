import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address, beginCell, toNano } from '@ton/core';
import { exitCodeOf, forge, payoutsIn, refusalsTo, settleBody, setupVaultChain, storageFeeOf, txTo } from './test-chain.js';
import { ACCOUNT_FLOOR, VaultExitCode } from './vault.js';

const worker = new Address(0, Buffer.alloc(32, 0x42));

test('only the vault may settle: a forged settle is refused and changes nothing', async () => {
  const chain = await setupVaultChain({ fund: toNano('10') });
  const { blockchain, vault, owner } = chain;
  await vault.sendPushBatch(owner.getSender(), [{ worker, cumulativeNanotons: toNano('1'), seq: 1 }]);
  const stranger = await blockchain.treasury('stranger');
  const account = vault.accountAddress(worker);
  const forged = await forge(blockchain, stranger.address, account, toNano('5'), settleBody({ claim: false, cumulative: toNano('4'), seq: 2, funds: toNano('3') }));
  assert.equal(exitCodeOf(txTo(forged.transactions, account)), VaultExitCode.notTrusted);
  assert.equal(payoutsIn(forged.transactions).length, 0);
  assert.equal(await chain.paid(worker), toNano('1'));
});

test('a settle whose value cannot pay for its messages is rolled back whole and bounced to the vault', async () => {
  const chain = await setupVaultChain({ fund: toNano('10') });
  const { blockchain, vault, owner, balance } = chain;
  await vault.sendPushBatch(owner.getSender(), [{ worker, cumulativeNanotons: toNano('1'), seq: 1 }]);
  const account = vault.accountAddress(worker);
  assert.equal(await balance(account), ACCOUNT_FLOOR);
  // Funds for the payout, gas for the compute phase, but not the payout's forwarding fee.
  const result = await forge(blockchain, vault.address, account, toNano('1') + toNano('0.0031'),
    settleBody({ claim: false, cumulative: toNano('2'), seq: 2, funds: toNano('1') }));
  const tx = txTo(result.transactions, account);
  assert.equal(exitCodeOf(tx), 0);
  const d = tx.description;
  assert.ok(d.type === 'generic' && d.actionPhase?.success === false, 'the action phase failed');
  assert.equal(d.type === 'generic' && d.aborted, true);
  assert.equal(payoutsIn(result.transactions).length, 0);
  // The counter did not move, and the funds went back to the vault in the bounce.
  assert.equal(await chain.paid(worker), toNano('1'));
  const bounce = result.transactions.find((t) => t.inMessage?.info.type === 'internal' && t.inMessage.info.bounced && t.inMessage.info.dest.equals(vault.address));
  assert.ok(bounce && bounce.inMessage?.info.type === 'internal' && bounce.inMessage.info.value.coins > toNano('0.99'));
});

test('a settle without the code, to an account that does not exist, bounces its funds back to the vault', async () => {
  const chain = await setupVaultChain({ fund: toNano('10') });
  const { vault, owner, balance } = chain;
  const before = await balance(vault.address);
  const result = await vault.sendPushBatch(owner.getSender(), [{ worker, cumulativeNanotons: toNano('2'), seq: 1, deploy: false }]);
  assert.equal(payoutsIn(result.transactions).length, 0);
  assert.equal(await chain.paid(worker), 0n);
  assert.equal(await balance(worker), 0n);
  // Only gas was spent (out of the owner's value): the 2 TON of funds are back.
  assert.ok((await balance(vault.address)) > before, 'the vault got its funds back');
});

test('storage rent is paid by the worker: each payout tops its account back up to the floor', async () => {
  const chain = await setupVaultChain({ fund: toNano('10') });
  const { blockchain, vault, owner, balance } = chain;
  await vault.sendPushBatch(owner.getSender(), [{ worker, cumulativeNanotons: toNano('1'), seq: 1 }]);
  const account = vault.accountAddress(worker);
  blockchain.now = (blockchain.now ?? 0) + 30 * 86_400;
  const result = await vault.sendPushBatch(owner.getSender(), [{ worker, cumulativeNanotons: toNano('2'), seq: 2, deploy: false }]);
  const rent = storageFeeOf(txTo(result.transactions, account));
  assert.ok(rent > 0n && rent < toNano('0.002'), `30 days of rent: ${rent}`);
  const [payout] = payoutsIn(result.transactions);
  assert.deepEqual(payout && [payout.body.dueNanotons, payout.body.depositNanotons, payout.value], [toNano('1'), rent, toNano('1') - rent]);
  assert.equal(await balance(account), ACCOUNT_FLOOR);
});

test('account: plain transfers top it up, unknown opcodes are refused, a report nobody asked for is refused', async () => {
  const chain = await setupVaultChain({ fund: toNano('10') });
  const { blockchain, vault, owner, balance } = chain;
  await vault.sendPushBatch(owner.getSender(), [{ worker, cumulativeNanotons: toNano('1'), seq: 1 }]);
  const account = vault.accountAddress(worker);
  const someone = await blockchain.treasury('someone');
  await someone.send({ to: account, value: toNano('0.5'), bounce: true });
  assert.ok((await balance(account)) > ACCOUNT_FLOOR + toNano('0.49'));
  const junk = await someone.send({ to: account, value: toNano('0.1'), bounce: true, body: beginCell().storeUint(0x1234, 32).endCell() });
  assert.equal(exitCodeOf(txTo(junk.transactions, account)), VaultExitCode.unknownOp);
  const report = beginCell().storeUint(0x50445250, 32).storeUint(0, 64).storeBit(true).storeCoins(0).storeUint(0, 64).endCell();
  const unasked = await someone.send({ to: account, value: toNano('0.1'), bounce: true, body: report });
  assert.equal(exitCodeOf(txTo(unasked.transactions, account)), VaultExitCode.notTrusted);
  assert.equal(await chain.paid(worker), toNano('1'));
  // A refusal for a claim goes to the worker, for a push entry to the vault.
  const repeat = await vault.sendPushBatch(owner.getSender(), [{ worker, cumulativeNanotons: toNano('1'), seq: 1, deploy: false }]);
  assert.deepEqual(refusalsTo(repeat.transactions, vault.address), [{ code: VaultExitCode.replayed, paid: toNano('1') }]);
});
