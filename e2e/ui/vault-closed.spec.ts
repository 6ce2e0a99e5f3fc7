/**
 * The owner learns that the network's payout vault cannot pay before pressing Cash out: the
 * desktop app (ledger-stack.ts) reads the vault on chain in the background, and once the operator
 * has closed it, the Dashboard and Earnings say so beside the balance. Cash out pressed anyway
 * sends nothing and says why.
 */
import { expect } from '@playwright/test';
import { testWithStack } from './fixtures.js';
import { startLedgerStack } from './ledger-stack.js';
import { formatTon } from '../../renderer/src/money.js';

const test = testWithStack(() => startLedgerStack({ token: 'ui-vault-closed-token-0123' }), 120_000);

test('a closed vault is said beside Cash out before it is pressed, and Cash out then sends nothing', async ({ stack, page, errors }, testInfo) => {
  test.setTimeout(120_000);
  await expect.poll(() => stack.chat('abc'), { timeout: 30_000 }).toBe(200);
  const books = stack.app.core.books();
  if (!books) throw new Error('the worker keeps no books');
  await expect.poll(() => books.ledger.balances().claimableNanotons, { timeout: 15_000 }).toBeGreaterThan(0n);
  const owed = books.ledger.balances().claimableNanotons;
  await page.goto(stack.tokenUrl);
  await expect(page.getByTestId('today-total')).toBeVisible();
  // The first look read the vault: it can pay, so nothing is said.
  await expect.poll(() => books.earnings.readVaultFunds().then(() => books.earnings.cashOutOutlook()), { timeout: 15_000 }).toBeUndefined();
  await page.reload();
  await expect(page.getByTestId('cash-out-blocked')).toHaveCount(0);

  await stack.closeVault();
  await books.earnings.readVaultFunds(); // what the next minute's look would read
  await page.reload();
  const closed = "The network has closed its payout vault, so it pays no claims: Cash out would be refused. Ask the network's operator how your earnings will be paid.";
  await expect(page.getByTestId('cash-out-blocked')).toHaveText(closed);
  await page.getByRole('button', { name: 'Earnings', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'closed its payout vault' })).toBeVisible();
  const shot = testInfo.outputPath('earnings-vault-closed.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('Earnings when the vault is closed', { path: shot, contentType: 'image/png' });

  // Pressed anyway: nothing is sent, and the owner is told why.
  await page.getByRole('button', { name: 'Cash out', exact: true }).click();
  await page.getByRole('button', { name: `Cash out ${formatTon(owed, 'en-US')} TON` }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'closed its vault, so it pays no claims' })).toBeVisible({ timeout: 30_000 });
  expect(books.ledger.balances().claimableNanotons).toBe(owed);
  expect(books.ledger.balances().paidNanotons).toBe(0n);
  expect(errors).toEqual([]);
});
