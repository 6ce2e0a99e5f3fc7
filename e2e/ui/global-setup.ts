// Builds the renderer once before the UI tests, so they never run against a stale bundle.
import { build } from 'vite';

/** Playwright global setup. */
export default async function globalSetup(): Promise<void> {
  await build({ configFile: new URL('../../vite.config.ts', import.meta.url).pathname, logLevel: 'warn' });
}
