/**
 * UI benchmark: cold loads of the dashboard in Chromium against a local worker — the real
 * `silkworm worker --dashboard` process on a generated test model, with its coordinator — each in
 * a fresh browser context (empty cache). Figures, median of 5 with their spread:
 *   - `ui_first_load_kb_gz`: the JavaScript fetched before the Dashboard is interactive, gzipped
 *     (level 9, as the dashboard server answers a gzip client); target ≤ 250 KB;
 *   - `ui_dashboard_interactive_ms`: navigation start → the share switch rendered from the
 *     worker's live state and enabled, on the page's own clock.
 * It measures the built renderer in dist/renderer (`npx vite build`, which `npm ci` runs too).
 * In `npm run bench` as the `ui` section; alone: node --import tsx bench/ui.ts [--loads N]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { chromium } from '@playwright/test';
import { DEFAULT_STATIC_DIR } from '../main/dashboard/server.js';
import { measureFirstLoad, type FirstLoad } from '../e2e/ui/first-load.js';
import { startProcessStack } from '../e2e/ui/process-stack.js';
import { describeLoad } from './device.js';
import type { ResultValue, Section } from './section.js';
import { median, range, round, spread } from './stats.js';
import { formatTable, type Table } from './table.js';

const TARGET_KB_GZ = 250;
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'];

/** How many cold loads to take. */
export interface UiBenchOptions {
  /** Cold loads (default 5). */
  loads?: number;
}

/** The UI section: `npm run bench -- --only ui`. */
export function uiSection(options: UiBenchOptions = {}): Section {
  return {
    name: 'ui',
    summary: `dashboard in Chromium, median of ${options.loads ?? 5} cold loads: JS before interactive (KB gzipped), ms to interactive`,
    run: async () => {
      const { table, results } = await measureUi(options);
      return { tables: [table], results };
    },
  };
}

/** Starts a local worker, loads its dashboard cold `loads` times, and returns the table and figures. */
export async function measureUi(options: UiBenchOptions = {}): Promise<{ table: Table; results: Record<string, ResultValue> }> {
  const count = options.loads ?? 5;
  if (!existsSync(join(DEFAULT_STATIC_DIR, 'index.html'))) throw new Error(`no built renderer in ${DEFAULT_STATIC_DIR}: run npx vite build first`);
  const stack = await startProcessStack();
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const loads: FirstLoad[] = [];
    for (let i = 0; i < count; i++) loads.push(await measureFirstLoad(browser, stack.tokenUrl));
    const kb = loads.map((load) => load.gzipKb);
    const transferred = loads.map((load) => load.transferredKb);
    const ms = loads.map((load) => load.interactiveMs);
    const results = {
      ui_first_load_kb_gz: round(median(kb), 1),
      ui_first_load_kb_gz_min: round(range(kb).min, 1),
      ui_first_load_kb_gz_max: round(range(kb).max, 1),
      ui_dashboard_interactive_ms: round(median(ms), 0),
      ui_dashboard_interactive_ms_min: round(range(ms).min, 0),
      ui_dashboard_interactive_ms_max: round(range(ms).max, 0),
      ui_cold_loads: count,
    };
    const later = [...new Set(loads.flatMap((load) => load.laterScripts))];
    const table: Table = {
      title: `ui: the dashboard of a local \`silkworm worker --dashboard\` in Chromium, ${count} cold loads (fresh context each)`,
      columns: ['measure', 'median (min–max)', 'target'],
      rows: [
        ['JS before the Dashboard is interactive, gzipped', `${spread(kb, 1)} KB`, `≤ ${TARGET_KB_GZ} KB → ${median(kb) <= TARGET_KB_GZ ? 'met' : 'MISSED'}`],
        ['the same, as transferred (Chromium negotiates brotli)', `${spread(transferred, 1)} KB`, ''],
        ['navigation start → Dashboard interactive (switch enabled)', `${spread(ms, 0)} ms`, ''],
      ],
      notes: [
        `scripts before interactive: ${[...new Set(loads.flatMap((load) => load.scripts.map((script) => script.path)))].join(', ')}`,
        `fetched later (lazy): ${later.length ? later.join(', ') : 'none'}`,
        'interactive = the share switch rendered from the worker\'s live state and enabled, timed by the page (performance.now)',
        `Chromium ${browser.version()} headless, loopback; load average ${describeLoad()} after the section`,
      ],
    };
    return { table, results };
  } finally {
    await browser.close();
    await stack.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { loads: { type: 'string', default: '5' } } });
  const { table, results } = await measureUi({ loads: Number(values.loads) });
  console.log(formatTable(table));
  console.log(JSON.stringify(results));
}
