/**
 * The desktop app's UI in Chromium against the real worker core (headless dashboard): the
 * token guard, the share toggle, a served job showing up, and every screen rendering without
 * console errors — with a screenshot of each kept as a test artifact.
 */
import { expect, type Page } from '@playwright/test';
import { testWithStack } from './fixtures.js';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Address } from '@ton/core';
import { startUiStack, type UiStack } from './stack.js';

const test = testWithStack(startUiStack, 90_000);

const SCREENS = ['Dashboard', 'Earnings', 'Wallet', 'Models', 'Settings', 'Diagnostics'] as const;

/** The screenshots kept in docs/screenshots/ (refresh with UPDATE_SCREENSHOTS=1 npx playwright test). */
const COMMITTED = new Set(['dashboard-light', 'dashboard-dark', 'earnings-light', 'wallet-dark', 'models-light', 'settings-dark', 'diagnostics-light']);

async function open(page: Page, stack: UiStack): Promise<void> {
  await page.goto(stack.tokenUrl);
  await expect(page.getByRole('switch', { name: 'Share GPU when idle' })).toBeVisible();
}

async function setSharing(page: Page, on: boolean): Promise<void> {
  const toggle = page.getByRole('switch', { name: 'Share GPU when idle' });
  if ((await toggle.getAttribute('aria-checked')) !== String(on)) await toggle.click();
  await expect(toggle).toHaveAttribute('aria-checked', String(on));
}

test('the API refuses requests without the right token, and the page asks for the link', async ({ stack, page, request }) => {
  const missing = await request.post(`${stack.url}/api/invoke/getState`, { data: {} });
  expect(missing.status()).toBe(401);
  const wrong = await request.post(`${stack.url}/api/invoke/getState`, { data: {}, headers: { authorization: 'Bearer not-the-token' } });
  expect(wrong.status()).toBe(401);
  const events = await request.get(`${stack.url}/api/events`);
  expect(events.status()).toBe(401);
  const right = await request.post(`${stack.url}/api/invoke/getState`, { data: {}, headers: { authorization: `Bearer ${stack.token}` } });
  expect(right.status()).toBe(200);
  expect(((await right.json()) as { ok: boolean }).ok).toBe(true);
  const page401 = await request.get(stack.url);
  expect(page401.headers()['content-security-policy']).toContain("script-src 'self'");
  expect(page401.headers()['access-control-allow-origin']).toBeUndefined();

  await page.goto(stack.url);
  await expect(page.getByRole('heading', { name: 'Open the dashboard link' })).toBeVisible();
});

test('the token leaves the address bar once read', async ({ stack, page, errors }) => {
  await open(page, stack);
  expect(page.url()).not.toContain('token');
  await page.reload();
  await expect(page.getByRole('switch', { name: 'Share GPU when idle' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('flipping the toggle changes the sharing state of the real worker', async ({ stack, page, errors }) => {
  await open(page, stack);
  await setSharing(page, false);
  await expect(page.getByTestId('sharing-summary')).toContainText(/off/i);
  expect(stack.core.sharing.snapshot().mode).toBe('off');

  await setSharing(page, true);
  await expect(page.getByTestId('sharing-summary')).toContainText('away');
  await expect(page.getByText('Sharing', { exact: true }).first()).toBeVisible();
  expect(stack.core.sharing.snapshot().mode).toBe('idle');
  expect(stack.core.sharing.currentDecision.share).toBe(true);

  await setSharing(page, false);
  await expect(page.getByTestId('sharing-summary')).toContainText(/off/i);
  expect(stack.core.sharing.currentDecision.share).toBe(false);
  expect(errors).toEqual([]);
});

test('a job served by the worker shows up on the dashboard and the earnings screen', async ({ stack, page, errors }) => {
  await open(page, stack);
  await setSharing(page, true);
  // The coordinator routes only to a worker that has its model loaded and offers capacity.
  await expect.poll(() => stack.core.engine.info !== undefined && stack.core.worker.link.connected, { timeout: 30_000 }).toBe(true);
  const before = stack.core.worker.counters.jobsServed;
  // Right after resuming, the coordinator may not have seen the capacity yet: retry until served.
  let reply = await stack.chat('abc', 16);
  await expect.poll(async () => (reply.status === 200 ? 200 : (reply = await stack.chat('abc', 16)).status), { timeout: 30_000 }).toBe(200);
  // The test model continues the alphabet: the answer proves the real engine served it.
  expect(reply.text).toBe('defghijklmnopqrs');
  const served = stack.core.worker.counters;
  expect(served.jobsServed).toBe(before + 1);

  await expect(page.getByText(/^Last: \d+ tokens served/)).toBeVisible();
  await page.getByRole('button', { name: 'Earnings', exact: true }).click();
  const session = page.getByTestId('session-earnings');
  await expect(session).toContainText(`${served.jobsServed}jobs served`);
  await expect(session).toContainText(`${served.tokensGenerated.toLocaleString('en-US')}tokens written`);
  await expect(page.getByRole('list', { name: 'Recent jobs' })).toContainText('silkworm-test');
  // No payout address: nothing is kept, said plainly with the way out, never a made-up number.
  await expect(page.getByText('No earnings kept yet')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Set a payout address' })).toBeVisible();
  expect(errors).toEqual([]);
});

test('the payout address is checked by the worker', async ({ stack, page, errors }) => {
  await open(page, stack);
  await page.getByRole('button', { name: 'Wallet', exact: true }).click();
  const input = page.getByRole('textbox', { name: 'Payout address' });
  await input.fill('EQD__________________________________________0vo');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert')).toContainText('mainnet address');
  await input.fill('not an address');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert')).toContainText('not a valid TON address');
  const testnet = new Address(0, Buffer.alloc(32, 7)).toString({ urlSafe: true, bounceable: true, testOnly: true });
  await input.fill(testnet);
  await page.getByRole('button', { name: 'Save' }).click();
  // Stored in the data dir and shown non-bounceable.
  const shown = new Address(0, Buffer.alloc(32, 7)).toString({ urlSafe: true, bounceable: false, testOnly: true });
  await expect(page.getByTestId('payout-address')).toHaveText(shown);
  const stored = JSON.parse(await readFile(join(stack.dataDir, 'app-settings.json'), 'utf8')) as { payoutAddress: string };
  expect(stored.payoutAddress).toBe(shown);
  await page.getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByText('No payout address yet')).toBeVisible();
  expect(errors).toEqual([]);
});

test('the GPU card speaks plainly where there are no readings', async ({ stack, page, errors }) => {
  await open(page, stack);
  const gpu = page.getByRole('region', { name: 'GPU' });
  await expect(gpu).toContainText('No readings from your graphics card');
  await expect(gpu).toContainText('Sharing still works.');
  await expect(page.locator('main')).not.toContainText(/nvidia-smi|rocm-smi|unknown/);
  expect(errors).toEqual([]);
});

for (const theme of ['light', 'dark'] as const) {
  test(`every screen renders without console errors (${theme})`, async ({ stack, page, errors }, testInfo) => {
    await page.emulateMedia({ colorScheme: theme });
    await open(page, stack);
    const committed = process.env.UPDATE_SCREENSHOTS ? 'docs/screenshots' : null;
    if (committed) await mkdir(committed, { recursive: true });
    for (const screen of SCREENS) {
      await page.getByRole('button', { name: screen, exact: true }).click();
      await expect(page.getByRole('heading', { level: 1, name: screen })).toBeVisible();
      await expect(page.getByRole('status', { name: 'Loading' })).toHaveCount(0);
      const path = testInfo.outputPath(`${screen.toLowerCase()}-${theme}.png`);
      await page.screenshot({ path, fullPage: true });
      await testInfo.attach(`${screen} (${theme})`, { path, contentType: 'image/png' });
      const name = `${screen.toLowerCase()}-${theme}`;
      if (committed && COMMITTED.has(name)) await page.screenshot({ path: `${committed}/${name}.png`, fullPage: true });
    }
    expect(errors).toEqual([]);
  });
}

test('the switch works from the keyboard', async ({ stack, page, errors }) => {
  await open(page, stack);
  await setSharing(page, false);
  const toggle = page.getByRole('switch', { name: 'Share GPU when idle' });
  await toggle.focus();
  await page.keyboard.press('Space');
  await expect(toggle).toHaveAttribute('aria-checked', 'true');
  await page.keyboard.press('Enter');
  await expect(toggle).toHaveAttribute('aria-checked', 'false');
  expect(errors).toEqual([]);
});
