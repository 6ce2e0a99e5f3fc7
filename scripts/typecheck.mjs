// Type-checks each layer with its own tsconfig (its own lib and types), as docs/design.md, Layers lays out.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const projects = [
  'network/protocol/tsconfig.json',
  'network/protocol/tsconfig.test.json',
  'network/coordinator/tsconfig.json',
  'network/client/tsconfig.json',
  'network/chain/tsconfig.json',
  'network/contracts/tsconfig.json',
  'network/tokenizer/tsconfig.json',
  'main/tsconfig.json',
  'main/electron/tsconfig.json',
  'native/tsconfig.json',
  'preload/tsconfig.json',
  'renderer/tsconfig.json',
  'renderer/tsconfig.test.json',
  'cli/tsconfig.json',
  'bench/tsconfig.json',
  'e2e/tsconfig.json',
].filter((p) => existsSync(p));

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
let failed = 0;
for (const project of projects) {
  const r = spawnSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
  console.log(`${r.status === 0 ? 'ok  ' : 'FAIL'} ${project}`);
}
process.exit(failed ? 1 : 0);
