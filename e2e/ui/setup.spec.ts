/**
 * The first-run setup in Chromium against the real worker core: welcome, sharing mode, a payout
 * address refused at Finish (its step comes back, the message beside the field, nothing typed
 * lost) then left empty, the electricity price kept by Finish alone — and then the app itself,
 * with the choices applied and remembered across a reload.
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

  // An address that is not one: checked when the owner finishes, not before.
  await page.getByLabel('Payout address').fill('EQ-not-an-address');
  await page.getByRole('button', { name: 'Continue' }).click();

  await expect(page.getByText('Step 4 of 4: Electricity')).toBeVisible();
  await page.getByLabel('Price per kWh').fill('0,30');
  await page.getByLabel('Price of 1 TON in EUR').fill('3');
  await page.getByLabel('Power while sharing').fill('250');
  await page.getByRole('button', { name: 'Finish' }).click();

  // The refused address brings its step back, with the message beside the field…
  await expect(page.getByText('Step 3 of 4: Payouts')).toBeVisible();
  const address = page.getByLabel('Payout address');
  await expect(address).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.getByRole('alert')).not.toContainText(/updateSettings|✖|payoutAddress|at patch/);
  // …and nothing typed is lost: the electricity price is still there when the owner goes on.
  await address.fill('');
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByLabel('Price per kWh')).toHaveValue(/^0[.,]30$/);
  await expect(page.getByLabel('Power while sharing')).toHaveValue('250');
  // Finish saves everything typed: the electricity price was never saved on its own.
  await page.getByRole('button', { name: 'Finish' }).click();

  // Setup is over: the app, sharing in the chosen mode.
  await expect(page.getByRole('switch', { name: 'Share GPU always' })).toBeVisible();
  await expect.poll(() => stack.core.sharing.settings.mode).toBe('always');
  const stored = JSON.parse(await readFile(join(stack.dataDir, 'app-settings.json'), 'utf8')) as { setupDone?: boolean; electricity?: unknown };
  expect(stored.setupDone).toBe(true);
  expect(stored.electricity).toEqual({ pricePerKwh: '0.30', currency: 'EUR', tonPrice: '3', watts: 250 });

  await page.reload();
  await expect(page.getByRole('switch', { name: 'Share GPU always' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Welcome to Silkworm' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByLabel('Price per kWh')).toHaveValue('0.30');
  await expect(page.getByLabel('Power while sharing')).toHaveValue('250');
  await page.screenshot({ path: testInfo.outputPath('settings-electricity.png'), fullPage: true });
  expect(errors.filter((text) => !text.includes('status of 4'))).toEqual([]);
});
