#!/usr/bin/env -S node --max-semi-space-size=2
// The `silkworm` command. Runs the compiled JavaScript in dist/node (built by `npm ci` through
// the `prepare` script) while that build is newer than every TypeScript source; otherwise (a
// source was edited since, or there is no build) it runs the sources through tsx, so a checkout
// never runs stale code. The compiled path keeps an idle worker small: tsx's loader alone costs
// ~30 MB. SILKWORM_FROM_SOURCE=1 forces the sources.
// The flag on the first line caps V8's young generation (default 16 MB a semi-space, grown
// during start-up and never given back): an idle `silkworm worker` then keeps ~30 MB less.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_DIRS = ['cli', 'main', 'network', 'native'];

/** The newest modification time of a .ts file under `dir` (0 when there is none). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'build' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function compiledIsFresh() {
  if (process.env.SILKWORM_FROM_SOURCE === '1') return false;
  try {
    const built = statSync(join(root, 'dist/node/.built')).mtimeMs;
    return SOURCE_DIRS.every((dir) => newestSource(join(root, dir)) < built);
  } catch {
    return false;
  }
}

let entry;
if (compiledIsFresh()) {
  entry = new URL('../dist/node/cli/index.js', import.meta.url).href;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../cli/index.ts', import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
