// Compiles the TypeScript that runs outside the browser (same layout as the source) and copies
// the sandbox addon next to its loader:
//   node build/compile.mjs app  → dist/app/   what Electron runs: main process and job process
//   node build/compile.mjs cli  → dist/node/  the `silkworm` command and its job process; run by
//                                 bin/silkworm.mjs while it is newer than every source file
// Then the UI bundles (vite) and electron-builder package dist/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGETS = {
  app: { project: 'main/electron/tsconfig.build.json', out: 'dist/app', what: 'main process, job process' },
  cli: { project: 'cli/tsconfig.build.json', out: 'dist/node', what: 'silkworm command, job process', tolerateTypeErrors: true },
};
const target = TARGETS[process.argv[2] ?? ''];
if (!target) {
  console.error(`usage: node build/compile.mjs ${Object.keys(TARGETS).join('|')}`);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const out = `${root}${target.out}`;
rmSync(out, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', target.project], { cwd: root, stdio: 'inherit' });
// tsc exits 2 when it found type errors but wrote every file. A package is never built from such
// code; the command line still is (bin/silkworm.mjs would otherwise run the same code through tsx),
// and `npm run typecheck` reports the errors.
const emittedDespiteErrors = result.status === 2 && target.tolerateTypeErrors;
if (result.status !== 0 && !emittedDespiteErrors) process.exit(result.status ?? 1);
if (emittedDespiteErrors) console.warn(`${target.out}: compiled despite type errors (run npm run typecheck)`);
const addon = 'native/sandbox/build/Release/silkworm_sandbox.node';
if (existsSync(`${root}${addon}`)) {
  mkdirSync(`${out}/native/sandbox/build/Release`, { recursive: true });
  copyFileSync(`${root}${addon}`, `${out}/${addon}`);
}
// Files the compiled code reads beside itself, which tsc does not copy.
const tolk = readdirSync(`${root}network/contracts`).filter((name) => name.endsWith('.tolk')).map((name) => `network/contracts/${name}`);
for (const asset of [...tolk, 'build/icons/icon.png']) {
  if (!existsSync(`${root}${asset}`)) continue;
  mkdirSync(dirname(`${out}/${asset}`), { recursive: true });
  copyFileSync(`${root}${asset}`, `${out}/${asset}`);
}
// Written last: its time says when the whole build was complete (see bin/silkworm.mjs).
writeFileSync(`${out}/.built`, `${new Date().toISOString()}\n`);
console.log(`${target.out}: ${target.what}${existsSync(`${root}${addon}`) ? ' and sandbox addon' : ''} compiled`);
