import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNvidiaProbe, parseNvidiaApps, parseNvidiaGpus } from './nvidia-smi.js';
import type { CommandRunner } from './run-command.js';

// Captured shapes of `nvidia-smi --format=csv,noheader,nounits` output.
const TWO_GPUS = '0, 54, 123.45, 2048, 24564, 37, NVIDIA GeForce RTX 4090\n1, 41, [N/A], 5, 8192, [Not Supported], NVIDIA GeForce GTX 1070\n';
const LINUX_APPS = '31337, /usr/bin/python3, 1024\n4242, /usr/bin/blender, 3000\n';
const WINDOWS_APPS = '9876, C:\\Program Files\\Blender Foundation\\Blender 4.1\\blender.exe, [N/A]\r\n';
const DRIVER_DOWN = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";

test('nvidia-smi: GPU lines parse, with [N/A] and [Not Supported] as unknown', () => {
  assert.deepEqual(parseNvidiaGpus(TWO_GPUS), [
    { index: 0, name: 'NVIDIA GeForce RTX 4090', vendor: 'nvidia', tempC: 54, powerW: 123.45, memoryUsedMb: 2048, memoryTotalMb: 24564, utilizationPercent: 37 },
    { index: 1, name: 'NVIDIA GeForce GTX 1070', vendor: 'nvidia', tempC: 41, powerW: null, memoryUsedMb: 5, memoryTotalMb: 8192, utilizationPercent: null },
  ]);
  assert.deepEqual(parseNvidiaGpus(DRIVER_DOWN), []);
  assert.deepEqual(parseNvidiaGpus(''), []);
});

test('nvidia-smi: compute apps parse on Linux and Windows (paths with spaces, memory N/A)', () => {
  assert.deepEqual(parseNvidiaApps(LINUX_APPS), [
    { pid: 31337, name: '/usr/bin/python3', usedMemoryMb: 1024 },
    { pid: 4242, name: '/usr/bin/blender', usedMemoryMb: 3000 },
  ]);
  assert.deepEqual(parseNvidiaApps(WINDOWS_APPS), [{ pid: 9876, name: 'C:\\Program Files\\Blender Foundation\\Blender 4.1\\blender.exe', usedMemoryMb: null }]);
  assert.deepEqual(parseNvidiaApps('No running processes found\n'), []);
});

function replay(gpus: string | null, apps: string | null): CommandRunner {
  return async (_file, args) => {
    const out = args[0]?.startsWith('--query-gpu') ? gpus : apps;
    return out === null ? { ok: false, reason: 'failed', message: 'exit 9' } : { ok: true, stdout: out };
  };
}

test('nvidia-smi probe: our own processes are not "another program"', async () => {
  const probe = createNvidiaProbe({ run: replay(TWO_GPUS, LINUX_APPS), ownPids: () => [31337] });
  const signals = await probe.read();
  assert.equal(signals.gpu?.devices.length, 2);
  assert.deepEqual(signals.gpu?.otherProcesses?.map((p) => p.pid), [4242]);
});

test('nvidia-smi probe: a failed process query leaves processes unknown, a failed GPU query everything', async () => {
  assert.equal((await createNvidiaProbe({ run: replay(TWO_GPUS, null) }).read()).gpu?.otherProcesses, null);
  assert.deepEqual(await createNvidiaProbe({ run: replay(null, LINUX_APPS) }).read(), {});
  assert.deepEqual(await createNvidiaProbe({ run: replay(DRIVER_DOWN, '') }).read(), {});
});

test('nvidia-smi probe: a missing binary yields unknown, not an error', async () => {
  const signals = await createNvidiaProbe({ binary: 'silkworm-no-such-nvidia-smi' }).read();
  assert.deepEqual(signals, {});
});
