import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDefaultProbes, createHeadlessSignalSource } from './index.js';
import type { CommandRunner } from './run-command.js';

const nothingInstalled: CommandRunner = async (file) => ({ ok: false, reason: 'missing', message: `${file} is not installed` });

test('default probes: each platform gets the probes that work there, most trusted first', () => {
  const names = (platform: NodeJS.Platform) => createDefaultProbes({ platform, run: nothingInstalled }).map((p) => p.name);
  assert.deepEqual(names('linux'), ['xprintidle', 'logind', 'xprop', 'games', 'nvidia-smi', 'rocm-smi', 'linux-power-supply']);
  assert.deepEqual(names('darwin'), ['ioreg', 'games', 'pmset']);
  assert.deepEqual(names('win32'), ['games', 'nvidia-smi']);
  assert.deepEqual(names('freebsd'), ['nvidia-smi']);
});

test('headless source: with no helper programs, presence and GPU are unknown and nothing throws', async () => {
  const source = createHeadlessSignalSource({ platform: 'win32', run: nothingInstalled });
  const signals = await source.read();
  assert.equal(signals.idleSeconds, null);
  assert.equal(signals.gpu, null);
  assert.equal(signals.game, null);
  assert.equal(signals.battery, null);
  assert.deepEqual(source.lastFailures, []);
});
