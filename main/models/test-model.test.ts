// Tests of the GGUF writer and the generated test model, including REAL inference through
// node-llama-cpp on CPU. Always threads: 1 (the default thread count is ~600x slower on 2 cores).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaChatSession, LlamaCompletion, readGgufFileInfo, resolveChatWrapper } from 'node-llama-cpp';
import type { ChatHistoryItem, Llama, LlamaModel } from 'node-llama-cpp';
import { GgufValueType, GgufWriter, toFloat16Bits } from './gguf-writer.js';
import { buildTestModel, formatTestModelChat, successorText, TEST_MODEL_CHAT_TEMPLATE, writeTestModel } from './test-model.js';

let dir: string;
let tinyPath: string;
let llama: Llama;
let tiny: LlamaModel;
const llamaLogs: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'silkworm-test-model-'));
  tinyPath = join(dir, 'tiny.gguf');
  await writeTestModel(tinyPath);
  llama = await getLlama({ gpu: false, build: 'never', logger: (_level, message) => void llamaLogs.push(message) });
  tiny = await llama.loadModel({ modelPath: tinyPath });
});

after(async () => {
  // The folder first: the process may end while the engine is still being disposed of.
  await rm(dir, { recursive: true, force: true });
  await llama?.dispose();
});

/** Runs `body` with a fresh one-thread context and a completion on its only sequence. */
async function withCompletion<T>(model: LlamaModel, body: (completion: LlamaCompletion) => Promise<T>): Promise<T> {
  const context = await model.createContext({ threads: 1, contextSize: 512 });
  try {
    return await body(new LlamaCompletion({ contextSequence: context.getSequence() }));
  } finally {
    await context.dispose();
  }
}

test('successorText follows the documented rule', () => {
  assert.equal(successorText('abc', 5), 'defgh');
  assert.equal(successorText('x{', 4), '|}~!');
  assert.equal(successorText('~', 3), '!"#');
  for (const after of ['', 'end ', 'line\n', 'café', '\u{1F600}', 'tab\t']) assert.equal(successorText(after, 2), '!"');
  assert.equal(successorText('abc', 0), '');
  assert.equal(successorText('!', 94 + 1), successorText('!', 94) + '"'); // cycles through all 94 printables
});

test('buildTestModel is deterministic and sized as documented', () => {
  const first = buildTestModel();
  assert.deepEqual(first, buildTestModel({ size: 'tiny' }));
  assert.equal(new TextDecoder().decode(first.subarray(0, 4)), 'GGUF');
  assert.ok(first.length > 400_000 && first.length < 600_000, `tiny is ${first.length} bytes`);
  const bench = buildTestModel({ size: 'bench' });
  assert.ok(bench.length > 3_000_000 && bench.length < 10_000_000, `bench is ${bench.length} bytes`);
  assert.notDeepEqual(buildTestModel({ name: 'other' }), first);
});

test('writeTestModel writes the same bytes atomically and leaves no temp file', async () => {
  const target = join(dir, 'sub-tiny.gguf');
  await writeTestModel(target, { name: 'written' });
  assert.deepEqual(new Uint8Array(await readFile(target)), buildTestModel({ name: 'written' }));
  assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.tmp')), []);
  // A missing folder is made (the shared atomic writer creates parents), and no temp file stays.
  await writeTestModel(join(dir, 'missing-folder', 'x.gguf'), { name: 'written' });
  assert.deepEqual(new Uint8Array(await readFile(join(dir, 'missing-folder', 'x.gguf'))), buildTestModel({ name: 'written' }));
  assert.deepEqual((await readdir(join(dir, 'missing-folder'))).filter((name) => name.endsWith('.tmp')), []);
  assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.tmp')), []);
});

test('toFloat16Bits rounds like IEEE half precision', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65520, 0x7c00],
    [2 ** -24, 0x0001], [2 ** -14, 0x0400], [2 ** -26, 0x0000], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
    [Infinity, 0x7c00], [-Infinity, 0xfc00],
  ];
  for (const [value, bits] of cases) assert.equal(toFloat16Bits(value), bits, `f16(${value})`);
  assert.equal(toFloat16Bits(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(toFloat16Bits(NaN) & 0x3ff, 0);
});

test('GgufWriter round-trips every KV type through node-llama-cpp\'s parser', async () => {
  const T = GgufValueType;
  const writer = new GgufWriter()
    .kv('general.architecture', T.STRING, 'llama')
    .kv('t.u8', T.UINT8, 250).kv('t.i8', T.INT8, -5).kv('t.u16', T.UINT16, 65000).kv('t.i16', T.INT16, -30000)
    .kv('t.u32', T.UINT32, 4_000_000_000).kv('t.i32', T.INT32, -2_000_000_000).kv('t.f32', T.FLOAT32, 1.5)
    .kv('t.bool', T.BOOL, true).kv('t.str', T.STRING, 'héllo ▁').kv('t.u64', T.UINT64, 2n ** 40n)
    .kv('t.i64', T.INT64, -(2n ** 40n)).kv('t.f64', T.FLOAT64, Math.PI)
    .array('t.strs', T.STRING, ['a', '', 'ç'])
    .array('t.nested', T.ARRAY, [{ elementType: T.INT32, values: [1, -2] }, { elementType: T.INT32, values: [] }])
    .tensor('a', [3, 2], new Float32Array([1, 2, 3, 4, 5, 6]))
    .tensor('b', [5], new Uint16Array(5));
  const path = join(dir, 'kv.gguf');
  await writeFile(path, writer.toBytes());
  const info = await readGgufFileInfo(path, { logWarnings: false });
  const meta = info.metadata as unknown as { t: Record<string, unknown> };
  assert.deepEqual(
    { ...meta.t },
    {
      u8: 250, i8: -5, u16: 65000, i16: -30000, u32: 4_000_000_000, i32: -2_000_000_000, f32: 1.5, bool: true, str: 'héllo ▁',
      u64: 2n ** 40n, i64: -(2n ** 40n), f64: Math.PI, strs: ['a', '', 'ç'], nested: [[1, -2], []],
    },
  );
  assert.deepEqual(info.tensorInfo?.map(({ name, dimensions, offset }) => ({ name, dimensions, offset })), [
    { name: 'a', dimensions: [3, 2], offset: 0 },
    { name: 'b', dimensions: [5], offset: 32 },
  ]);
  assert.throws(() => new GgufWriter().kv('x', T.UINT32, 1.5).toBytes(), /not an integer/);
  assert.throws(() => new GgufWriter().tensor('x', [4], new Float32Array(3)), /elements/);
});

test('the tiny model parses with readGgufFileInfo', async () => {
  const info = await readGgufFileInfo(tinyPath);
  assert.equal(info.version, 3);
  assert.equal(info.metadata.general.architecture, 'llama');
  const tokenizer = info.metadata.tokenizer as unknown as { chat_template: string; ggml: { tokens: string[]; token_type: number[] } };
  assert.equal(tokenizer.ggml.tokens.length, 260);
  assert.deepEqual([tokenizer.ggml.tokens[3], tokenizer.ggml.tokens[3 + 0xab], tokenizer.ggml.tokens[259]], ['<0x00>', '<0xAB>', '\u2581']);
  assert.equal(tokenizer.ggml.token_type[3 + 0xab], 6);
  assert.equal(tokenizer.chat_template, TEST_MODEL_CHAT_TEMPLATE);
  assert.equal(info.tensorInfo?.length, 2 + 2 * 9 + 1);
  assert.deepEqual(info.tensorInfo?.find((tensor) => tensor.name === 'blk.1.ffn_down.weight')?.dimensions, [128, 64]);
});

test('plain completion of "abc" is exactly successorText (real inference)', async () => {
  await withCompletion(tiny, async (completion) => {
    assert.equal(await completion.generateCompletion('abc', { maxTokens: 20, temperature: 0 }), successorText('abc', 20));
    assert.equal(await completion.generateCompletion('Hi there ~', { maxTokens: 200, temperature: 0 }), successorText('~', 200));
    assert.equal(await completion.generateCompletion('naïve é', { maxTokens: 5, temperature: 0 }), '!"#$%');
  });
});

test('chat with user "abc" replies successorText("abc", 20) through the model\'s own chat template', async () => {
  const wrapper = resolveChatWrapper(tiny);
  assert.equal(wrapper.wrapperName, 'JinjaTemplate');
  const chatHistory: ChatHistoryItem[] = [{ type: 'user', text: 'abc' }, { type: 'model', response: [] }];
  const { contextText } = wrapper.generateContextState({ chatHistory });
  assert.equal(contextText.toString(), 'BOS' + formatTestModelChat([{ role: 'user', content: 'abc' }]));
  await withCompletion(tiny, async (completion) => {
    const tokens = contextText.tokenize(tiny.tokenizer);
    assert.equal(tokens[0], tiny.tokens.bos); // LlamaCompletion prepends its own <s>: drop this one
    assert.equal(await completion.generateCompletion(tokens.slice(1), { maxTokens: 20, temperature: 0 }), 'defghijklmnopqrstuvw');
  });
  const context = await tiny.createContext({ threads: 1, contextSize: 512 });
  try {
    // LlamaChatSession adds its default system prompt; the reply is still predictable.
    const session = new LlamaChatSession({ contextSequence: context.getSequence() });
    assert.equal(await session.prompt('abc', { maxTokens: 20, temperature: 0 }), successorText('abc', 20));
    assert.equal(await session.prompt('Say xyz', { maxTokens: 5, temperature: 0 }), '{|}~!');
  } finally {
    await context.dispose();
  }
});

test('multi-turn chat formats as documented', () => {
  const messages = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'abc' },
    { role: 'assistant', content: 'def' },
    { role: 'user', content: 'xyz' },
  ];
  const chatHistory: ChatHistoryItem[] = [
    { type: 'system', text: 'Be brief.' },
    { type: 'user', text: 'abc' },
    { type: 'model', response: ['def'] },
    { type: 'user', text: 'xyz' },
    { type: 'model', response: [] },
  ];
  const { contextText } = resolveChatWrapper(tiny).generateContextState({ chatHistory });
  assert.equal(contextText.toString(), 'BOS' + formatTestModelChat(messages));
  assert.equal(formatTestModelChat(messages), '\nsystem: Be brief.\nuser: abcdef\nuser: xyz');
});

test('the same seed at temperature 1 gives the same text; another seed differs', async () => {
  await withCompletion(tiny, async (completion) => {
    const sample = (seed: number): Promise<string> => completion.generateCompletion('abc', { maxTokens: 60, temperature: 1, seed });
    const first = await sample(1234);
    assert.equal(await sample(1234), first);
    assert.notEqual(await sample(999), first);
    assert.notEqual(first, successorText('abc', 60), 'temperature 1 should sample some non-successor tokens');
  });
});

test('a truncated model file makes loadModel reject and the process carries on', async () => {
  const bytes = buildTestModel();
  const path = join(dir, 'truncated.gguf');
  await writeFile(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  await assert.rejects(llama.loadModel({ modelPath: path }), /Failed to load model/);
  // llama.cpp's log lines reach the JS logger asynchronously, a little after the rejection.
  const deadline = Date.now() + 2000;
  while (!llamaLogs.some((line) => line.includes('not within the file bounds')) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(llamaLogs.some((line) => line.includes('not within the file bounds')), 'llama.cpp logged why');
  await withCompletion(tiny, async (completion) => {
    assert.equal(await completion.generateCompletion('abc', { maxTokens: 3, temperature: 0 }), 'def');
  });
});

test('the bench model (F16, GQA) generates the same exact text, more slowly', async (t) => {
  const path = join(dir, 'bench.gguf');
  await writeTestModel(path, { size: 'bench' });
  const bench = await llama.loadModel({ modelPath: path });
  try {
    await withCompletion(bench, async (completion) => {
      assert.equal(await completion.generateCompletion('abc', { maxTokens: 20, temperature: 0 }), successorText('abc', 20));
      const started = performance.now();
      const text = await completion.generateCompletion('!', { maxTokens: 100, temperature: 0 });
      t.diagnostic(`bench: ${Math.round(100 / ((performance.now() - started) / 1000))} tokens/s with 1 thread`);
      assert.equal(text, successorText('!', 100));
    });
  } finally {
    await bench.dispose();
  }
});
