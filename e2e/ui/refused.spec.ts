/**
 * A worker the network refuses, in Chromium against the real worker core and a real
 * coordinator: after its identity is ejected, the coordinator refuses each new hello with
 * `worker_ejected`, and the page says so in plain words, with what the owner can do, instead of
 * "Reconnecting…" forever; once the operator takes the identity back, the next try is welcomed.
 */
import { expect } from '@playwright/test';
import { testWithStack } from './fixtures.js';
import { startUiStack } from './stack.js';

const test = testWithStack(startUiStack, 90_000);

test('a worker the network ejected: the Dashboard and Diagnostics say so, and what to check; taken back, it is online again', async ({ stack, page, errors }) => {
  await page.goto(stack.tokenUrl);
  await expect(page.getByText('Online', { exact: true })).toBeVisible();
  const { workerId } = stack.core;
  // Three failed checks of its answers, as spot checks or probes record them; then its connection goes.
  for (let strike = 0; strike < 3; strike++) stack.coordinator.store.recordWorkerEvent(workerId, 'verify_failed', Date.now());
  expect(stack.coordinator.store.workerRecord(workerId)?.ejectedAt).not.toBeNull();
  stack.coordinator.registry.get(workerId)?.close(4008, 'worker_ejected');

  await expect(page.getByText('Refused', { exact: true })).toBeVisible({ timeout: 10_000 });
  await expect(page.getByText('Refused by the network')).toBeVisible();
  const refusal = page.getByTestId('refusal');
  await expect(refusal).toContainText('Answers from this PC failed the network’s checks three times');
  await expect(refusal).toContainText('undo any overclock');
  await expect(refusal).toContainText('The network said: “This worker failed too many checks of its answers');
  await expect(page.getByText('Reconnecting to the network…')).toHaveCount(0);

  await page.getByRole('button', { name: 'Diagnostics', exact: true }).click();
  await expect(page.locator('main')).toContainText('The network no longer accepts this PC');

  // The owner fixed the card and the operator took the identity back: the app's next try is welcomed.
  expect(stack.coordinator.store.reinstateWorker(workerId)?.strikes).toBe(0);
  await page.getByRole('button', { name: 'Dashboard', exact: true }).click();
  await expect(page.getByText('Online', { exact: true })).toBeVisible({ timeout: 10_000 });
  await expect(page.getByTestId('refusal')).toHaveCount(0);
  expect(errors).toEqual([]);
});
