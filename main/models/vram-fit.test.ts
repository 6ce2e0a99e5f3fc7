import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { estimateMemory, judgeFit, OVERHEAD_BYTES, type FitVerdict, type Hardware } from './vram-fit.js';
import { readModelShape, shapeFromMetadata } from './vram-fit-gguf.js';
import { writeTestModel } from './test-model.js';
import { hardwareOf } from '../app/models-service-catalog.js';

const GB = 1e9;
const GPU_12 = 12 * 1024 ** 3;
const RAM_32 = 32 * 1024 ** 3;

/** needs (GB), hardware → verdict and a phrase the sentence must hold. */
const TABLE: [string, number, Hardware, FitVerdict, RegExp][] = [
  ['small model, 12 GB GPU', 5, { vramBytes: GPU_12, ramBytes: RAM_32, engineGpu: 'cuda' }, 'fits-gpu', /Fits in your GPU \(needs ~4\.7 GB of 12 GB\)/],
  ['at the 90 % line still fits', 0.9 * GPU_12 / GB, { vramBytes: GPU_12, ramBytes: RAM_32, engineGpu: 'cuda' }, 'fits-gpu', /Fits/],
  ['just over the 90 % line', 0.91 * GPU_12 / GB, { vramBytes: GPU_12, ramBytes: RAM_32, engineGpu: 'cuda' }, 'partial-gpu', /Partly on GPU: about 99%/],
  ['twice the GPU, RAM takes the rest', 24, { vramBytes: GPU_12, ramBytes: RAM_32, engineGpu: 'cuda' }, 'partial-gpu', /about 48%/],
  ['more than GPU + usable RAM', 40, { vramBytes: GPU_12, ramBytes: RAM_32, engineGpu: 'cuda' }, 'too-big', /Too big for this PC \(needs ~37 GB; GPU 12 GB \+ memory 32 GB\)/],
  ['GPU known, RAM unknown, too big for the GPU', 20, { vramBytes: GPU_12, ramBytes: null, engineGpu: 'cuda' }, 'unknown', /system memory unknown/],
  ['no GPU telemetry, engine on CPU, fits RAM', 8, { vramBytes: null, ramBytes: RAM_32, engineGpu: 'cpu' }, 'cpu-only', /CPU only \(slow\)/],
  ['no GPU telemetry, engine on CPU, too big', 30, { vramBytes: null, ramBytes: RAM_32, engineGpu: 'cpu' }, 'too-big', /no GPU in use/],
  ['no GPU telemetry, engine on a GPU', 8, { vramBytes: null, ramBytes: RAM_32, engineGpu: 'vulkan' }, 'unknown', /Unknown: no GPU readings/],
  ['nothing known at all', 8, { vramBytes: null, ramBytes: null, engineGpu: null }, 'unknown', /Unknown/],
  ['a GPU reporting 0 MB is no telemetry', 1, { vramBytes: 0, ramBytes: RAM_32, engineGpu: null }, 'unknown', /Unknown/],
];

for (const [name, needsGb, hardware, verdict, phrase] of TABLE) {
  test(`fit: ${name} → ${verdict}`, () => {
    const fit = judgeFit(needsGb * GB, hardware);
    assert.equal(fit.verdict, verdict);
    assert.match(fit.summary, phrase);
    assert.doesNotMatch(fit.detail, /^(Fits|Partly|CPU only|Too big|Unknown)/, 'the detail leaves the verdict to the badge');
    if (verdict === 'fits-gpu') assert.equal(fit.gpuShare, 1);
    if (verdict === 'partial-gpu') assert.ok(fit.gpuShare! > 0 && fit.gpuShare! < 1);
  });
}

test('estimate: weights + KV cache (layers × ctx × kv heads × (k+v) × 2 bytes) + overhead', () => {
  // An 8B llama-3 shape: 32 layers, 8 KV heads of 128, at 8192 tokens → exactly 1 GiB of KV cache.
  const estimate = estimateMemory(4.9 * GB, 8192, { layers: 32, kvHeads: 8, keyLength: 128, valueLength: 128 });
  assert.equal(estimate.kvCacheBytes, 1024 ** 3);
  assert.equal(estimate.overheadBytes, OVERHEAD_BYTES + Math.round(4.9 * GB * 0.05));
  assert.equal(estimate.totalBytes, 4.9 * GB + 1024 ** 3 + estimate.overheadBytes);
  const rough = estimateMemory(4.9 * GB, 8192, null);
  assert.equal(rough.kvCacheBytes, null);
  assert.ok(rough.totalBytes > 4.9 * GB, 'a header-less estimate still counts more than the weights');
});

test('shape from metadata: head dim from embedding/heads, explicit key/value lengths win, GQA', () => {
  assert.deepEqual(shapeFromMetadata({ block_count: 4, embedding_length: 256, attention: { head_count: 8, head_count_kv: 4 } }), { layers: 4, kvHeads: 4, keyLength: 32, valueLength: 32 });
  assert.deepEqual(shapeFromMetadata({ block_count: 2, embedding_length: 64, attention: { head_count: 4, key_length: 24, value_length: 20 } }), { layers: 2, kvHeads: 4, keyLength: 24, valueLength: 20 });
  assert.equal(shapeFromMetadata({ embedding_length: 64 }), null);
});

test('the header of the generated bench model is read without the native addon', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-fit-'));
  try {
    const path = join(dir, 'bench.gguf');
    await writeTestModel(path, { size: 'bench' });
    assert.deepEqual(await readModelShape(path), { layers: 4, kvHeads: 4, keyLength: 32, valueLength: 32 });
    assert.equal(await readModelShape(join(dir, 'missing.gguf')), null, 'unreadable → null, never a throw');
    const { readFileSync } = await import('node:fs');
    assert.doesNotMatch(readFileSync('/proc/self/maps', 'utf8'), /llama-addon|\.node\b/, 'no native addon mapped in this process');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hardware: the largest GPU with memory counts; none → unknown VRAM', () => {
  const device = (index: number, memoryTotalMb: number | null, name: string) => ({ index, name, vendor: 'nvidia' as const, tempC: null, powerW: null, memoryUsedMb: null, memoryTotalMb, utilizationPercent: null });
  const two = hardwareOf([device(0, 8192, 'small'), device(1, 24576, 'big')], 'cuda', RAM_32);
  assert.equal(two.vramBytes, 24576 * 1024 * 1024);
  assert.equal(two.gpuName, 'big');
  assert.equal(hardwareOf([device(0, null, 'mystery')], 'cuda', RAM_32).vramBytes, null);
  assert.equal(hardwareOf([], 'cpu', RAM_32).engineGpu, 'cpu');
});
