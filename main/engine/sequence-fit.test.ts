/** The automatic number of sequences: each limit, and the floor of one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSequences, MAX_AUTO_SEQUENCES } from './sequence-fit.js';

const MiB = 2 ** 20;

test('a GPU is limited by its free VRAM (80 % of it), not by the CPU cores', () => {
  const fit = fitSequences({ backend: 'gpu', cores: 2, freeRamBytes: 64 * 1024 * MiB, freeVramBytes: 1000 * MiB, perSequenceBytes: 100 * MiB });
  assert.equal(fit.sequences, 8);
  assert.match(fit.reason, /VRAM/);
});

test('a CPU is limited to two streams per core when RAM is plentiful', () => {
  const fit = fitSequences({ backend: 'cpu', cores: 2, freeRamBytes: 16 * 1024 * MiB, freeVramBytes: 0, perSequenceBytes: 10 * MiB });
  assert.equal(fit.sequences, 4);
  assert.match(fit.reason, /cores/);
});

test('a CPU short of RAM gets what half its free RAM holds', () => {
  const fit = fitSequences({ backend: 'cpu', cores: 16, freeRamBytes: 600 * MiB, freeVramBytes: 0, perSequenceBytes: 100 * MiB });
  assert.equal(fit.sequences, 3);
  assert.match(fit.reason, /RAM/);
});

test('never above the automatic ceiling, never below one', () => {
  assert.equal(fitSequences({ backend: 'gpu', cores: 64, freeRamBytes: 0, freeVramBytes: 80 * 1024 * MiB, perSequenceBytes: MiB }).sequences, MAX_AUTO_SEQUENCES);
  const starved = fitSequences({ backend: 'gpu', cores: 8, freeRamBytes: 0, freeVramBytes: 10 * MiB, perSequenceBytes: 100 * MiB });
  assert.equal(starved.sequences, 1);
  assert.match(starved.reason, /one sequence regardless/);
});
