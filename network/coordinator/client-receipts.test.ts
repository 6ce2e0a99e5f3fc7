import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeReceiptWindow, PAUSE_DISPUTED, PAUSE_WORKERS, RECEIPT_WINDOW } from './client-receipts.js';

const disputes = (count: number, workers: number) => Array.from({ length: count }, (_, i) => `w${i % workers}`);

test('receipts are paused at PAUSE_DISPUTED disputed among the latest RECEIPT_WINDOW, by at least PAUSE_WORKERS workers', () => {
  assert.deepEqual(judgeReceiptWindow(disputes(PAUSE_DISPUTED, PAUSE_WORKERS)), { pause: true, disputed: PAUSE_DISPUTED, workers: PAUSE_WORKERS });
  assert.equal(judgeReceiptWindow(disputes(PAUSE_DISPUTED - 1, PAUSE_WORKERS)).pause, false, 'one short');
  assert.equal(judgeReceiptWindow(disputes(RECEIPT_WINDOW, PAUSE_WORKERS - 1)).pause, false, 'too few workers, however many disputes');
  assert.deepEqual(judgeReceiptWindow([null, null, 'w1']), { pause: false, disputed: 1, workers: 1 }, 'undisputed receipts count for the client');
});

test('only the latest RECEIPT_WINDOW receipts count', () => {
  const clean = Array.from({ length: RECEIPT_WINDOW }, () => null);
  assert.deepEqual(judgeReceiptWindow([...clean, ...disputes(RECEIPT_WINDOW, 5)]), { pause: false, disputed: 0, workers: 0 });
});
