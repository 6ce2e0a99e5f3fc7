import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNvidiaProbe, parseNvidiaApps, parseNvidiaGpus } from './nvidia-smi.js';
import type { CommandRunner } from './run-command.js';

// Captured shapes of `nvidia-smi --format=csv,noheader,nounits` output.
const TWO_GPUS = '0, 54, 123.45, 2048, 24564, 37, NVIDIA GeForce RTX 4090\n1, 41, [N/A], 5, 8192, [Not Supported], NVIDIA GeForce GTX 1070\n';
const LINUX_APPS = '31337, /usr/bin/python3, 1024\n4242, /usr/bin/blender, 3000\n';
const WINDOWS_APPS = '9876, C:\\Program Files\\Blender Foundation\\Blender 4.1\\blender.exe, [N/A]\r\n';
const DRIVER_DOWN = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";

// Real outputs of NVIDIA_GPU_QUERY / NVIDIA_APPS_QUERY, byte for byte, captured on an NVIDIA
// H100 80GB HBM3 (driver 580.159.04, CUDA 13.0) by scripts/device/run.sh + bench/gpu-check.ts.
// Idle: no compute process, and the apps query prints nothing at all (0 bytes).
const H100_IDLE_GPUS = '0, 36, 70.26, 0, 81559, 0, NVIDIA H100 80GB HBM3\n';
const H100_IDLE_APPS = '';
// A PyTorch process holding 2 GiB and multiplying matrices.
const H100_TORCH_GPUS = '0, 51, 550.45, 3277, 81559, 100, NVIDIA H100 80GB HBM3\n';
const H100_TORCH_APPS = '447, python3, 3268\n';
// Our job process with the 'large' test model fully offloaded (CUDA), right after a generation.
const H100_ENGINE_GPUS = '0, 39, 176.47, 885, 81559, 36, NVIDIA H100 80GB HBM3\n';
const H100_ENGINE_APPS = '14539, /tmp/sw/node, 876\n';

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

test('nvidia-smi: real H100 output parses (idle, another program, our job process)', () => {
  const h100 = { index: 0, name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia', memoryTotalMb: 81559 };
  assert.deepEqual(parseNvidiaGpus(H100_IDLE_GPUS), [{ ...h100, tempC: 36, powerW: 70.26, memoryUsedMb: 0, utilizationPercent: 0 }]);
  assert.deepEqual(parseNvidiaApps(H100_IDLE_APPS), []);
  assert.deepEqual(parseNvidiaGpus(H100_TORCH_GPUS), [{ ...h100, tempC: 51, powerW: 550.45, memoryUsedMb: 3277, utilizationPercent: 100 }]);
  assert.deepEqual(parseNvidiaApps(H100_TORCH_APPS), [{ pid: 447, name: 'python3', usedMemoryMb: 3268 }]);
  assert.deepEqual(parseNvidiaGpus(H100_ENGINE_GPUS), [{ ...h100, tempC: 39, powerW: 176.47, memoryUsedMb: 885, utilizationPercent: 36 }]);
  assert.deepEqual(parseNvidiaApps(H100_ENGINE_APPS), [{ pid: 14539, name: '/tmp/sw/node', usedMemoryMb: 876 }]);
});

test('nvidia-smi probe on real H100 output: idle means no other program, PyTorch is one, our job process is not', async () => {
  const idle = await createNvidiaProbe({ run: replay(H100_IDLE_GPUS, H100_IDLE_APPS), ownPids: () => [] }).read();
  assert.equal(idle.gpu?.devices[0]?.memoryUsedMb, 0);
  assert.deepEqual(idle.gpu?.otherProcesses, []);
  const torch = await createNvidiaProbe({ run: replay(H100_TORCH_GPUS, H100_TORCH_APPS), ownPids: () => [1, 14539] }).read();
  assert.deepEqual(torch.gpu?.otherProcesses, [{ pid: 447, name: 'python3', usedMemoryMb: 3268 }]);
  const ours = await createNvidiaProbe({ run: replay(H100_ENGINE_GPUS, H100_ENGINE_APPS), ownPids: () => [1, 14539] }).read();
  assert.equal(ours.gpu?.devices[0]?.utilizationPercent, 36);
  assert.deepEqual(ours.gpu?.otherProcesses, []);
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
