/**
 * Light: the JavaScript a cold load fetches before the Dashboard is interactive stays within the
 * issue's budget of 250 KB gzipped, the charts come later (their own chunk, not on the critical
 * path), and the dashboard answers compressed.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from '@playwright/test';
import { DEFAULT_STATIC_DIR } from '../../main/dashboard/server.js';
import { testWithStack } from './fixtures.js';
import { measureFirstLoad } from './first-load.js';
import { startUiStack } from './stack.js';

const test = testWithStack(startUiStack, 90_000);

const BUDGET_KB_GZ = 250;

test(`JS before the Dashboard is interactive ≤ ${BUDGET_KB_GZ} KB gzipped; charts split out; responses compressed`, async ({ stack, browser }) => {
  const load = await measureFirstLoad(browser, stack.tokenUrl);
  test.info().annotations.push({ type: 'first load', description: `${load.gzipKb} KB gzipped (${load.transferredKb} KB transferred) in ${load.scripts.length} scripts; interactive at ${load.interactiveMs} ms` });
  expect(load.scripts.length).toBeGreaterThan(0);
  expect(load.gzipKb).toBeLessThanOrEqual(BUDGET_KB_GZ);
  // The charts are a chunk of their own in the build, and not one the Dashboard waits for.
  const chunks = await readdir(join(DEFAULT_STATIC_DIR, 'assets'));
  expect(chunks.some((name) => /chart.*\.js$/.test(name))).toBe(true);
  expect(load.scripts.map((script) => script.path).join(' ')).not.toMatch(/chart/);
  // Compressed on the wire: fewer bytes arrived than the scripts gzip to (Chromium asks for brotli).
  expect(load.transferredKb).toBeLessThanOrEqual(load.gzipKb);

  const index = load.scripts[0]?.path ?? '';
  const plain = await fetch(new URL(index, stack.tokenUrl), { headers: { 'accept-encoding': 'identity' } });
  const gzipped = await fetch(new URL(index, stack.tokenUrl), { headers: { 'accept-encoding': 'gzip' } });
  expect(plain.headers.get('content-encoding')).toBeNull();
  expect(gzipped.headers.get('content-encoding')).toBe('gzip');
});
