/** The worker's check of the coordinator's receipts: published arithmetic, and tokens against its own count. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PRICE_LIST, jobCost, priceListToWire, splitCost } from '../../network/protocol/pricing.js';
import { checkReceipt } from './receipt-check.js';

const pricing = priceListToWire(DEFAULT_PRICE_LIST);
function honest(usage: { promptTokens: number; completionTokens: number }, coefficientMilli = 1000) {
  const cost = jobCost(DEFAULT_PRICE_LIST.default, usage, coefficientMilli / 1000);
  return { model: 'm', usage, coefficientMilli, costNanotons: cost.toString(), earnedNanotons: splitCost(cost, DEFAULT_PRICE_LIST.commissionBps).worker.toString() };
}

test('a receipt that follows the published prices and our own count passes', () => {
  assert.deepEqual(checkReceipt(honest({ promptTokens: 100, completionTokens: 400 }), pricing, { completionTokens: 400 }), { ok: true });
  assert.deepEqual(checkReceipt(honest({ promptTokens: 100, completionTokens: 400 }, 1500), pricing), { ok: true });
});

test('arithmetic that does not follow the prices is flagged with the shortfall', () => {
  const receipt = { ...honest({ promptTokens: 1000, completionTokens: 1000 }), earnedNanotons: '1' };
  const verdict = checkReceipt(receipt, pricing);
  assert.equal(verdict.ok, false);
  assert.equal(!verdict.ok && verdict.code, 'receipt_math');
  assert.equal(!verdict.ok && verdict.shortfallNanotons, BigInt(honest({ promptTokens: 1000, completionTokens: 1000 }).earnedNanotons) - 1n);
});

test('paying for fewer tokens than this PC generated is flagged as underpaid, beyond re-tokenization slack', () => {
  const receipt = honest({ promptTokens: 10, completionTokens: 100 });
  assert.deepEqual(checkReceipt(receipt, pricing, { completionTokens: 110 }), { ok: true }, 'within slack');
  const verdict = checkReceipt(receipt, pricing, { completionTokens: 400 });
  assert.equal(!verdict.ok && verdict.code, 'underpaid');
  const owed = BigInt(honest({ promptTokens: 10, completionTokens: 400 }).earnedNanotons) - BigInt(receipt.earnedNanotons);
  assert.equal(!verdict.ok && verdict.shortfallNanotons, owed);
});

test('prices that cannot be read flag the receipt rather than throw (a throw would leave it unrecorded)', () => {
  const unreadable = { ...pricing, models: { other: { promptPerMillion: '1' + '0'.repeat(21), completionPerMillion: '1' } } };
  const verdict = checkReceipt(honest({ promptTokens: 10, completionTokens: 10 }), unreadable);
  assert.equal(!verdict.ok && verdict.code, 'receipt_math');
  assert.equal(!verdict.ok && verdict.shortfallNanotons, 0n);
});
