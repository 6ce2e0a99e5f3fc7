/** What the job process may still read once locked down: the app's own code and dependencies. */
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/**
 * The application root (its code and node_modules, read lazily by imports after lockdown) and,
 * in development, tsx's compile cache. Nothing here holds user data.
 */
export function appReadPaths(): string[] {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const paths = [join(root, 'node_modules'), join(root, 'main'), join(root, 'network'), join(root, 'native'), join(root, 'package.json')];
  if (import.meta.url.endsWith('.ts')) paths.push(join(tmpdir(), `tsx-${process.getuid?.() ?? 0}`));
  return paths;
}
