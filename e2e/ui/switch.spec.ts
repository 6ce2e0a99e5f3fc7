/**
 * An honest switch: its label and the mode beside it say what it does in every mode; each
 * paused state is one plain sentence with its one-click fix; a job stopped for the owner reads
 * as stopped, not failed. Chromium against the real worker core (stack.ts), the owner moved by
 * the signals the sharing policy reads.
 */
import { expect, type Page } from '@playwright/test';
import { testWithStack } from './fixtures.js';
import { startUiStack, type UiStack } from './stack.js';

const test = testWithStack(startUiStack, 90_000);

async function open(page: Page, stack: UiStack): Promise<void> {
  await page.goto(stack.tokenUrl);
  await expect(page.getByRole('switch')).toBeVisible();
}

test('the label and the mode beside the switch follow the mode; a pause offers its fix', async ({ stack, page, errors }) => {
  stack.signals.idleSeconds = 3600;
  await open(page, stack);
  const toggle = page.getByRole('switch');
  if ((await toggle.getAttribute('aria-checked')) === 'true') await toggle.click();
  await expect(page.getByRole('switch', { name: 'Share GPU when idle' })).toHaveAttribute('aria-checked', 'false');
  await page.getByRole('switch', { name: 'Share GPU when idle' }).click();
  await expect(page.getByTestId('sharing-mode')).toHaveText('Mode: When idle');
  await expect(page.getByTestId('sharing-summary')).toHaveText(/^Sharing: you have been away \d+ (min|h).*\.$/);

  // The owner comes back: one sentence, and the click that keeps sharing while they work.
  stack.signals.idleSeconds = 2;
  await expect(page.getByTestId('sharing-summary')).toHaveText('Paused while you use this PC. Sharing starts after 5 min without keyboard or mouse.');
  await page.getByRole('button', { name: 'Share politely while I work' }).click();
  await expect(page.getByRole('switch', { name: 'Share GPU politely' })).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByTestId('sharing-mode')).toHaveText('Mode: Polite');
  await expect(page.getByTestId('sharing-summary')).toHaveText('Sharing within your polite limits while you use this PC.');
  expect(stack.core.sharing.snapshot().mode).toBe('polite');

  // Always, chosen in Settings and saved: the switch says so.
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  await page.getByRole('radio', { name: /^Always/ }).check();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByText('Saved.')).toBeVisible();
  await page.getByRole('button', { name: 'Dashboard', exact: true }).click();
  await expect(page.getByRole('switch', { name: 'Share GPU always' })).toHaveAttribute('aria-checked', 'true');
  await expect(page.getByTestId('sharing-mode')).toHaveText('Mode: Always');
  // Off keeps saying what it would turn back on.
  await page.getByRole('switch', { name: 'Share GPU always' }).click();
  await expect(page.getByRole('switch', { name: 'Share GPU always' })).toHaveAttribute('aria-checked', 'false');
  await expect(page.getByTestId('sharing-summary')).toHaveText('Sharing is off. Turn it on to earn while you are away.');
  expect(errors).toEqual([]);
});

test('a job stopped because the owner came back reads as stopped for them, not failed', async ({ stack, page, errors }) => {
  test.setTimeout(90_000);
  stack.signals.idleSeconds = 3600;
  await open(page, stack);
  await stack.attached.services.handlers.setSharingMode({ mode: 'idle' });
  await expect.poll(() => stack.core.engine.info !== undefined && stack.core.worker.link.connected && stack.core.sharing.currentDecision.share, { timeout: 30_000 }).toBe(true);
  // A long answer, so the owner is back while it is being written (asked again until the coordinator routes it).
  let answer = stack.chat('abc', 2000);
  let settled = false;
  const watch = (pending: typeof answer) => void pending.then(() => (settled = true), () => (settled = true));
  watch(answer);
  await expect
    .poll(
      () => {
        if (stack.core.worker.activeJobs === 0 && settled) {
          settled = false;
          answer = stack.chat('abc', 2000);
          watch(answer);
        }
        return stack.core.worker.activeJobs;
      },
      { timeout: 30_000 },
    )
    .toBe(1);
  stack.signals.idleSeconds = 1;
  await expect(page.getByText(/^Last: stopped .* so you could use the GPU; the network finished it elsewhere$/)).toBeVisible({ timeout: 20_000 });
  await expect(page.locator('main')).not.toContainText('failed');
  await answer.catch(() => undefined);
  expect(errors).toEqual([]);
});
