// Runs every *.test.ts in the repository with Node's own test runner (TypeScript through tsx).
// `npm test` runs them all; `npm test -- path/a.test.ts path/b` runs only the given files or folders.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const skipDirs = new Set(['node_modules', '.git', 'dist', 'out', 'build', 'test-results']);

function collect(path, found) {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (path.endsWith('.test.ts')) found.push(path);
    return found;
  }
  for (const entry of readdirSync(path)) {
    if (!skipDirs.has(entry)) collect(join(path, entry), found);
  }
  return found;
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ['.']).flatMap((t) => collect(join(root, t), [])).sort();
if (files.length === 0) {
  console.error('No test files found.');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
