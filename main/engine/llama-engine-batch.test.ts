/**
 * Batching: one loaded model serving several jobs at once on context sequences of their own.
 * Real node-llama-cpp on the generated test model, whose greedy output is known exactly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaEngine, EngineBusyError } from './llama-engine.js';
import { ContextLengthError } from './job-options.js';
import { writeTestModel, successorText } from '../models/test-model.js';
import type { ChatMessage } from '../../network/protocol/chat.js';

const SEQUENCES = 4;
const CONTEXT = 512;
const PROMPTS = ['abc', 'mno', 'ABC', 'klm'];

describe('llama engine: concurrent jobs on parallel sequences', () => {
  let dir = '';
  let modelPath = '';
  let engine: LlamaEngine;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-batch-'));
    modelPath = join(dir, 'model.gguf');
    await writeTestModel(modelPath);
    ({ engine } = await LlamaEngine.load({ modelPath, threads: 1, contextSize: CONTEXT, sequences: SEQUENCES, gpu: 'cpu', warmupTokens: 0, sandbox: false }, () => {}));
  });
  after(async () => {
    await engine.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const messages = (prompt: string): ChatMessage[] => [{ role: 'user', content: prompt }];

  /** Runs one job, collecting its text and the number of tokens its chunks reported. */
  const run = async (prompt: string, maxTokens: number, signal = new AbortController().signal, onChunk?: (text: string) => void, maxTokensPerSecond?: number) => {
    let text = '';
    let tokens = 0;
    const result = await engine.generate(messages(prompt), { maxTokens, temperature: 0 }, undefined, signal, (piece, count) => {
      text += piece;
      tokens += count;
      onChunk?.(piece);
    }, { maxTokensPerSecond });
    return { text, tokens, ...result };
  };

  test(`${SEQUENCES} concurrent jobs each produce exactly their own expected text`, async () => {
    assert.equal(engine.capacity, SEQUENCES);
    const results = await Promise.all(PROMPTS.map((prompt) => run(prompt, 48)));
    results.forEach((result, index) => {
      assert.equal(result.finishReason, 'length');
      assert.equal(result.text, successorText(PROMPTS[index] ?? '', 48));
      assert.equal(result.usage.completionTokens, 48);
      assert.equal(result.tokens, 48);
    });
  });

  test('one more job than there are sequences is refused as busy, and the others are unharmed', async () => {
    const running = PROMPTS.map((prompt) => run(prompt, 24));
    await assert.rejects(run('xyz', 8), EngineBusyError);
    const results = await Promise.all(running);
    results.forEach((result, index) => assert.equal(result.text, successorText(PROMPTS[index] ?? '', 24)));
    // Every sequence came back: a full batch runs again.
    const again = await Promise.all(PROMPTS.map((prompt) => run(prompt, 4)));
    again.forEach((result, index) => assert.equal(result.text, successorText(PROMPTS[index] ?? '', 4)));
  });

  test('cancelling one job mid-stream stops it alone; the other jobs finish intact', async () => {
    const abort = new AbortController();
    let seen = 0;
    const victim = run('abc', 400, abort.signal, () => {
      if (++seen === 5) abort.abort();
    });
    const others = PROMPTS.slice(1).map((prompt) => run(prompt, 64));
    const cancelled = await victim;
    assert.equal(cancelled.finishReason, 'cancelled');
    assert.ok(cancelled.usage.completionTokens < 400, `the cancelled job stopped early (${cancelled.usage.completionTokens} tokens)`);
    assert.ok(successorText('abc', 400).startsWith(cancelled.text), 'what it did produce is a prefix of its answer');
    const results = await Promise.all(others);
    results.forEach((result, index) => {
      assert.equal(result.finishReason, 'length');
      assert.equal(result.text, successorText(PROMPTS[index + 1] ?? '', 64));
    });
  });

  test('each sequence has its own context budget: a job that fits alone fits beside others, a larger one is refused', async () => {
    // Up to the whole per-sequence context, on every sequence at once.
    const filling = await Promise.all(PROMPTS.map((prompt) => run(prompt, CONTEXT - 40)));
    filling.forEach((result, index) => {
      assert.equal(result.finishReason, 'length');
      assert.equal(result.usage.completionTokens, CONTEXT - 40, 'every sequence generated its whole budget');
      // Exact text is asserted at shorter lengths above. Near a full context on four sequences,
      // batched float sums can flip a near-tie of this synthetic model once in a long run.
      assert.equal(result.text.slice(0, 64), successorText(PROMPTS[index] ?? '', 64));
    });
    await assert.rejects(run('abc', CONTEXT), ContextLengthError);
  });

  test('the Polite token-rate cap bounds the total of all jobs, not each job', async () => {
    const cap = 40;
    const tokensEach = 30;
    const started = performance.now();
    const results = await Promise.all(PROMPTS.map((prompt) => run(prompt, tokensEach, undefined, undefined, cap)));
    const seconds = (performance.now() - started) / 1000;
    results.forEach((result, index) => assert.equal(result.text, successorText(PROMPTS[index] ?? '', tokensEach)));
    // Each job's first slice (cap/4 tokens) may burst; every token after it is paced against
    // the one shared cap. A per-job cap would finish in about tokensEach / cap ≈ 0.75 s.
    const burst = PROMPTS.length * Math.ceil(cap / 4);
    const floor = (PROMPTS.length * tokensEach - burst) / cap;
    assert.ok(seconds >= floor * 0.95, `4 × ${tokensEach} tokens at a total cap of ${cap} tok/s took ${seconds.toFixed(2)} s, at least ${floor.toFixed(2)} s expected`);
  });
});

describe('llama engine: sequences from the memory fit', () => {
  test('without a set number, the engine picks sequences from memory and cores and says why', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'silkworm-fit-'));
    try {
      const modelPath = join(dir, 'model.gguf');
      await writeTestModel(modelPath);
      const { engine, info } = await LlamaEngine.load({ modelPath, threads: 1, contextSize: 256, gpu: 'cpu', warmupTokens: 0, sandbox: false }, () => {});
      try {
        assert.ok(info.sequences >= 1);
        assert.equal(engine.capacity, info.sequences);
        assert.match(info.sequencesReason, /RAM|cores|at most/);
        const results = await Promise.all(Array.from({ length: info.sequences }, () => run(engine, 'abc', 8)));
        for (const text of results) assert.equal(text, successorText('abc', 8));
      } finally {
        await engine.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function run(engine: LlamaEngine, prompt: string, maxTokens: number): Promise<string> {
  let text = '';
  await engine.generate([{ role: 'user', content: prompt }], { maxTokens, temperature: 0 }, undefined, new AbortController().signal, (piece) => (text += piece));
  return text;
}
