/**
 * A worker whose answers fail the network's checks, in Chromium against the real worker core and
 * a real coordinator: each failed check reaches the app (`check_failed`) and the page warns with
 * the strike count; once its identity is ejected, the coordinator refuses each new hello with
 * `worker_ejected`, and the page says so in plain words, with what the owner can do, instead of
 * "Reconnecting…" forever; once the operator takes the identity back, the next try is welcomed.
 */
import { expect } from '@playwright/test';
import { testWithStack } from './fixtures.js';
import { startUiStack } from './stack.js';
import { violations } from './axe.js';

const test = testWithStack(startUiStack, 90_000);

test('a worker whose answers fail the network’s checks: warned at each strike, told when ejected, online again when taken back', async ({ stack, page, errors }) => {
  await page.goto(stack.tokenUrl);
  await expect(page.getByText('Online', { exact: true })).toBeVisible();
  const { workerId } = stack.core;
  // A failed check of its answers, recorded as a spot check or a probe records it: the owner is told at once.
  stack.coordinator.standing.record(workerId, 'verify_failed');
  const warning = page.getByTestId('failed-check');
  await expect(warning).toContainText('This is strike 1 of 3: 2 more and the network stops accepting this PC', { timeout: 10_000 });
  await expect(warning).toContainText('undo any overclock');
  await expect(page.getByText('Online', { exact: true })).toBeVisible();
  expect(await violations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Diagnostics', exact: true }).click();
  await expect(page.locator('main')).toContainText('An answer from this PC failed the network’s check');
  await page.getByRole('button', { name: 'Dashboard', exact: true }).click();
  // Two more: ejected, and the connection goes.
  stack.coordinator.standing.record(workerId, 'verify_failed');
  stack.coordinator.standing.record(workerId, 'verify_failed');

  await expect(page.getByText('Refused', { exact: true })).toBeVisible({ timeout: 10_000 });
  await expect(page.getByText('Refused by the network')).toBeVisible();
  const refusal = page.getByTestId('refusal');
  await expect(refusal).toContainText('Answers from this PC failed the network’s checks three times');
  await expect(refusal).toContainText('undo any overclock');
  await expect(refusal).toContainText('The network said: “This worker failed too many checks of its answers');
  await expect(page.getByTestId('refused-worker-id')).toHaveText(workerId, { useInnerText: true });
  await expect(page.getByText('Reconnecting to the network…')).toHaveCount(0);
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    expect(await violations(page), `${scheme} theme`).toEqual([]);
  }
  await expect(warning).toHaveCount(0, { timeout: 1_000 });
  expect(stack.coordinator.store.workerRecord(workerId)?.ejectedAt).not.toBeNull();

  await page.getByRole('button', { name: 'Diagnostics', exact: true }).click();
  await expect(page.locator('main')).toContainText('The network no longer accepts this PC');

  // The owner fixed the card and the operator took the identity back: the app's next try is welcomed.
  expect(stack.coordinator.store.reinstateWorker(workerId)?.strikes).toBe(0);
  await page.getByRole('button', { name: 'Dashboard', exact: true }).click();
  await expect(page.getByText('Online', { exact: true })).toBeVisible({ timeout: 10_000 });
  await expect(page.getByTestId('refusal')).toHaveCount(0);
  await expect(warning).toHaveCount(0, { timeout: 1_000 });
  expect(errors).toEqual([]);
});
