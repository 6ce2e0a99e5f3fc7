/** Playwright fixtures the UI specs share: a stack started once per worker, and the page's errors. */
import { test as base, type TestType, type PlaywrightTestArgs, type PlaywrightTestOptions, type PlaywrightWorkerArgs, type PlaywrightWorkerOptions } from '@playwright/test';

/** A running stack a spec can stop. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * `test` with a worker-scoped `stack` (started by `start`, stopped after the spec) and an
 * `errors` list collecting the page's console errors and uncaught exceptions.
 */
export function testWithStack<S extends Stoppable>(
  start: () => Promise<S>,
  timeoutMs: number,
): TestType<PlaywrightTestArgs & PlaywrightTestOptions & { errors: string[] }, PlaywrightWorkerArgs & PlaywrightWorkerOptions & { stack: S }> {
  return base.extend<{ errors: string[] }, { stack: S }>({
    stack: [
      // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from this pattern
      async ({}, use) => {
        const stack = await start();
        await use(stack);
        await stack.stop();
      },
      { scope: 'worker', timeout: timeoutMs },
    ],
    errors: async ({ page }, use) => {
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(error.message));
      await use(errors);
    },
  });
}
