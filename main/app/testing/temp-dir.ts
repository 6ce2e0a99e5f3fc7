/**
 * Temporary folders for tests, removed when the test process exits, however its tests ended
 * (a folder per test otherwise piles up in the system's temp folder, run after run).
 * Test support only.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

/** A new empty folder under the system's temp folder, named `prefix` and six random characters. */
export async function testTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (made.size === 0) process.once('exit', () => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
  made.add(dir);
  return dir;
}
