/** Accessibility checks the UI specs share. */
import type { Page } from '@playwright/test';
import { AxeBuilder } from '@axe-core/playwright';

/** The violations axe finds on the page as it is, in a form that reads well in a failure. */
export async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return result.violations.map((violation) => `${violation.id} (${violation.impact ?? 'unknown'}): ${violation.help} — ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}
