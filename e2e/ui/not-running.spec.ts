/**
 * When the worker is gone — killed with kill -9, so nothing says goodbye — the page replaces
 * every live value with one plain "Silkworm isn't running" state within 3 s (the issue's
 * deadline; the page learns of it from its event stream: a dropped connection at once, a
 * silent one after two missed heartbeats). The worker runs in its own process (process-stack.ts).
 */
import { expect } from '@playwright/test';
import { testWithStack } from './fixtures.js';
import { startProcessStack } from './process-stack.js';

const test = testWithStack(startProcessStack, 90_000);

test('kill -9 of the worker: "Silkworm isn’t running" within 3 s, and no live value left', async ({ stack, page }) => {
  await page.goto(stack.tokenUrl);
  await expect(page.getByRole('switch')).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByText('Online')).toBeVisible();

  const killedAt = Date.now();
  stack.kill();
  await expect(page.getByRole('heading', { name: 'Silkworm isn’t running' })).toBeVisible({ timeout: 3_000 });
  const tookMs = Date.now() - killedAt;
  test.info().annotations.push({ type: 'not-running after kill -9', description: `${tookMs} ms` });
  expect(tookMs).toBeLessThan(3_000);

  // Every live value is gone: no switch, no link badge, no sharing state, no figures.
  const main = page.locator('main');
  await expect(page.getByRole('switch')).toHaveCount(0);
  await expect(main).not.toContainText(/Online|Offline|Sharing:|Connected|tokens\/s/);
  // Plain words, no command line to type.
  await expect(main).not.toContainText(/silkworm worker|--|`/);
  // Other screens say the same.
  await page.getByRole('button', { name: 'Earnings', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Silkworm isn’t running' })).toBeVisible();
});
