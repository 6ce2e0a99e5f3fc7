/** What the job process may still read once locked down: the app's own code and dependencies. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appRoot, codeRoot } from '../app-root.js';

/**
 * The application root (its code and node_modules, read lazily by imports after lockdown) and,
 * in development, tsx's compile cache. Nothing here holds user data.
 */
export function appReadPaths(): string[] {
  const root = appRoot();
  const code = codeRoot();
  const paths = [join(root, 'node_modules'), join(root, 'package.json'), join(code, 'main'), join(code, 'network'), join(code, 'native')];
  if (import.meta.url.endsWith('.ts')) paths.push(join(tmpdir(), `tsx-${process.getuid?.() ?? 0}`));
  return paths;
}
