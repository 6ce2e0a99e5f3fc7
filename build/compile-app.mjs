// Compiles what Electron runs — main process and job process (TypeScript → dist/app, same
// layout as the source) — and copies the sandbox addon next to its loader. Then the UI
// bundles (vite) and electron-builder package dist/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(`${root}dist/app`, { recursive: true, force: true });
const result = spawnSync(process.execPath, [tsc, '-p', 'main/electron/tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
const addon = 'native/sandbox/build/Release/silkworm_sandbox.node';
mkdirSync(`${root}dist/app/native/sandbox/build/Release`, { recursive: true });
copyFileSync(`${root}${addon}`, `${root}dist/app/${addon}`);
console.log('dist/app: main process, job process and sandbox addon compiled');
