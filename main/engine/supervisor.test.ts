/**
 * The supervisor with a real job process running llama.cpp on the generated model:
 * exact output, token counts from the engine, cancel, crash and restart, a corrupt model.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { probeSandbox } from '../../native/sandbox/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineSupervisor, JobFailure } from './supervisor.js';
import { NodeJobProcessLauncher, cleanEnvironment } from './node-launcher.js';
import { writeTestModel, successorText } from '../models/test-model.js';
import { createLogger } from '../../network/node-kit/log.js';
import { fromJobProcessSchema, MAX_CHUNKS_PER_MESSAGE } from './job-messages.js';
import { sealRequest } from '../../network/protocol/sealed.js';
import { decodeAnswerPart } from '../../network/protocol/answer-parts.js';

const logger = createLogger('test', { level: 'silent' });

function supervisor(modelPath: string, sequences = 2): EngineSupervisor {
  return new EngineSupervisor({
    config: { modelPath, threads: 1, contextSize: 2048, sequences, gpu: 'cpu', warmupTokens: 8, sandbox: true },
    launcher: new NodeJobProcessLauncher(),
    logger,
  });
}

const ask = (jobId: string, content: string, maxTokens: number) => ({ jobId, messages: [{ role: 'user' as const, content }], params: { maxTokens, temperature: 0 } });

describe('engine supervisor', () => {
  let dir = '';
  let modelPath = '';
  let engine: EngineSupervisor;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-engine-'));
    modelPath = join(dir, 'model.gguf');
    await writeTestModel(modelPath);
    engine = supervisor(modelPath);
    const info = await engine.start();
    assert.equal(info.gpu, 'cpu');
    assert.ok(info.tokensPerSecond > 0, 'speed measured at load');
  });
  after(async () => {
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the job process locks itself down after loading, and still generates', async (t) => {
    const probe = probeSandbox();
    if (!probe.canSandbox) {
      t.diagnostic(`OS sandbox not available here: ${probe.reason}`);
      assert.equal(engine.info?.tier, 'unsandboxed');
      assert.ok(engine.info?.sandboxReason);
      return;
    }
    assert.equal(engine.info?.tier, 'sandboxed', engine.info?.sandboxReason);
    const status = await readFile(`/proc/${engine.pid}/status`, 'utf8');
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.match(status, /^Seccomp:\s+2$/m);
  });

  test('generates the exact text, streamed, with token counts from the engine', async () => {
    const chunks: string[] = [];
    let counted = 0;
    const result = await engine.generate(ask('j1', 'abc', 30), (text, tokens) => {
      chunks.push(text);
      counted += tokens;
    });
    assert.equal(chunks.join(''), successorText('abc', 30));
    assert.ok(chunks.length > 1);
    assert.equal(counted, 30);
    assert.deepEqual(result.finishReason, 'length');
    assert.equal(result.usage.completionTokens, 30);
    assert.ok(result.usage.promptTokens >= 4);
  });

  test('a sealed answer opens to the exact text, in chunks at least 25 ms of tokens apart after the first', async () => {
    const recipientPublicKey = engine.info?.hpkePublicKey;
    assert.ok(recipientPublicKey, 'the job process published its HPKE key');
    const ids = { jobId: 'sealed-1', model: 'm', coordinatorId: 'c', workerId: 'w' };
    const { envelope, responseOpener } = await sealRequest({ ...ids, recipientPublicKey, maxTokens: 120, body: { messages: [{ role: 'user', content: 'abc' }], params: { temperature: 0 } } });
    const arrivals: number[] = [];
    const opened: Promise<string>[] = [];
    let counted = 0;
    const result = await engine.generateSealed({ ...ids, envelope }, (chunk, tokens) => {
      arrivals.push(performance.now());
      counted += tokens;
      opened.push(responseOpener.open(chunk).then((r) => (r.ok ? (decodeAnswerPart(r.value.text)?.text ?? '') : `<${r.error.code}>`)));
    });
    assert.equal((await Promise.all(opened)).join(''), successorText('abc', 120));
    assert.equal(counted, 120);
    assert.equal(responseOpener.finish().ok, true);
    // Sent at least 25 ms apart (arrival may bunch a little): no more chunks than 25 ms steps.
    const spanMs = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
    const steps = Math.ceil(spanMs / 25) + 4;
    assert.ok(arrivals.length <= steps, `${arrivals.length} sealed chunks for 120 tokens over ${spanMs.toFixed(0)} ms (at most ${steps} expected)`);
    assert.equal(result.finishReason, 'length');
  });

  test('a Polite speed cap holds generation under the cap, with the same text', async () => {
    let text = '';
    const started = performance.now();
    const result = await engine.generate({ ...ask('capped', 'abc', 40), maxTokensPerSecond: 100 }, (t) => (text += t));
    const seconds = (performance.now() - started) / 1000;
    assert.equal(text, successorText('abc', 40));
    assert.equal(result.usage.completionTokens, 40);
    assert.equal(result.finishReason, 'length');
    // At 100 tok/s the engine works in slices of 25 tokens: the second cannot start before 0.25 s.
    assert.ok(seconds >= 0.2, `took ${seconds.toFixed(3)} s: the cap did not hold generation back`);
  });

  test('continues a response from given text', async () => {
    let text = '';
    await engine.generate({ ...ask('j-cont', 'abc', 5), continuation: { text: 'defgh', reasoning: '' } }, (t) => (text += t));
    assert.equal(text, successorText('abcdefgh', 5));
  });

  test('runs two jobs at once on two sequences', async () => {
    const texts = ['', ''];
    await Promise.all([engine.generate(ask('p1', 'abc', 200), (t) => (texts[0] += t)), engine.generate(ask('p2', 'xyz', 200), (t) => (texts[1] += t))]);
    assert.deepEqual(texts, [successorText('abc', 200), successorText('xyz', 200)]);
  });

  test('cancel stops a long job early with a cancelled failure', async () => {
    let tokens = 0;
    const job = engine.generate(ask('long', 'abc', 1900), (_t, n) => {
      const before = tokens;
      tokens += n;
      if (before < 5 && tokens >= 5) engine.cancel('long');
    });
    await assert.rejects(job, (e: unknown) => e instanceof JobFailure && e.error.code === 'cancelled');
    // Text goes out at most every 25 ms: what came after the cancel is a chunk or two of that.
    assert.ok(tokens < 400, `stopped after ${tokens} of 1,900 tokens`);
  });

  test('a duplicate job id is refused', async () => {
    const first = engine.generate(ask('dup', 'abc', 100), () => {});
    await assert.rejects(engine.generate(ask('dup', 'abc', 5), () => {}), (e: unknown) => e instanceof JobFailure && e.error.code === 'duplicate_job');
    await first;
  });

  test('kill -9 of the job process fails its jobs as engine_crashed, then it is restarted', async () => {
    const pid = engine.pid;
    assert.ok(pid);
    const restarted = new Promise((resolve) => engine.once('ready', resolve));
    let killed = false;
    const job = engine.generate(ask('victim', 'abc', 1900), () => {
      if (!killed) {
        killed = true;
        process.kill(pid, 'SIGKILL');
      }
    });
    await assert.rejects(job, (e: unknown) => e instanceof JobFailure && e.error.code === 'engine_crashed');
    await restarted;
    assert.notEqual(engine.pid, pid);
    let text = '';
    await engine.generate(ask('after', 'abc', 4), (t) => (text += t));
    assert.equal(text, 'defg');
  });

  test('unload frees the model inside the job process', async () => {
    const rss = await engine.unload();
    assert.ok(rss > 0, 'RSS reported after unload');
    await assert.rejects(engine.generate(ask('no-model', 'abc', 3), () => {}), (e: unknown) => e instanceof JobFailure && e.error.code === 'engine_error');
  });

  test('GPU-layer and VRAM caps are passed to the engine at the next start', async () => {
    const capped = supervisor(modelPath, 1);
    capped.setGpuLimits({ gpuLayers: 0, maxVramBytes: 512 * 1024 * 1024 });
    assert.deepEqual(capped.gpuLimits, { gpuLayers: 0, maxVramBytes: 512 * 1024 * 1024 });
    const info = await capped.start();
    assert.ok(info.contextSize > 0, 'the model loads with zero offloaded layers');
    let text = '';
    await capped.generate(ask('layers', 'abc', 3), (t) => (text += t));
    assert.equal(text, 'def');
    capped.setGpuLimits({ gpuLayers: undefined, maxVramBytes: undefined });
    assert.deepEqual(capped.gpuLimits, { gpuLayers: undefined, maxVramBytes: undefined });
    await capped.stop();
  });

  test('a corrupt model fails to load with a clear error, and nothing is left running', async () => {
    const corrupt = join(dir, 'corrupt.gguf');
    await writeFile(corrupt, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(64, 7)]));
    const bad = supervisor(corrupt);
    await assert.rejects(bad.start(), (e: unknown) => e instanceof JobFailure && e.error.code === 'model_load_failed' && /Failed to load model/i.test(e.message));
    assert.equal(bad.pid, undefined);
  });
});

test('the job process inherits only what the engine needs from the environment', () => {
  const env = cleanEnvironment({ PATH: '/bin', HOME: '/root', CUDA_VISIBLE_DEVICES: '0', TON_MNEMONIC: 'secret words', SILKWORM_API_KEY: 'k', LANG: 'C' });
  assert.deepEqual(Object.keys(env).sort(), ['CUDA_VISIBLE_DEVICES', 'HOME', 'LANG', 'PATH']);
});

test('a job process that keeps crashing with gpu auto is restarted on the CPU, once, and says so', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-fallback-'));
  const modelPath = join(dir, 'model.gguf');
  await writeTestModel(modelPath);
  const engine = new EngineSupervisor({
    config: { modelPath, threads: 1, contextSize: 512, sequences: 1, gpu: 'auto', warmupTokens: 4, sandbox: false },
    launcher: new NodeJobProcessLauncher(),
    logger,
  });
  const fallbacks: number[] = [];
  engine.on('gpu-fallback', ({ crashes }) => fallbacks.push(crashes));
  try {
    await engine.start();
    assert.equal(engine.gpuMode, 'auto');
    for (let crash = 1; crash <= 2; crash += 1) {
      const pid = engine.pid;
      assert.ok(pid);
      const ready = new Promise((resolve) => engine.once('ready', resolve));
      process.kill(pid, 'SIGKILL');
      await ready;
      assert.equal(engine.gpuMode, crash === 1 ? 'auto' : 'cpu', `after crash ${crash}`);
    }
    assert.deepEqual(fallbacks, [2], 'one fallback, after the second crash');
    assert.equal(engine.info?.gpu, 'cpu');
    let text = '';
    await engine.generate(ask('after-fallback', 'abc', 4), (t) => (text += t));
    assert.equal(text, 'defg', 'still serving');
  } finally {
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('with four jobs in flight on one job process, cancelling one leaves the others exact, and a stop fails every running job at once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-batch-sup-'));
  const modelPath = join(dir, 'model.gguf');
  await writeTestModel(modelPath);
  const engine = new EngineSupervisor({
    config: { modelPath, threads: 1, contextSize: 512, sequences: 4, gpu: 'cpu', warmupTokens: 0, sandbox: false },
    launcher: new NodeJobProcessLauncher(),
    logger,
  });
  try {
    const info = await engine.start();
    assert.equal(info.sequences, 4);
    const prompts = ['abc', 'mno', 'ABC', 'klm'];
    const texts = prompts.map(() => '');
    let victimTokens = 0;
    const runs = prompts.map((prompt, index) =>
      engine.generate({ ...ask(`batch-${index}`, prompt, index === 0 ? 400 : 48) }, (text, tokens) => {
        texts[index] += text;
        if (index === 0 && (victimTokens += tokens) >= 4) engine.cancel('batch-0');
      }),
    );
    await assert.rejects(runs[0] as Promise<unknown>, (error: unknown) => error instanceof JobFailure && error.error.code === 'cancelled');
    const rest = await Promise.all(runs.slice(1));
    rest.forEach((result, index) => {
      assert.equal(result.finishReason, 'length');
      assert.equal(texts[index + 1], successorText(prompts[index + 1] ?? '', 48));
    });
    // Preemption's last resort with many jobs running: every one ends, none hangs.
    const long = prompts.map((prompt, index) => engine.generate(ask(`long-${index}`, prompt, 400), () => {}).then(() => 'done', (error: unknown) => (error instanceof JobFailure ? error.error.code : 'other')));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await engine.stop();
    for (const outcome of await Promise.all(long)) assert.ok(outcome === 'engine_crashed' || outcome === 'done', outcome);
  } finally {
    await engine.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("the chunks of one turn travel as one message, bounded: empty or over the bound is malformed", () => {
  const chunk = (i: number) => ({ type: 'chunk', jobId: `j${i}`, text: 'a', tokens: 1 });
  const many = (n: number) => ({ type: 'chunks', chunks: Array.from({ length: n }, (_, i) => chunk(i)) });
  assert.equal(fromJobProcessSchema.safeParse(many(4)).success, true);
  assert.equal(fromJobProcessSchema.safeParse(many(MAX_CHUNKS_PER_MESSAGE)).success, true);
  assert.equal(fromJobProcessSchema.safeParse(many(0)).success, false);
  assert.equal(fromJobProcessSchema.safeParse(many(MAX_CHUNKS_PER_MESSAGE + 1)).success, false);
  assert.equal(fromJobProcessSchema.safeParse({ type: 'chunks', chunks: [{ ...chunk(0), tokens: -1 }] }).success, false);
});
