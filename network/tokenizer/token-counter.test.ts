import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTestModel, successorText } from '../../main/models/test-model.js';
import { readGgufVocab, GgufVocabError } from './gguf-vocab.js';
import { TokenCounter } from './token-counter.js';

describe('token counting with a model’s own vocabulary', () => {
  let dir: string;
  let model: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-tokenizer-'));
    model = join(dir, 'm.gguf');
    await writeTestModel(model);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('the vocabulary-only file is small, and counts exactly as the whole model does', async () => {
    const vocab = await readGgufVocab(model);
    assert.equal(vocab.vocabSize, 260);
    assert.equal(vocab.maxTokenBytes, 6, '"<0x41>" is the longest piece of the test vocabulary');
    assert.ok(vocab.file.length < 20_000, `vocabulary file is ${vocab.file.length} bytes`);
    const vocabPath = join(dir, 'vocab.gguf');
    await writeFile(vocabPath, vocab.file);
    const fromModel = await TokenCounter.open(model);
    const fromVocab = await TokenCounter.open(vocabPath);
    const messages = [{ role: 'system' as const, content: 's' }, { role: 'user' as const, content: 'abc' }];
    // "<s>\nsystem: s\nuser: abc": <s> plus one byte token per character.
    assert.equal(fromModel.countPrompt(messages), 1 + '\nsystem: s\nuser: abc'.length);
    assert.equal(fromVocab.countPrompt(messages), fromModel.countPrompt(messages));
    assert.equal(fromVocab.countText(successorText('abc', 40)), 40);
    assert.equal(fromVocab.countText(''), 0);
    // A streamed special-token spelling is text, never one control token.
    assert.equal(fromVocab.countText('</s>'), 4);
    await fromModel.dispose();
    await fromVocab.dispose();
  });

  test('a file that is not a GGUF, or a truncated one, is refused with a clear error', async () => {
    const junk = join(dir, 'junk.gguf');
    await writeFile(junk, 'not a model at all');
    await assert.rejects(readGgufVocab(junk), (error: Error) => error instanceof GgufVocabError && /bad magic/.test(error.message));
    const whole = await readGgufVocab(model);
    const cut = join(dir, 'cut.gguf');
    await writeFile(cut, whole.file.subarray(0, 2000));
    await assert.rejects(readGgufVocab(cut), /ends inside its GGUF header/);
  });
});
