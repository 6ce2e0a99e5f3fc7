/**
 * The Models screen in Chromium against a real stack (models-stack.ts): the catalog with fit
 * verdicts, Download with a live progress bar that reaches done, "Use this model" switching the
 * model the worker serves (checked through the coordinator), no console errors, screenshots.
 */
import { expect, type Page } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testWithStack } from './fixtures.js';
import { startModelsStack, type ModelsStack } from './models-stack.js';
import { DEMO_BENCH_MODEL_ID } from '../../main/models/catalog-demo.js';
import { successorText } from '../../main/models/test-model.js';

const test = testWithStack(startModelsStack, 90_000);

async function openModels(page: Page, stack: ModelsStack): Promise<void> {
  await page.goto(stack.tokenUrl);
  await page.getByRole('button', { name: 'Models', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Models' })).toBeVisible();
}

test('download, progress, then "Use this model" switches what the worker serves', async ({ stack, page, errors }, testInfo) => {
  test.setTimeout(90_000);
  await openModels(page, stack);
  const tiny = page.getByTestId('catalog-silkworm-test');
  const bench = page.getByTestId(`catalog-${DEMO_BENCH_MODEL_ID}`);
  await expect(tiny.getByText('Serving')).toBeVisible();
  await expect(bench.getByText('Silkworm test model (bench)')).toBeVisible();
  await expect(bench.getByText('F16')).toBeVisible();
  await expect(bench.getByText('2,048 tokens')).toBeVisible();
  // No GPU telemetry in this stack: the verdict is honest about it.
  await expect(bench.getByText(stack.core.engineInfo.gpu === 'cpu' ? 'CPU only (slow)' : 'Fit unknown', { exact: true })).toBeVisible();
  await expect(bench.getByTestId('fit-summary')).toContainText(/^Needs ~0\.\d+ of [\d.]+ GB of (system|GPU) memory/);
  await expect(page.getByText(/Compared with this PC:/)).toBeVisible();

  await bench.getByRole('button', { name: /^Download/ }).click();
  const bar = bench.getByRole('progressbar', { name: /Downloading Silkworm test model \(bench\)/ });
  await expect(bar).toBeVisible();
  await expect(bench.getByText(/ of 6\.\d+ MB/)).toBeVisible();
  // The bar moves as bytes arrive (the mirror sends ~2 MB/s).
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 10_000 }).toBeGreaterThan(10);
  await expect(bench.getByText(/MB\/s/)).toBeVisible();
  const shot = testInfo.outputPath('models-downloading.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('Models: downloading', { path: shot, contentType: 'image/png' });
  await expect(bar).toBeHidden({ timeout: 20_000 });
  await expect(bench.getByText('Downloaded')).toBeVisible();

  const use = bench.getByRole('button', { name: 'Use this model' });
  await use.focus();
  await page.keyboard.press('Enter');
  await expect(bench.getByText('Serving')).toBeVisible({ timeout: 30_000 });
  await expect(tiny.getByRole('button', { name: /^Download|Use this model/ })).toBeVisible();

  // Through the coordinator: the bench model is served (same predictable text), the tiny one no longer.
  await expect.poll(async () => (await stack.chat(DEMO_BENCH_MODEL_ID, 'abc', 8)).text, { timeout: 15_000 }).toBe(successorText('abc', 8));
  expect((await stack.chat('silkworm-test', 'abc', 4)).status).toBe(404);
  const stored = JSON.parse(await readFile(join(stack.dataDir, 'app-settings.json'), 'utf8')) as { modelPath?: string };
  expect(stored.modelPath).toBe(join(stack.dataDir, 'models', `${DEMO_BENCH_MODEL_ID}.gguf`));

  const done = testInfo.outputPath('models-switched.png');
  await page.screenshot({ path: done, fullPage: true });
  await testInfo.attach('Models: switched', { path: done, contentType: 'image/png' });
  expect(errors).toEqual([]);
});

test('the screen renders in the dark theme too, without console errors', async ({ stack, page, errors }, testInfo) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await openModels(page, stack);
  await expect(page.getByTestId(`catalog-${DEMO_BENCH_MODEL_ID}`)).toBeVisible();
  await expect(page.getByRole('status', { name: 'Loading' })).toHaveCount(0);
  const path = testInfo.outputPath('models-dark.png');
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach('Models (dark)', { path, contentType: 'image/png' });
  expect(errors).toEqual([]);
});

test('a coordinator that cannot be reached is said plainly, with a retry (runs last: it stops the coordinator)', async ({ stack, page, errors }) => {
  await openModels(page, stack);
  await expect(page.getByTestId(`catalog-${DEMO_BENCH_MODEL_ID}`)).toBeVisible();
  await stack.stopCoordinator();
  await page.reload();
  await page.getByRole('button', { name: 'Models', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: /Cannot reach the coordinator at http:\/\/127\.0\.0\.1:\d+ to read its model catalog/ })).toBeVisible();
  // What is installed here is still listed: it does not depend on the coordinator.
  await expect(page.getByRole('region', { name: 'Installed' }).getByRole('listitem').first()).toContainText(/silkworm-test/);
  const retry = page.getByRole('button', { name: 'Try again' });
  await retry.click();
  await expect(page.getByRole('alert').filter({ hasText: 'Cannot reach the coordinator' })).toBeVisible();
  expect(errors).toEqual([]);
});
