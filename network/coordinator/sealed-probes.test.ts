import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealedJobBodySchema } from '../protocol/sealed.js';
import { BUILT_IN_PROBE_PROMPTS, loadProbePrompts, parseProbePrompts, pickProbeTarget, ProbePromptsError } from './sealed-probes.js';
import { meterJob, withOwnCount, type MeterInput } from './metering.js';
import type { RegisteredWorker } from './worker-registry.js';

const NOW = 1_000_000;

function worker(id: string, options: Partial<Omit<RegisteredWorker, 'models'>> & { models?: string[]; expiresAt?: number } = {}): RegisteredWorker {
  const { models = ['m'], expiresAt, ...over } = options;
  return {
    id,
    models: new Set(models),
    available: true,
    reputation: 0.5,
    running: 0,
    maxConcurrentJobs: 1,
    instance: undefined,
    descriptor: { descriptor: { models: models.map((m) => ({ id: m, sha256: '0'.repeat(64), contextSize: 2048 })), expiresAt: expiresAt ?? NOW + 60_000 } },
    ...over,
  } as unknown as RegisteredWorker;
}

const sequence = (...values: number[]) => () => values.shift() ?? 0;

test('the next probe goes to a worker never probed, else to the one probed least recently', () => {
  const workers = [worker('a'), worker('b'), worker('c')];
  const probedAt = new Map([
    ['a', NOW - 10],
    ['b', NOW - 500],
  ]);
  assert.equal(pickProbeTarget(workers, () => true, probedAt, NOW, Math.random)?.worker.id, 'c', 'never probed first');
  probedAt.set('c', NOW);
  assert.equal(pickProbeTarget(workers, () => true, probedAt, NOW, Math.random)?.worker.id, 'b', 'then the least recently probed');
  // Ties are broken at random: both ends of the random range pick different workers.
  const tied = new Map<string, number>();
  assert.equal(pickProbeTarget(workers, () => true, tied, NOW, sequence(0, 0))?.worker.id, 'a');
  assert.equal(pickProbeTarget(workers, () => true, tied, NOW, sequence(0, 0, 0, 0.99))?.worker.id, 'c');
});

test('only workers that take sealed jobs, on a model the coordinator can re-score, are probed; busy ones too', () => {
  const skipped = [
    worker('elsewhere', { instance: 'other-instance' }),
    worker('away', { available: false }),
    worker('ejected', { reputation: 0 }),
    worker('no-descriptor', { descriptor: undefined }),
    worker('expired', { expiresAt: NOW }),
    worker('unheld-model', { models: ['other'] }),
  ];
  assert.equal(pickProbeTarget(skipped, (m) => m === 'm', new Map(), NOW, Math.random), undefined);
  const target = pickProbeTarget([...skipped, worker('ok', { models: ['other', 'm'] })], (m) => m === 'm', new Map(), NOW, Math.random);
  assert.equal(target?.worker.id, 'ok');
  assert.equal(target?.model, 'm', 'probed on the model it can be checked on');
  assert.equal(target?.contextSize, 2048);
  // A busy worker is probed as a client's job would reach it: queued until a slot frees.
  assert.equal(pickProbeTarget([...skipped, worker('busy', { running: 1 })], (m) => m === 'm', new Map(), NOW, Math.random)?.worker.id, 'busy');
});

test('a prompt file is JSON Lines of chats, with defaults; blank lines are skipped', () => {
  const json = '{"messages":[{"role":"user","content":"w"}],"frequency_penalty":0.5,"presence_penalty":-1,"seed":4,"response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object","properties":{"c":{"type":"string"}}}}}}';
  const prompts = parseProbePrompts(`{"messages":[{"role":"user","content":"hi"}]}\n\n{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"why?"}],"temperature":0,"top_p":0.9,"max_tokens":16}\r\n${json}\n{"messages":[{"role":"user","content":"o"}],"response_format":{"type":"json_object"}}\n{"messages":[{"role":"user","content":"t"}],"temperature":0,"tools":[{"type":"function","function":{"name":"f","description":"d"}}],"tool_choice":"auto","parallel_tool_calls":false}\n{"messages":[{"role":"user","content":"n"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"}\n{"messages":[{"role":"user","content":"r"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"}\n{"messages":[{"role":"user","content":"g"}],"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`);
  assert.deepEqual(prompts, [
    { messages: [{ role: 'user', content: 'hi' }], params: { temperature: 1 }, maxTokens: 128 },
    { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'why?' }], params: { temperature: 0, topP: 0.9 }, maxTokens: 16 },
    // What clients send can be mirrored: penalties, seeds and JSON output are re-scored too.
    { messages: [{ role: 'user', content: 'w' }], params: { temperature: 1, seed: 4, presencePenalty: -1, frequencyPenalty: 0.5, responseFormat: { type: 'json_schema', schema: { type: 'object', properties: { c: { type: 'string' } } } } }, maxTokens: 128 },
    { messages: [{ role: 'user', content: 'o' }], params: { temperature: 1, responseFormat: { type: 'json_object' } }, maxTokens: 128 },
    // Tools offered as an agent offers them (tool_choice 'none' leaves them out, as for a client).
    { messages: [{ role: 'user', content: 't' }], params: { temperature: 0, tools: [{ name: 'f', description: 'd' }], parallelToolCalls: false }, maxTokens: 128 },
    { messages: [{ role: 'user', content: 'n' }], params: { temperature: 1 }, maxTokens: 128 },
    // A call forced, as agents force one: the answer's arguments are re-scored.
    { messages: [{ role: 'user', content: 'r' }], params: { temperature: 1, tools: [{ name: 'f' }], toolChoice: 'required' }, maxTokens: 128 },
    { messages: [{ role: 'user', content: 'g' }], params: { temperature: 1, tools: [{ name: 'f' }, { name: 'g' }], toolChoice: { name: 'g' } }, maxTokens: 128 },
  ]);
  assert.ok(BUILT_IN_PROBE_PROMPTS.length >= 10, 'a built-in set');
  // Sampled as clients sample, penalties and JSON output included, and each a body a worker accepts.
  for (const prompt of BUILT_IN_PROBE_PROMPTS) assert.ok(sealedJobBodySchema.safeParse({ messages: prompt.messages, params: prompt.params }).success, prompt.messages[0]?.content);
  assert.ok(BUILT_IN_PROBE_PROMPTS.some((p) => p.params.temperature === 0) && BUILT_IN_PROBE_PROMPTS.some((p) => p.params.temperature >= 1));
  assert.ok(BUILT_IN_PROBE_PROMPTS.some((p) => p.params.frequencyPenalty) && BUILT_IN_PROBE_PROMPTS.some((p) => p.params.presencePenalty));
  assert.deepEqual(new Set(BUILT_IN_PROBE_PROMPTS.map((p) => p.params.responseFormat?.type).filter(Boolean)), new Set(['json_object', 'json_schema']));
  assert.ok(BUILT_IN_PROBE_PROMPTS.some((p) => p.params.toolChoice === 'required'), 'and a forced call, as agents make');
});

test('a bad prompt file is refused with its line and field', async () => {
  const ok = '{"messages":[{"role":"user","content":"hi"}]}';
  const cases: [string, RegExp][] = [
    ['', /no prompts in it/],
    [`${ok}\nnot json`, /line 2: not JSON/],
    [`${ok}\n{"messages":[]}`, /line 2: messages: /],
    [`{"messages":[{"role":"user","content":"hi"}],"max_tokens":100000}`, /line 1: max_tokens: /],
    [`{"messages":[{"role":"user","content":"hi"}],"stream":true}`, /line 1: .*stream/],
    [`{"messages":[{"role":"wizard","content":"hi"}]}`, /line 1: messages\.0\.role/],
    [`{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`, /line 1: tool_choice names the function 'g', which is not among the tools/],
    [`{"messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}`, /line 1: tool_choice 'required' needs tools/],
    [`{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_object"}}`, /line 1: A JSON response format cannot be combined with tools/],
    [`{"messages":[{"role":"user","content":"hi"}],"frequency_penalty":3}`, /line 1: frequency_penalty: /],
    [`{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}`, /line 1: response_format/],
  ];
  for (const [text, expected] of cases) assert.throws(() => parseProbePrompts(text, 'p.jsonl'), (error: unknown) => error instanceof ProbePromptsError && expected.test(error.message), text);
  const dir = await mkdtemp(join(tmpdir(), 'probe-prompts-'));
  try {
    await assert.rejects(loadProbePrompts(join(dir, 'missing.jsonl')), /--probe-prompts: cannot read .*missing\.jsonl: no such file/);
    const big = join(dir, 'big.jsonl');
    await writeFile(big, Buffer.alloc(8 * 1024 * 1024 + 1, 0x20));
    await assert.rejects(loadProbePrompts(big), /a prompt file may hold at most 8388608/);
    const many = join(dir, 'many.jsonl');
    await writeFile(many, `${ok}\n`.repeat(10_001));
    await assert.rejects(loadProbePrompts(many), /more than 10000 prompts/);
    const good = join(dir, 'good.jsonl');
    await writeFile(good, `${ok}\n`.repeat(3));
    assert.equal((await loadProbePrompts(good)).length, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a probe meters on the coordinator’s own count: exact, a claim above it is a dispute against the worker, figures only fall', () => {
  const input: MeterInput = {
    attempts: [{ workerId: 'w', payoutAddress: undefined, coefficient: 1, accepted: true, streamed: true, completionFigure: 400, completionExact: false, completionClaim: 60, promptClaim: 30 }],
    promptFigure: 300,
    promptExact: false,
  };
  const bounded = meterJob(input);
  assert.deepEqual(bounded.parts[0]?.usage, { promptTokens: 30, completionTokens: 60 }, 'on the sealed bounds, the claims stand');
  assert.deepEqual(bounded.disputes, []);
  const counted = meterJob(withOwnCount(input, { promptTokens: 12, completionTokens: 20 }));
  assert.deepEqual(counted.parts[0]?.usage, { promptTokens: 12, completionTokens: 20 });
  assert.deepEqual(counted.disputes.map((d) => d.kind).sort(), ['completion_over_count', 'prompt_over_count']);
  // A completion count above the streamed bound never raises the bill; the prompt's count is the
  // coordinator's own (a probe offering tools has them documented in its prompt, beyond the sealed size).
  assert.deepEqual(meterJob(withOwnCount(input, { promptTokens: 1000, completionTokens: 1000 })).parts[0]?.usage, { promptTokens: 30, completionTokens: 60 }, 'never above the claim');
  const tools = meterJob(withOwnCount({ ...input, attempts: input.attempts.map((a) => ({ ...a, promptClaim: 890 })) }, { promptTokens: 890, completionTokens: 60 }));
  assert.deepEqual(tools.parts[0]?.usage, { promptTokens: 890, completionTokens: 60 });
  assert.deepEqual(tools.disputes, [], 'an honest claim above the sealed size is no dispute');
});
