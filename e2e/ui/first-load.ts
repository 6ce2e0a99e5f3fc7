/**
 * One cold load of the dashboard in Chromium, measured: how long until the Dashboard is
 * interactive (its share switch rendered from the worker's live state and enabled), and the
 * JavaScript the page fetched before that moment. Used by the weight spec (the ≤ 250 KB gzipped
 * budget) and by the bench's `ui` section (median of cold loads).
 *
 * "Cold": a fresh browser context each time (empty HTTP cache, no service worker). The
 * gzipped size is each script's body gzipped at level 9, exactly as the dashboard server answers
 * a gzip-only client; `transferredKb` is what Chromium itself fetched (brotli, as it asks for it).
 */
import { gzipSync } from 'node:zlib';
import type { Browser, Response } from '@playwright/test';

/** What one cold load measured. */
export interface FirstLoad {
  /** Navigation start → the Dashboard's switch enabled, from the page's own clock. */
  interactiveMs: number;
  /** The scripts fetched before that moment, by path, with their gzipped size in bytes. */
  scripts: { path: string; gzipBytes: number; transferredBytes: number }[];
  /** Their total, gzipped at level 9, in KB (1 KB = 1,000 bytes). */
  gzipKb: number;
  /** Their total as transferred (the encoding Chromium negotiated), in KB. */
  transferredKb: number;
  /** Scripts fetched after the Dashboard was interactive (lazy chunks such as the charts). */
  laterScripts: string[];
}

/** Marks the first moment a page shows an enabled share switch, on the page's own clock. */
const MARK_INTERACTIVE = `(() => {
  const check = () => {
    const toggle = document.querySelector('[role="switch"]');
    if (toggle && !toggle.disabled && window.__interactiveAt === undefined) window.__interactiveAt = performance.now();
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
})();`;

/** Loads `url` once in a fresh context of `browser` and measures it. */
export async function measureFirstLoad(browser: Browser, url: string): Promise<FirstLoad> {
  const context = await browser.newContext({ serviceWorkers: 'block' });
  try {
    const page = await context.newPage();
    await page.addInitScript(MARK_INTERACTIVE);
    const responses: Response[] = [];
    page.on('response', (response) => {
      if (response.request().resourceType() === 'script') responses.push(response);
    });
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as unknown as { __interactiveAt?: number }).__interactiveAt !== undefined);
    const timing = await page.evaluate(() => ({
      interactiveAt: (globalThis as unknown as { __interactiveAt: number }).__interactiveAt,
      // When each script finished arriving, on the same clock.
      ends: (performance.getEntriesByType('resource') as unknown as { name: string; responseEnd: number }[]).map((entry) => ({ url: entry.name, end: entry.responseEnd })),
    }));
    const scripts: FirstLoad['scripts'] = [];
    const laterScripts: string[] = [];
    for (const response of responses) {
      const end = timing.ends.find((entry) => entry.url === response.url())?.end;
      const path = new URL(response.url()).pathname;
      if (end === undefined || end > timing.interactiveAt) {
        laterScripts.push(path);
        continue;
      }
      const body = await response.body();
      const sizes = await response.request().sizes();
      scripts.push({ path, gzipBytes: gzipSync(body, { level: 9 }).length, transferredBytes: sizes.responseBodySize });
    }
    const kb = (bytes: number) => Math.round(bytes / 10) / 100;
    return {
      interactiveMs: Math.round(timing.interactiveAt),
      scripts,
      gzipKb: kb(scripts.reduce((sum, script) => sum + script.gzipBytes, 0)),
      transferredKb: kb(scripts.reduce((sum, script) => sum + script.transferredBytes, 0)),
      laterScripts,
    };
  } finally {
    await context.close();
  }
}
