import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRocmProbe, parseRocmGpus, parseRocmPids } from './rocm-smi.js';
import type { CommandRunner } from './run-command.js';

// Representative `rocm-smi --showtemp --showpower --showuse --showmeminfo vram --showproductname --json`.
const GPUS = `WARNING: AMD GPU device(s) is/are in a low-power state. Check power control/runtime_status
{"card0": {"Temperature (Sensor edge) (C)": "47.0", "Temperature (Sensor junction) (C)": "61.0", "Temperature (Sensor memory) (C)": "58.0",
 "Average Graphics Package Power (W)": "212.0", "GPU use (%)": "98", "VRAM Total Memory (B)": "17163091968",
 "VRAM Total Used Memory (B)": "4294967296", "Card Series": "Navi 31 [Radeon RX 7900 XTX]", "Card Vendor": "Advanced Micro Devices, Inc. [AMD/ATI]"},
 "card1": {"Temperature (Sensor junction) (C)": "40.0", "Current Socket Graphics Package Power (W)": "N/A", "GPU use (%)": "0"}}`;
const PIDS = '{"system": {"PID6352": "ollama, 1, 6352367616, 0, unknown", "PID77": "silkworm-job, 1, 1048576, 0, unknown"}}';

test('rocm-smi: cards parse with edge temperature preferred and bytes turned into MB', () => {
  assert.deepEqual(parseRocmGpus(GPUS), [
    { index: 0, name: 'Navi 31 [Radeon RX 7900 XTX]', vendor: 'amd', tempC: 47, powerW: 212, memoryUsedMb: 4096, memoryTotalMb: 16368, utilizationPercent: 98 },
    { index: 1, name: null, vendor: 'amd', tempC: 40, powerW: null, memoryUsedMb: null, memoryTotalMb: null, utilizationPercent: 0 },
  ]);
  assert.deepEqual(parseRocmGpus('not json'), []);
});

test('rocm-smi: process list parses; no JSON means unknown', () => {
  assert.deepEqual(parseRocmPids(PIDS), [
    { pid: 6352, name: 'ollama', usedMemoryMb: 6058 },
    { pid: 77, name: 'silkworm-job', usedMemoryMb: 1 },
  ]);
  assert.deepEqual(parseRocmPids('{"system": {"KFD PIDs": "None"}}'), []);
  assert.equal(parseRocmPids('No KFD PIDs currently running'), null);
});

test('rocm-smi probe: filters our processes; a missing binary yields unknown', async () => {
  const run: CommandRunner = async (_file, args) => ({ ok: true, stdout: args.includes('--showpids') ? PIDS : GPUS });
  const signals = await createRocmProbe({ run, ownPids: () => [77] }).read();
  assert.deepEqual(signals.gpu?.otherProcesses?.map((p) => p.name), ['ollama']);
  assert.deepEqual(await createRocmProbe({ binary: 'silkworm-no-such-rocm-smi' }).read(), {});
});
