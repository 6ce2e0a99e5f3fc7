/**
 * The real desktop app through Playwright's `_electron`: the window, the bridge, the
 * hardening, the share switch. Needs the Electron binary (not downloadable on the project's
 * build machines) and the compiled app (`node build/compile.mjs app`, both vite builds);
 * where the binary is missing every test reports itself skipped with the reason.
 */
import { test as base, expect, _electron as electron, type ElectronApplication, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startUiStack, type UiStack } from './stack.js';

const SKIP_REASON = 'skipped: Electron binary not installed';

/** The Electron executable, or null where `npm install electron` could not fetch it. */
function electronBinary(): string | null {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown;
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

const binary = electronBinary();

const test = base.extend<{ requireElectron: void; app: { electronApp: ElectronApplication; window: Page } }, { stack: UiStack }>({
  // Runs before any other fixture, so a machine without Electron starts nothing and says why.
  requireElectron: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from this pattern
    async ({}, use, testInfo) => {
      if (binary === null) {
        console.log(SKIP_REASON);
        testInfo.skip(true, SKIP_REASON);
      }
      await use();
    },
    { auto: true },
  ],
  stack: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from this pattern
    async ({}, use) => {
      const stack = await startUiStack();
      await use(stack);
      await stack.stop();
    },
    { scope: 'worker', timeout: 90_000 },
  ],
  app: async ({ stack }, use, testInfo) => {
    const electronApp = await electron.launch({
      executablePath: binary ?? undefined,
      args: ['.', `--user-data-dir=${testInfo.outputPath('user-data')}`],
      env: { ...process.env, SILKWORM_COORDINATOR: stack.coordinator.url, SILKWORM_MODEL: stack.modelPath, SILKWORM_NETWORK: 'testnet' },
    });
    const window = await electronApp.firstWindow();
    await use({ electronApp, window });
    await electronApp.close();
  },
});

test('the window shows the app from app:// with the share switch', async ({ app }) => {
  const { window } = app;
  await expect(window.getByRole('switch', { name: 'Share GPU when idle' })).toBeVisible();
  expect(window.url()).toMatch(/^app:\/\/silkworm\//);
});

test('the renderer has window.api with the contract verbs and no Node', async ({ app }) => {
  const facts = await app.window.evaluate(() => {
    const scope = globalThis as unknown as { api: object; require?: unknown; process?: unknown };
    return { verbs: Object.keys(scope.api).sort(), require: typeof scope.require, process: typeof scope.process };
  });
  expect(facts.verbs).toContain('setSharingMode');
  expect(facts.verbs).toContain('on');
  expect(facts.require).toBe('undefined');
  expect(facts.process).toBe('undefined');
});

test('navigation away and new windows are refused', async ({ app }) => {
  const { electronApp, window: page } = app;
  await page.evaluate(() => {
    (globalThis as unknown as { location: { href: string } }).location.href = 'https://example.com/';
  });
  await page.waitForTimeout(500);
  expect(page.url()).toMatch(/^app:\/\/silkworm\//);
  const opened = await page.evaluate(() => (globalThis as unknown as { open(url: string): unknown }).open('https://example.com/') === null);
  expect(opened).toBe(true);
  expect(electronApp.windows()).toHaveLength(1);
});

test('flipping the switch changes the worker’s sharing state', async ({ app }) => {
  const toggle = app.window.getByRole('switch', { name: 'Share GPU when idle' });
  const before = await toggle.getAttribute('aria-checked');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-checked', before === 'true' ? 'false' : 'true');
});
