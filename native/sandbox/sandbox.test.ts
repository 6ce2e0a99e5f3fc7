// The job-process sandbox, tested the way an attacker would probe it: canary job processes
// lock down, then try to read, write, connect, spawn and signal; the test asserts each is
// denied and that threads and llama.cpp generation still work. Linux only (the platform we
// promise 'sandboxed' on); a kernel without Landlock or seccomp must report 'unsandboxed'.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { CanaryConfig } from './fixtures/canary.js';
import { writeTinyGguf } from './fixtures/tiny-gguf.js';
import { loadSandbox, lockdown, probeSandbox } from './index.js';
import type { LockdownResult } from './index.js';

const linuxOnly = process.platform === 'linux' ? false : 'the OS sandbox is promised and tested on Linux';
const scratch = mkdtempSync(join(tmpdir(), 'silkworm-sandbox-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function fixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a fixture with tsx, asynchronously so this process keeps serving its loopback socket.
 *  Like a worker's job process it gets an IPC channel; this side answers 'ping' with 'pong'. */
function runFixture(name: string, arg: unknown, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture(name), JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.on('message', (message) => {
      if (message === 'ping') child.send('pong');
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function lastJsonLine<T>(run: Run): T {
  const line = run.stdout.trim().split('\n').pop();
  assert.ok(line, `fixture printed nothing (exit ${run.status}); stderr:\n${run.stderr}`);
  return JSON.parse(line) as T;
}

/** True once pid no longer runs (gone, or a zombie nobody has reaped yet). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** When the kernel cannot sandbox, the only acceptable outcome is an honest 'unsandboxed'. */
function assertHonestlyUnsandboxed(t: { diagnostic(message: string): void }, result: { tier: string; reason?: string }): void {
  const probe = probeSandbox();
  t.diagnostic(`kernel cannot sandbox: ${probe.reason}`);
  assert.equal(result.tier, 'unsandboxed');
  assert.ok(result.reason, 'an unsandboxed result must say why');
  t.diagnostic(`lockdown reported: ${result.reason}`);
}

test('the addon is built and reports what the kernel offers', { skip: linuxOnly }, (t) => {
  const loaded = loadSandbox();
  assert.ok(loaded.ok, loaded.ok ? '' : `${loaded.error}\nbuild it with: node native/sandbox/build.mjs`);
  const probe = probeSandbox();
  t.diagnostic(`Landlock ABI ${probe.landlockAbi}, seccomp ${probe.seccomp ? 'available' : 'unavailable'}${probe.reason ? `: ${probe.reason}` : ''}`);
  assert.equal(probe.canSandbox, probe.landlockAbi >= 1 && probe.seccomp);
});

test('lockdown rejects malformed options instead of guessing', () => {
  assert.throws(() => lockdown({ readPaths: 'model.gguf' as unknown as string[] }), TypeError);
  assert.throws(() => lockdown({ readPaths: [''] }), TypeError);
});

test('a locked-down canary cannot read, write, connect, spawn or signal', { skip: linuxOnly }, async (t) => {
  const dir = join(scratch, 'canary');
  const writeDir = join(dir, 'writable');
  mkdirSync(writeDir, { recursive: true });
  const allowedFile = join(dir, 'allowed.txt');
  const secretFile = join(dir, 'secret.txt');
  writeFileSync(allowedFile, 'allowed');
  writeFileSync(secretFile, 'wallet mnemonic');

  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const config: CanaryConfig = { mode: 'probe', allowedFile, secretFile, writeDir, port };
  const run = await runFixture('canary.ts', config);
  server.close();

  const report = lastJsonLine<{ lockdown: LockdownResult; checks: Record<string, string>; status: Record<string, string> }>(run);
  t.diagnostic(`layers: ${Object.entries(report.lockdown.layers).map(([name, layer]) => `${name}=${layer.applied}`).join(' ')}`);
  if (!probeSandbox().canSandbox) {
    assertHonestlyUnsandboxed(t, report.lockdown);
    if (report.lockdown.layers.seccomp?.applied) {
      // Without Landlock, seccomp alone must still stop writes, the network and processes.
      for (const check of ['writeNewFile', 'tcpConnect', 'udpSend', 'spawn', 'signalParent']) assert.notEqual(report.checks[check], 'ok', check);
      assert.equal(connections, 0);
    }
    return;
  }

  assert.equal(report.lockdown.tier, 'sandboxed', report.lockdown.reason);
  assert.deepEqual(report.checks, {
    parentChannel: 'ok', // the inherited IPC channel keeps working
    readAllowed: 'ok',
    readSecret: 'EACCES',
    readSecretAsync: 'EACCES', // a libuv pool thread that existed before lockdown
    readSecretViaProcRoot: 'EACCES',
    readSecretFromOldThread: 'EACCES', // a worker thread that existed before lockdown
    readSecretFromNewThread: 'EACCES',
    newThreadWorks: 'ok',
    writeNewFile: 'EACCES',
    appendAllowedFile: 'EACCES',
    unlinkAllowedFile: 'EACCES',
    makeDirectory: 'EACCES',
    tcpConnect: 'EPERM',
    tcpListen: 'EPERM',
    udpSend: 'EPERM',
    spawn: 'EPERM',
    signalParent: 'EPERM',
    status: 'ok',
  });
  assert.deepEqual(report.status, { NoNewPrivs: '1', Seccomp: '2', CapEff: '0000000000000000' });
  assert.equal(connections, 0, 'the loopback server must never see a connection');
  assert.equal(readFileSync(allowedFile, 'utf8'), 'allowed');
  assert.equal(existsSync(join(writeDir, 'new.txt')), false);
  assert.equal(existsSync(join(writeDir, 'dir')), false);
});

test('the job process dies when its parent is killed', { skip: linuxOnly }, async () => {
  const dir = join(scratch, 'orphan');
  mkdirSync(dir, { recursive: true });
  const allowedFile = join(dir, 'allowed.txt');
  writeFileSync(allowedFile, 'allowed');
  const config: CanaryConfig = { mode: 'hold', allowedFile, secretFile: allowedFile, writeDir: dir, port: 0 };

  const middle = spawn(process.execPath, ['--import', 'tsx', fixture('middle.ts'), JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let canaryPid = 0;
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      middle.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        if (buffered.includes('\n')) resolve(buffered.slice(0, buffered.indexOf('\n')));
      });
      middle.once('exit', () => reject(new Error('middle process exited early')));
      setTimeout(() => reject(new Error('canary never reported')), 30_000).unref();
    });
    canaryPid = (JSON.parse(line) as { pid: number }).pid;
    assert.ok(canaryPid > 0 && !isGone(canaryPid), 'canary runs');

    middle.kill('SIGKILL');
    const deadline = Date.now() + 5_000;
    while (!isGone(canaryPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(isGone(canaryPid), `canary ${canaryPid} outlived its parent`);
  } finally {
    middle.kill('SIGKILL');
    if (canaryPid && !isGone(canaryPid)) process.kill(canaryPid, 'SIGKILL');
  }
});

test('node-llama-cpp still generates after lockdown', { skip: linuxOnly }, async (t) => {
  const modelPath = join(scratch, 'tiny.gguf');
  writeTinyGguf(modelPath);
  const run = await runFixture('llama-canary.ts', { modelPath, readPaths: ['/proc/self'] }, 120_000);
  const report = lastJsonLine<{ tier: string; reason?: string; generated: number; text: string; error?: string; spawn: string }>(run);
  if (!probeSandbox().canSandbox) assertHonestlyUnsandboxed(t, report);
  else assert.equal(report.tier, 'sandboxed', report.reason);
  assert.equal(report.error, undefined);
  assert.equal(report.generated, 8, 'eight tokens generated after lockdown');
  if (report.tier === 'sandboxed') assert.equal(report.spawn, 'EPERM');
});
