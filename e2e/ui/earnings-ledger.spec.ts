/**
 * The Earnings screen on real books: a worker with a payout address on a local chain serves
 * paid jobs; the screen shows what the ledger holds to the nanoton (claimable, earned, each
 * receipt), exports the CSV, and Cash out — driven from the keyboard — is paid on chain and
 * shows as paid. Screenshots are kept as artifacts (and in docs/screenshots with UPDATE_SCREENSHOTS=1).
 */
import { expect, type Page } from '@playwright/test';
import { testWithStack } from './fixtures.js';
import { mkdir, readFile } from 'node:fs/promises';
import { fromNano } from '@ton/core';
import { startLedgerStack, type LedgerStack } from './ledger-stack.js';

const test = testWithStack(startLedgerStack, 120_000);

/** Nanotons as the UI writes TON: exact, trailing zeros dropped, the whole part grouped. */
function ton(nanotons: bigint): string {
  const [whole = '0', fraction] = fromNano(nanotons).split('.');
  return `${Number(whole).toLocaleString('en-US')}${fraction ? `.${fraction}` : ''}`;
}

async function openEarnings(page: Page, stack: LedgerStack): Promise<void> {
  await page.goto(stack.tokenUrl);
  await page.getByRole('button', { name: 'Earnings', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Earnings' })).toBeVisible();
}

test('the ledger’s figures to the nanoton, CSV export, and Cash out paid on chain', async ({ stack, page, errors }, testInfo) => {
  test.setTimeout(120_000);
  for (const content of ['abc', 'klm', 'xyz']) {
    // Right after connecting, the coordinator may not have seen the capacity yet: retry until served.
    await expect.poll(() => stack.chat(content), { timeout: 30_000 }).toBe(200);
  }
  const books = stack.app.core.books();
  if (!books) throw new Error('the worker keeps no books');
  const owed = stack.coordinator.store.account(stack.owner.raw).cumulative;
  expect(owed).toBeGreaterThan(0n);
  await expect.poll(() => books.ledger.balances().vouchedNanotons, { timeout: 15_000 }).toBe(owed);
  const jobs = [...books.ledger.iterateJobs()];
  expect(jobs).toHaveLength(3);

  await page.emulateMedia({ colorScheme: 'light' });
  await openEarnings(page, stack);
  await expect(page.getByTestId('claimable')).toContainText(`${ton(owed)} TON`);
  await expect(page.getByTestId('range-totals')).toContainText(`${ton(owed)} TONearned`);
  await expect(page.getByTestId('range-totals')).toContainText('3jobs');
  await expect(page.getByTestId('live-rate')).toContainText(`${ton(owed)} TON/h`);
  await expect(page.getByTestId('chart-by-day').locator('.recharts-bar-rectangle')).not.toHaveCount(0);
  await expect(page.getByTestId('chart-by-model')).toContainText('silkworm-test');
  const receipts = page.getByRole('table', { name: 'Receipts' }).locator('tbody tr');
  await expect(receipts).toHaveCount(3);
  const newest = jobs.at(-1);
  await expect(receipts.first()).toContainText(`${ton(newest?.earnedNanotons ?? 0n)} TON`);
  await expect(receipts.first()).toContainText('claimable');
  await expect(page.getByText('No payouts yet')).toBeVisible();

  // CSV: the worker's own export of today's jobs, downloaded from a Blob.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  expect(download.suggestedFilename()).toBe(`silkworm-jobs-${jobs[0]?.day}.csv`);
  expect(await readFile(await download.path(), 'utf8')).toBe([...books.earnings.csv('jobs')].join(''));

  // Cash out from the keyboard: Enter asks, Escape cancels, Enter again and Enter on the focused confirm sends.
  const cashOut = page.getByRole('button', { name: 'Cash out', exact: true });
  await cashOut.focus();
  await page.keyboard.press('Enter');
  const confirm = page.getByRole('button', { name: `Claim ${ton(owed)} TON` });
  await expect(confirm).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(confirm).toHaveCount(0);
  await cashOut.focus();
  await page.keyboard.press('Enter');
  await expect(confirm).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('cash-out-paid')).toContainText(`Paid: ${ton(owed)} TON`, { timeout: 60_000 });
  expect(books.ledger.balances().paidNanotons).toBe(owed);
  await expect(page.getByTestId('claimable').locator('.stat-value')).toHaveText('0 TON');
  await expect(page.getByTestId('balances')).toContainText(`${ton(owed)} TONpaid on chain`);
  const payouts = page.getByRole('table', { name: 'Payouts' }).locator('tbody tr');
  await expect(payouts).toHaveCount(1);
  await expect(payouts.first()).toContainText(`${ton(owed)} TON`);
  await expect(payouts.first()).toContainText('paid');
  await expect(receipts.first()).toContainText('paid');
  await expect(page.getByText('Payouts on a local test chain have no public block explorer.')).toBeVisible();

  await page.mouse.move(0, 0);
  const light = testInfo.outputPath('earnings-ledger-light.png');
  await page.screenshot({ path: light, fullPage: true });
  await testInfo.attach('Earnings with the ledger (light)', { path: light, contentType: 'image/png' });
  if (process.env.UPDATE_SCREENSHOTS) {
    await mkdir('docs/screenshots', { recursive: true });
    await page.screenshot({ path: 'docs/screenshots/earnings-ledger-light.png', fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = testInfo.outputPath('earnings-ledger-dark.png');
  await page.screenshot({ path: dark, fullPage: true });
  await testInfo.attach('Earnings with the ledger (dark)', { path: dark, contentType: 'image/png' });
  expect(errors).toEqual([]);
});
