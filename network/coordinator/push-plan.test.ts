import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address, toNano } from '@ton/core';
import { gasFor, planPush, VAULT_MARGIN, type DueAccount } from './push-plan.js';

const account = (n: number) => new Address(0, Buffer.alloc(32, n)).toRawString();
const due = (n: number, cumulative: bigint, paidOnChain = 0n, deployed = false): DueAccount => ({ account: account(n), cumulative, seq: n, paidOnChain, deployed });

test('sends only what the chain says is still due, and the code only to accounts not yet deployed', () => {
  // The wallet pays the pushes' gas money even when the vault holds the funds.
  const plan = planPush([due(1, toNano('3'), toNano('1'), true), due(2, toNano('2'))], { vaultSpendable: toNano('100'), walletAvailable: gasFor(2) });
  assert.deepEqual(plan.entries.map((e) => [e.account, e.amountNanotons, e.deploy]), [[account(1), toNano('2'), false], [account(2), toNano('2'), true]]);
  assert.equal(plan.topUp, 0n);
  assert.equal(plan.gas, gasFor(2));
});

test('an account already paid up to its total on chain is held as paid, not sent', () => {
  const plan = planPush([due(1, toNano('3'), toNano('3'), true)], { vaultSpendable: toNano('100'), walletAvailable: toNano('10') });
  assert.deepEqual(plan.entries, []);
  assert.deepEqual(plan.held, [{ account: account(1), amountNanotons: 0n, reason: 'paid' }]);
});

test('a short vault is topped up from the wallet; an account neither can fund waits and blocks nobody', () => {
  const funding = { vaultSpendable: toNano('5'), walletAvailable: toNano('10') };
  const plan = planPush([due(1, toNano('1000')), due(2, toNano('4')), due(3, toNano('6'))], funding);
  assert.deepEqual(plan.entries.map((e) => e.account), [account(2), account(3)]);
  assert.deepEqual(plan.held, [{ account: account(1), amountNanotons: toNano('1000'), reason: 'underfunded' }]);
  // 10 TON of funds, 5 minus the margin in the vault: the wallet adds the rest.
  assert.equal(plan.topUp, toNano('10') - (toNano('5') - VAULT_MARGIN));
  assert.ok(plan.topUp + plan.gas <= funding.walletAvailable);
});

test('nothing fits: nothing is sent and nothing is topped up', () => {
  const plan = planPush([due(1, toNano('50'))], { vaultSpendable: 0n, walletAvailable: toNano('1') });
  assert.deepEqual(plan.entries, []);
  assert.equal(plan.topUp, 0n);
  assert.equal(plan.held[0]?.reason, 'underfunded');
});
