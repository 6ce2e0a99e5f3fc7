/**
 * Where the app lives on disk. Code runs from three layouts — the TypeScript sources in a
 * checkout, the compiled JavaScript under `dist/` (`silkworm` and the Electron main), and a
 * packaged app — so "two folders up" is not a fixed place: the app root is the nearest folder
 * above the running code that holds Silkworm's own package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

function isAppRoot(dir: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'silkworm';
  } catch {
    return false;
  }
}

/** The folder holding Silkworm's package.json (and node_modules, in a checkout). */
export function appRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (isAppRoot(dir)) return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Silkworm's package.json was not found above ${fileURLToPath(import.meta.url)}.`);
    dir = parent;
  }
}

/** The folder the running code was loaded from: the checkout's root for sources, or `dist/…` when compiled. */
export function codeRoot(): string {
  return fileURLToPath(new URL('..', import.meta.url));
}
