// `npm test`: every *.test.ts with Node's test runner (TypeScript through tsx), then the UI in
// Chromium with Playwright (e2e/ui/*.spec.ts) against the renderer built by vite.
// `npm test -- path/a.test.ts path/b` runs only the given files or folders (node tests only).
// Unit test files run two at a time (each is one process, mostly busy on one core); the e2e files,
// which start networks of processes and time them, one at a time; the soak last and alone: its
// faults and timings must not share the machine with another test file. Node's own default
// follows the core count it sees, which on a shared host can be far more than the cores it gets.
// SILKWORM_TEST_CONCURRENCY overrides the unit files' figure.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
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

function run(command, args) {
  return spawnSync(command, args, { cwd: root, stdio: 'inherit' }).status ?? 1;
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ['.']).flatMap((t) => collect(join(root, t), [])).sort();
if (files.length === 0) {
  console.error('No test files found.');
  process.exit(1);
}
const SOLO = new Set(['e2e/soak.test.ts']);
const unitConcurrency = Number(process.env.SILKWORM_TEST_CONCURRENCY ?? Math.min(2, availableParallelism()));
const names = files.map((f) => relative(root, f));
// A test that waits for something that never comes fails after this long, instead of holding
// the whole run (the longest test, the soak, takes about two minutes).
const TEST_TIMEOUT_MS = 5 * 60_000;
const nodeTests = (batch, concurrency) => {
  if (batch.length === 0) return 0;
  const started = performance.now();
  const status = run(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${TEST_TIMEOUT_MS}`, '--test-reporter=spec', ...batch]);
  console.log(`test files: ${batch.length} in ${((performance.now() - started) / 1000).toFixed(0)} s (${concurrency} at a time), exit status ${status}`);
  return status;
};
const isE2e = (n) => n.startsWith('e2e/');
const statuses = [
  nodeTests(names.filter((n) => !isE2e(n)), unitConcurrency),
  nodeTests(names.filter((n) => isE2e(n) && !SOLO.has(n)), 1),
  nodeTests(names.filter((n) => SOLO.has(n)), 1),
];
const nodeStatus = statuses.find((s) => s !== 0) ?? 0;
if (targets.length > 0) process.exit(nodeStatus);

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let uiStatus = 0;
if (!existsSync(chromium)) {
  console.log(`skipped: UI tests (Playwright) — Chromium not found at ${chromium}; install it (apt-get install chromium) or set CHROMIUM_PATH. .ci/run installs it.`);
} else {
  const bin = (name) => join(root, 'node_modules', '.bin', name);
  uiStatus = run(bin('vite'), ['build', '--logLevel', 'warn']) || run(bin('playwright'), ['test']);
}
process.exit(nodeStatus || uiStatus);
