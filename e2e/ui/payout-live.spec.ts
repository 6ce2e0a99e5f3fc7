/**
 * A payout address is paid from the moment it is set, without a restart — and a wallet created
 * in the app can cash out. The desktop app (ledger-stack.ts, Electron capabilities faked) starts
 * with no payout address: a job earns, but nothing is kept. The owner creates a wallet on this
 * PC in the Wallet screen; the worker announces it at once; the next jobs are paid to it and kept
 * in its books; the Dashboard shows them; Cash out, signed by that wallet's own key, is paid.
 */
import { expect } from '@playwright/test';
import { Address } from '@ton/core';
import { testWithStack } from './fixtures.js';
import { startLedgerStack } from './ledger-stack.js';
import { formatTon } from '../../renderer/src/money.js';

const test = testWithStack(() => startLedgerStack({ importOwner: false, token: 'ui-payout-live-token-0123' }), 120_000);

test('a new payout address is announced and paid without a restart, and its wallet cashes out', async ({ stack, page, errors }) => {
  test.setTimeout(150_000);
  expect(stack.app.core.payoutAddress()).toBeUndefined();
  await expect.poll(() => stack.chat('abc'), { timeout: 30_000 }).toBe(200);
  await page.goto(stack.tokenUrl);
  const todayCard = page.getByRole('region', { name: 'Today' });
  await expect(todayCard).toContainText('There is no payout address yet');
  await todayCard.getByRole('button', { name: 'Set a payout address' }).click();

  // A wallet on this PC: the (fake) OS keychain seals it, so no passphrase is asked.
  await expect(page.getByRole('heading', { level: 1, name: 'Wallet' })).toBeVisible();
  await expect(page.getByText('The key is encrypted with this computer’s keychain.')).toBeVisible();
  await page.getByRole('button', { name: 'Create wallet' }).click();
  await expect(page.getByTestId('recovery-words').locator('li')).toHaveCount(24);
  await page.getByLabel('I wrote down all 24 words, in order').check();
  await page.getByRole('button', { name: 'Use this wallet for payouts' }).click();
  const address = (await page.getByTestId('local-address').innerText()).trim();
  await expect(page.getByTestId('payout-address')).toHaveText(address, { timeout: 20_000 });
  await expect(page.getByTestId('payout-pending')).toHaveCount(0);
  await expect(page.locator('main')).not.toContainText(/restart/i);
  expect(stack.app.core.payoutAddress()).toBe(address);

  // Paid to the new address from the next job, and kept in its books.
  const raw = Address.parse(address).toRawString();
  for (const content of ['klm', 'xyz']) await expect.poll(() => stack.chat(content), { timeout: 30_000 }).toBe(200);
  const owed = stack.coordinator.store.account(raw).cumulative;
  expect(owed).toBeGreaterThan(0n);
  await expect.poll(() => stack.app.core.books()?.ledger.balances().vouchedNanotons, { timeout: 15_000 }).toBe(owed);
  await page.getByRole('button', { name: 'Dashboard', exact: true }).click();
  await expect(page.getByTestId('today-total')).toHaveText(`${formatTon(owed, 'en-US')} TON`);
  await expect(todayCard).toContainText('2 jobs paid for today');

  // The new wallet pays the claim's gas: a little test TON from the faucet, then Cash out.
  await stack.fund(address, '1');
  await page.getByRole('button', { name: 'Earnings', exact: true }).click();
  await page.getByRole('button', { name: 'Cash out', exact: true }).click();
  await page.getByRole('button', { name: `Cash out ${formatTon(owed, 'en-US')} TON` }).click();
  await expect(page.getByTestId('cash-out-paid')).toContainText(`Paid: ${formatTon(owed, 'en-US')} TON`, { timeout: 60_000 });
  expect(stack.app.core.books()?.ledger.balances().paidNanotons).toBe(owed);
  expect(errors).toEqual([]);
});
