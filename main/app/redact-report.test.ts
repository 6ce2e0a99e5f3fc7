import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address } from '@ton/core';
import { redactText } from './redact-report.js';

test('addresses, keys, tokens, seed phrases and the home folder are masked', () => {
  const address = new Address(0, Buffer.alloc(32, 5));
  const friendly = address.toString({ bounceable: false, testOnly: true });
  const words = 'abandon ability able about above absent absorb abstract absurd abuse access accident account accuse achieve acid acoustic acquire across act action actor actress actual';
  const text = [
    `payout ${friendly}`,
    `raw ${address.toRawString()}`,
    `key ${'ab'.repeat(32)}`,
    'url http://127.0.0.1:5173/#token=s3cr3t-Token_x and Authorization: Bearer abc.def',
    'api sk-demo-0123456789abcdef',
    `seed ${words}`,
    'model /home/owner/models/llama.gguf',
  ].join('\n');
  const out = redactText(text, { homeDir: '/home/owner' });
  for (const secret of [friendly, address.toRawString(), 'ab'.repeat(32), 's3cr3t-Token_x', 'abc.def', 'sk-demo-0123456789abcdef', words, '/home/owner']) {
    assert.ok(!out.includes(secret), `still contains ${secret}`);
  }
  assert.match(out, /~\/models\/llama\.gguf/);
  assert.match(out, /\[redacted words\]/);
});
