// `silkworm chain` as a command: arguments, help, JSON log lines and a graceful stop.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CHAIN_HELP, runChainCommand } from './cli.js';
import { LOCK_FILE } from './chain-store.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'silkworm-chain-cli-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('--help prints the usage and starts nothing', async (t) => {
  const printed: unknown[] = [];
  t.mock.method(console, 'log', (text: unknown) => printed.push(text));
  await runChainCommand(['--help']);
  assert.deepEqual(printed, [CHAIN_HELP]);
  assert.match(CHAIN_HELP, /--listen HOST:PORT/);
  assert.match(CHAIN_HELP, /--data DIR/);
});

test('bad arguments are refused with a clear message', async () => {
  await assert.rejects(runChainCommand(['--listen', 'nowhere', '--data', root]), /--listen: 'nowhere' is not HOST:PORT/);
  await assert.rejects(runChainCommand(['--port', '1']), /Unknown option '--port'/);
});

test('as a process it logs JSON lines, serves /healthz, and stops cleanly on SIGTERM', async () => {
  const dataDir = join(root, 'data');
  const script = `import('./network/chain/cli.ts').then((m) => m.runChainCommand(process.argv.slice(1)))`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, '--', '--listen', '127.0.0.1:0', '--data', dataDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: Record<string, unknown>[] = [];
  const ready = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>; // every line must be one JSON object
      lines.push(entry);
      if (entry.msg === 'chain ready') resolve(String(entry.url));
    });
    child.once('exit', () => reject(new Error('exited before ready')));
  });
  try {
    const url = await ready;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.ok((await readdir(dataDir)).includes(LOCK_FILE));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
  }
  assert.ok(lines.some((entry) => entry.msg === 'chain stopped'), JSON.stringify(lines));
  assert.ok(!(await readdir(dataDir)).includes(LOCK_FILE), 'the lock is released on a graceful stop');
});
