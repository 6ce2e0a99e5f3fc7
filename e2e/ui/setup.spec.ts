/**
 * The first-run setup in Chromium against the real worker core: welcome, sharing mode, a payout
 * address refused then skipped, the electricity price saved — and then the app itself, with the
 * choices applied and remembered across a reload.
 */
import { expect } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testWithStack } from './fixtures.js';
import { startUiStack } from './stack.js';

const test = testWithStack(() => startUiStack({ firstRun: true }), 90_000);

test('a new owner is walked through setup once, and the choices apply', async ({ stack, page, errors }, testInfo) => {
  await page.goto(stack.tokenUrl);
  await expect(page.getByRole('heading', { name: 'Welcome to Silkworm' })).toBeVisible();
  await expect(page.getByText('Step 1 of 4: Welcome')).toBeVisible();
  await expect(page.getByText('no secure enclave')).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('setup-welcome.png'), fullPage: true });
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.getByRole('radio', { name: /Always/ }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByText('Step 3 of 4: Payouts')).toBeVisible();

  await page.getByLabel('Payout address').fill('EQ-not-an-address');
  await page.getByRole('button', { name: 'Save address' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await page.getByRole('button', { name: 'Skip' }).click();

  await expect(page.getByText('Step 4 of 4: Electricity')).toBeVisible();
  await page.getByLabel('Price per kWh').fill('0,30');
  await page.getByLabel('Price of 1 TON in EUR').fill('3');
  await page.getByRole('button', { name: 'Save electricity price' }).click();
  await expect(page.getByText('a number such as 0.25')).toBeVisible();
  await page.getByLabel('Price per kWh').fill('0.30');
  await page.getByLabel('Power while sharing (W)').fill('250');
  await expect(page.getByText('≈ 0.1 TON per kWh')).toBeVisible();
  await page.getByRole('button', { name: 'Save electricity price' }).click();

  // Setup is over: the app, sharing in the chosen mode.
  await expect(page.getByRole('switch', { name: 'Share GPU when idle' })).toBeVisible();
  await expect.poll(() => stack.core.sharing.settings.mode).toBe('always');
  const stored = JSON.parse(await readFile(join(stack.dataDir, 'app-settings.json'), 'utf8')) as { setupDone?: boolean; electricity?: unknown };
  expect(stored.setupDone).toBe(true);
  expect(stored.electricity).toEqual({ pricePerKwh: '0.30', currency: 'EUR', tonPrice: '3', watts: 250 });

  await page.reload();
  await expect(page.getByRole('switch', { name: 'Share GPU when idle' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Welcome to Silkworm' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByLabel('Price per kWh')).toHaveValue('0.30');
  await expect(page.getByLabel('Power while sharing (W)')).toHaveValue('250');
  await page.screenshot({ path: testInfo.outputPath('settings-electricity.png'), fullPage: true });
  expect(errors.filter((text) => !text.includes('status of 4'))).toEqual([]);
});
