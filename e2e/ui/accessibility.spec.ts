/**
 * axe-core over every screen of the app, in the light and the dark theme: no violation of the
 * WCAG 2.x A/AA rules axe checks (contrast, names, roles, landmarks…), with Earnings' Advanced
 * section open so its tables are checked too. A violation is printed with its nodes.
 */
import { expect } from '@playwright/test';
import { testWithStack } from './fixtures.js';
import { violations } from './axe.js';
import { startUiStack } from './stack.js';

const test = testWithStack(startUiStack, 90_000);

const SCREENS = ['Dashboard', 'Earnings', 'Wallet', 'Models', 'Settings', 'Diagnostics'] as const;


for (const scheme of ['light', 'dark'] as const) {
  test(`no axe violation on any screen, ${scheme} theme`, async ({ stack, page, errors }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(stack.tokenUrl);
    await expect(page.getByRole('switch')).toBeVisible();
    for (const screen of SCREENS) {
      await page.getByRole('button', { name: screen, exact: true }).click();
      await expect(page.getByRole('heading', { level: 1, name: screen })).toBeVisible();
      // Wait for the screen's data, not just its frame: no loading placeholder left.
      await expect(page.locator('[aria-busy="true"]:not([role="switch"])')).toHaveCount(0);
      if (screen === 'Earnings') {
        const advanced = page.getByText('Advanced', { exact: true });
        if (await advanced.count()) await advanced.click();
      }
      expect(await violations(page), `${screen}, ${scheme} theme`).toEqual([]);
    }
    expect(errors.filter((text) => !text.includes('status of 4'))).toEqual([]);
  });
}
