/**
 * The batching measure of gpu-check.ts, run here on the CPU: the worker's EngineSupervisor, a
 * real job process and node-llama-cpp on the generated model, 1 job against 2 at once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineSupervisor } from '../main/engine/supervisor.js';
import { NodeJobProcessLauncher } from '../main/engine/node-launcher.js';
import { writeTestModel } from '../main/models/test-model.js';
import { createLogger } from '../network/node-kit/log.js';
import { measureEngineBatch } from './engine-batch.js';

describe('batching on one engine (gpu-check.ts, here on the CPU)', () => {
  let dir = '';
  let engine: EngineSupervisor;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-engine-batch-'));
    const modelPath = join(dir, 'model.gguf');
    await writeTestModel(modelPath);
    engine = new EngineSupervisor({
      config: { modelPath, threads: 1, contextSize: 512, sequences: 2, gpu: 'cpu', warmupTokens: 0, sandbox: false },
      launcher: new NodeJobProcessLauncher(),
      logger: createLogger('test', { level: 'silent' }),
    });
    await engine.start();
  });
  after(async () => {
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('1 job and 2 at once: every text exact, a figure for each round, the gain per round', async () => {
    const result = await measureEngineBatch(engine, { streams: [2], tokens: 24, rounds: 2, prompt: 'abc' });
    assert.equal(result.textsExact, true, result.mismatch);
    assert.deepEqual(
      result.arms.map((arm) => arm.streams),
      [1, 2],
    );
    for (const arm of result.arms) {
      assert.equal(arm.tokensPerSecond.length, 2);
      assert.ok(arm.tokensPerSecond.every((value) => value > 0 && Number.isFinite(value)), `${arm.streams} streams: ${arm.tokensPerSecond.join(', ')} tokens/s`);
      assert.ok(arm.cpuUsPerToken.every((us) => us !== undefined && us >= 0), 'the job process CPU is read from /proc');
    }
    const [gain] = result.gains;
    assert.ok(gain && gain.streams === 2 && gain.min <= gain.median && gain.median <= gain.max && gain.median > 0, JSON.stringify(gain));
  });

  test('more streams than the engine has sequences is an error, before any job', async () => {
    await assert.rejects(measureEngineBatch(engine, { streams: [3], tokens: 8, rounds: 1, prompt: 'abc' }), /3 streams need 3 sequences; the engine has 2/);
  });
});
