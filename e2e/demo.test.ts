/** `silkworm demo` as a newcomer runs it: it starts, serves the openai client, and stops on Ctrl+C. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Harness, eventually } from './harness.js';
import { successorText } from '../main/models/test-model.js';

const harness = new Harness();
after(() => harness.cleanup());

test('the demo serves the openai client, sealed and in transport mode, then exits cleanly', async () => {
  const demo = harness.spawn(['demo', '--listen', '127.0.0.1:0', '--data', await harness.tempDir()], { SILKWORM_LOG_LEVEL: 'warn' });
  await eventually(() => demo.output.some((l) => l.includes('Press Ctrl+C')), 90_000, 'the demo banner');
  const text = demo.output.join('\n');
  const sealedBase = /sealed end to end \(recommended\): (\S+)/.exec(text)?.[1];
  const transportBase = /transport mode \(coordinator reads requests\): (\S+)/.exec(text)?.[1];
  const apiKey = /API key:\s+(\S+)/.exec(text)?.[1];
  assert.ok(sealedBase && transportBase && apiKey, text);
  assert.match(text, /LOCAL TEST TON/);
  assert.match(text, /probe +the coordinator sealed a job of its own to the worker and re-scored the answer: passed/);
  for (const baseURL of [sealedBase, transportBase]) {
    const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'silkworm-test', messages: [{ role: 'user', content: 'abc' }], max_tokens: 10, temperature: 0, stream: true });
    let answer = '';
    for await (const chunk of stream) answer += chunk.choices[0]?.delta.content ?? '';
    assert.equal(answer, successorText('abc', 10), baseURL);
  }
  demo.kill('SIGINT');
  const exit = await demo.exited;
  assert.equal(exit.code, 0);
});
