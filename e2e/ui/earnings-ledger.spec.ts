/**
 * Earnings on real books, in the desktop app's configuration (ledger-stack.ts: startDesktopApp
 * with the Electron-only capabilities faked): a worker paid on a local chain serves paid jobs;
 * the Dashboard's Today figure and the Earnings screen show the books' amounts as people read
 * them — in TON, and in the owner's currency once they enter what 1 TON costs — with the same
 * job count everywhere; receipts and vouchers only under Advanced, to the nanoton; the CSV
 * export; Cash out from the keyboard, signed by the wallet on this PC, paid on chain; and a
 * network whose vault would refuse every claim, said plainly, with what the books set aside.
 * Screenshots are kept as artifacts (and in docs/screenshots with UPDATE_SCREENSHOTS=1).
 */
import { expect, type Page } from '@playwright/test';
import { testWithStack } from './fixtures.js';
import { mkdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { CHAIN_GLOBAL_ID } from '../../network/protocol/voucher.js';
import { startLedgerStack, type LedgerStack } from './ledger-stack.js';
import { formatFiat, formatTon, formatTonExact } from '../../renderer/src/money.js';

const test = testWithStack(startLedgerStack, 120_000);

async function openEarnings(page: Page, stack: LedgerStack): Promise<void> {
  await page.goto(stack.tokenUrl);
  await page.getByRole('button', { name: 'Earnings', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Earnings' })).toBeVisible();
}

/** What the page shows (rendered text only: a closed Advanced section shows nothing). */
function shownText(page: Page): Promise<string> {
  return page.locator('main').innerText();
}

test('the Dashboard shows real earnings: Today in TON, then in the owner’s currency; counts agree everywhere', async ({ stack, page, errors }, testInfo) => {
  test.setTimeout(120_000);
  for (const content of ['abc', 'klm', 'xyz']) {
    // Right after connecting, the coordinator may not have seen the capacity yet: retry until served.
    await expect.poll(() => stack.chat(content), { timeout: 30_000 }).toBe(200);
  }
  const books = stack.app.core.books();
  if (!books) throw new Error('the worker keeps no books');
  const owed = stack.coordinator.store.account(stack.owner.raw).cumulative;
  await expect.poll(() => books.ledger.balances().vouchedNanotons, { timeout: 15_000 }).toBe(owed);
  expect(owed).toBeGreaterThan(100_000_000n);

  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(stack.tokenUrl);
  const today = page.getByTestId('today-total');
  await expect(today).toHaveText(`${formatTon(owed, 'en-US')} TON`);
  await expect(page.getByRole('region', { name: 'Today' })).toContainText('3 jobs paid for today');
  await expect(page.getByTestId('today-chart')).toBeVisible();

  // The owner enters what 1 TON costs (a comma as the decimal separator): amounts gain their currency.
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  await page.getByLabel('Price per kWh').fill('0,30');
  await page.getByLabel('Currency').fill('USD');
  await page.getByLabel('Price of 1 TON in USD').fill('3,1');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByText('Saved.')).toBeVisible();
  await page.getByRole('button', { name: 'Dashboard', exact: true }).click();
  await expect(today).toHaveText(`${formatTon(owed, 'en-US')} TON ≈ ${formatFiat(owed, { currency: 'USD', perTon: '3.1' }, 'en-US')}`);
  const shot = testInfo.outputPath('dashboard-earnings-light.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('Dashboard with earnings (light)', { path: shot, contentType: 'image/png' });
  if (process.env.UPDATE_SCREENSHOTS) await page.screenshot({ path: 'docs/screenshots/dashboard-light.png', fullPage: true });

  await page.getByRole('button', { name: 'Earnings', exact: true }).click();
  await expect(page.getByTestId('range-totals')).toContainText(`${formatTon(owed, 'en-US')} TON`);
  await expect(page.getByTestId('range-totals')).toContainText('3jobs paid for');
  await expect(page.getByTestId('claimable')).toContainText(`${formatTon(owed, 'en-US')} TON`);
  // The main view speaks of money, not of the books' machinery.
  expect(await shownText(page)).not.toMatch(/voucher|receipt|nanoton/i);
  await page.getByText('Advanced', { exact: true }).click();
  const receipts = page.getByRole('table', { name: 'Receipts' }).locator('tbody tr');
  await expect(receipts).toHaveCount(3);
  await expect(page.getByTestId('books-detail')).toContainText(`${formatTonExact(owed, 'en-US')} TON`);
  expect(errors).toEqual([]);
});

test('CSV export, and Cash out from the keyboard with the wallet on this PC, paid on chain', async ({ stack, page, errors }, testInfo) => {
  test.setTimeout(120_000);
  const books = stack.app.core.books();
  if (!books) throw new Error('the worker keeps no books');
  const owed = books.ledger.balances().claimableNanotons;
  expect(owed).toBeGreaterThan(0n);
  const jobs = [...books.ledger.iterateJobs()];

  await page.emulateMedia({ colorScheme: 'light' });
  await openEarnings(page, stack);
  await page.getByRole('group', { name: 'Range' }).getByRole('button', { name: 'Today' }).click();
  // CSV: the worker's own export of today's jobs, downloaded from a Blob.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  expect(download.suggestedFilename()).toBe(`silkworm-jobs-${jobs[0]?.day}.csv`);
  expect(await readFile(await download.path(), 'utf8')).toBe([...books.earnings.csv('jobs')].join(''));

  // Cash out from the keyboard: Enter asks, Escape cancels, Enter again and Enter on the focused confirm sends.
  const cashOut = page.getByRole('button', { name: 'Cash out', exact: true });
  await cashOut.focus();
  await page.keyboard.press('Enter');
  const confirm = page.getByRole('button', { name: `Cash out ${formatTon(owed, 'en-US')} TON` });
  await expect(confirm).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(confirm).toHaveCount(0);
  await cashOut.focus();
  await page.keyboard.press('Enter');
  await expect(confirm).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('cash-out-paid')).toContainText(`Paid: ${formatTon(owed, 'en-US')} TON`, { timeout: 60_000 });
  expect(books.ledger.balances().paidNanotons).toBe(owed);
  await expect(page.getByTestId('claimable').locator('.money-ton')).toHaveText('0 TON');
  await expect(page.getByTestId('balances')).toContainText(`${formatTon(owed, 'en-US')} TON`);
  await page.getByText('Advanced', { exact: true }).click();
  const payouts = page.getByRole('table', { name: 'Payouts' }).locator('tbody tr');
  await expect(payouts).toHaveCount(1);
  // The row says what the payout paid — what the books count — not the message's value, which is
  // that less the storage deposit the payout account keeps, plus the claim's unused fee coming back.
  const [onChain] = books.ledger.listPayouts();
  if (!onChain) throw new Error('the ledger holds no payout');
  expect(onChain.dueNanotons).toBe(owed);
  expect(onChain.amountNanotons).not.toBe(owed);
  const deposit = onChain.depositNanotons ?? 0n;
  await expect(payouts.first()).toContainText(`${formatTonExact(owed, 'en-US')} TON`);
  await expect(payouts.first()).toContainText('paid');
  await expect(payouts.first().getByTestId('payout-arrival')).toHaveText(
    `${formatTonExact(onChain.amountNanotons, 'en-US')} TON arrived: ${[
      deposit > 0n ? `${formatTonExact(deposit, 'en-US')} TON kept in your payout account for its storage` : null,
      `${formatTonExact(onChain.amountNanotons - owed + deposit, 'en-US')} TON of the Cash out fee back`,
    ].filter(Boolean).join(', ')}`,
  );
  await expect(page.getByTestId('books-detail')).toContainText(`${formatTonExact(owed, 'en-US')} TONpaid on chain`);
  await expect(page.getByRole('table', { name: 'Receipts' }).locator('tbody tr').first()).toContainText('paid');
  await expect(page.getByText('Payouts on a local test chain have no public block explorer.')).toBeVisible();

  await page.mouse.move(0, 0);
  const light = testInfo.outputPath('earnings-ledger-light.png');
  await page.screenshot({ path: light, fullPage: true });
  await testInfo.attach('Earnings with the books (light)', { path: light, contentType: 'image/png' });
  if (process.env.UPDATE_SCREENSHOTS) {
    await mkdir('docs/screenshots', { recursive: true });
    await page.screenshot({ path: 'docs/screenshots/earnings-ledger-light.png', fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = testInfo.outputPath('earnings-ledger-dark.png');
  await page.screenshot({ path: dark, fullPage: true });
  await testInfo.attach('Earnings with the books (dark)', { path: dark, contentType: 'image/png' });
  expect(errors).toEqual([]);
});

test('a network whose vault would refuse every cash-out is said on the Dashboard and beside Cash out; what the books set aside is listed under Advanced', async ({ stack, page, errors }, testInfo) => {
  test.setTimeout(120_000);
  const books = stack.app.core.books();
  if (!books) throw new Error('the worker keeps no books');
  await page.goto(stack.tokenUrl);
  await expect(page.getByTestId('today-total')).toBeVisible();
  await expect(page.getByTestId('cash-out-blocked')).toHaveCount(0);
  // The vault on chain is read to hold another voucher key than the network signs with (what the
  // worker learns from the chain when it cannot at first): every voucher from now on is refused.
  books.ledger.setVaultTerms({ publicKey: randomBytes(32).toString('hex'), globalId: CHAIN_GLOBAL_ID.testnet });
  await expect.poll(() => stack.chat('one more'), { timeout: 30_000 }).toBe(200);
  await expect.poll(() => books.ledger.anomalies({ kind: 'voucher' }).map((a) => a.code), { timeout: 15_000 }).toEqual(['vault_key_mismatch']);

  await page.reload();
  await expect(page.getByTestId('cash-out-blocked')).toContainText('What you earn from it cannot be cashed out: ask its operator, or choose another network in Settings.');
  await page.getByRole('button', { name: 'Earnings', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'cannot be cashed out' })).toBeVisible();
  await expect(page.getByTestId('claimable').locator('.money-ton')).toHaveText('0 TON');
  await expect(page.getByRole('note')).toHaveText('Some payments do not match what this PC counted: see Advanced → Books.');
  await page.getByText('Advanced', { exact: true }).click();
  await expect(page.getByRole('list', { name: 'Set aside' })).toContainText('1 promise to pay was signed with a key the network’s payout vault does not hold, so the vault would refuse it: set aside, not counted as ready to cash out.');
  await expect(page.getByRole('list', { name: 'Set aside' })).toContainText('vault_key_mismatch');
  const shot = testInfo.outputPath('earnings-cash-out-blocked.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('Earnings when the vault would refuse every cash-out', { path: shot, contentType: 'image/png' });
  expect(errors).toEqual([]);
});
