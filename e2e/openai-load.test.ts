/**
 * Busy workers and cancelled streams, through both base URLs, with one worker that runs one job
 * at a time: concurrent requests all succeed (sealed ones queue for their worker as transport
 * ones queue for any), and a request right after a cancelled stream never fails — 100 times in
 * each mode (the coordinator holds a cancelled job's slot until the worker says it stopped).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { successorText } from '../main/models/test-model.js';
import { KEY, MODEL, startClientsNetwork, type ClientsNetwork } from './clients/network.js';

const CONCURRENT = 8;
const CANCEL_ROUNDS = 100;

describe('busy workers and cancelled streams', () => {
  let net: ClientsNetwork;
  before(async () => {
    net = await startClientsNetwork();
  });
  after(() => net.close());
  const client = (mode: 'transport' | 'sealed') => new OpenAI({ baseURL: net.bases.find((b) => b.mode === mode)!.baseURL, apiKey: KEY, maxRetries: 0 });

  for (const mode of ['transport', 'sealed'] as const) {
    test(`${mode}: ${CONCURRENT} concurrent requests on one single-job worker all succeed`, async () => {
      const openai = client(mode);
      const prompts = Array.from({ length: CONCURRENT }, (_, i) => String.fromCharCode(0x61 + i));
      const answers = await Promise.all(prompts.map((p) => openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: p }], max_tokens: 40, temperature: 0 })));
      assert.deepEqual(
        answers.map((a) => a.choices[0]?.message.content),
        prompts.map((p) => successorText(p, 40)),
      );
    });

    test(`${mode}: a request right after a cancelled stream succeeds, ${CANCEL_ROUNDS} times`, async () => {
      const openai = client(mode);
      for (let round = 0; round < CANCEL_ROUNDS; round++) {
        const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 1500, temperature: 0, stream: true });
        // Leaving the loop aborts the request, as a closed tab or a stopped agent does.
        for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break;
        const next = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'xyz' }], max_tokens: 3, temperature: 0 });
        assert.equal(next.choices[0]?.message.content, successorText('xyz', 3), `round ${round}`);
      }
    });
  }
});
