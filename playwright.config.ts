// Playwright: the desktop app's UI in Chromium against the real worker core, served by the
// headless dashboard (e2e/ui/*.spec.ts), plus the Electron app itself where its binary exists.
// Run: npx playwright test   (Chromium from CHROMIUM_PATH, default /usr/bin/chromium)
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'e2e/ui',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/ui',
  globalSetup: './e2e/ui/global-setup.ts',
  fullyParallel: false,
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: process.env.CI ? [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]] : 'list',
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 860 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'],
    },
  },
});
