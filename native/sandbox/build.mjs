// Builds the sandbox addon (build/Release/silkworm_sandbox.node); run by the root "install"
// script during `npm ci`. Uses the node-gyp bundled with npm and, when Node's headers are
// installed beside node (distro packages, official tarballs), needs no network.
// On Linux a failed build fails the install: that is where the sandbox is promised and tested.
// Elsewhere it warns and the worker reports the 'unsandboxed' tier.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp, // set by npm for lifecycle scripts
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

function fail(message) {
  if (process.platform === 'linux') {
    console.error(`silkworm sandbox: ${message}`);
    process.exit(1);
  }
  console.warn(`silkworm sandbox: ${message}; job processes on this machine will report the 'unsandboxed' tier`);
  process.exit(0);
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) fail('node-gyp not found (it ships with npm)');

const args = [nodeGyp, 'rebuild', '--directory', here, '--jobs', 'max'];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`); // headers beside node: no download
}
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (result.status !== 0) fail(`building the addon failed (node-gyp exit ${result.status ?? result.signal})`);
