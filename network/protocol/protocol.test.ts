/** The wire contract's own rules: versions, frame decoding, request validation, addresses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forVersion, negotiateVersion } from './version.js';
import { decodeFrame, encodeFrame, utf8Length } from './frame-codec.js';
import { workerFrameSchema, coordinatorFrameSchema } from './worker-frames.js';
import { parseChatCompletionRequest } from './openai/chat-request.js';
import { parseHostPort, formatHostPort } from './host-port.js';
import { decodeAnswerPart, encodeAnswerPart, mergeParts, partBytes } from './answer-parts.js';

test('version negotiation picks the highest common version or names the old side', () => {
  assert.deepEqual(negotiateVersion({ min: 1, max: 3 }, { min: 1, max: 2 }), { ok: true, version: 2 });
  assert.deepEqual(negotiateVersion({ min: 2, max: 2 }, { min: 1, max: 4 }), { ok: true, version: 2 });
  const old = negotiateVersion({ min: 1, max: 1 }, { min: 2, max: 3 });
  assert.equal(old.ok, false);
  assert.equal(!old.ok && old.code, 'client_too_old');
  const future = negotiateVersion({ min: 5, max: 6 }, { min: 2, max: 3 });
  assert.equal(!future.ok && future.code, 'server_too_old');
});

test('a peer on an older version never gets a field it lacks: thoughts travel apart from protocol 4', () => {
  const offer = { type: 'job.offer' as const, jobId: 'j', model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], params: { maxTokens: 4, temperature: 0 }, continuation: 'Hel', continuationReasoning: 'hmm' };
  const chunk = { type: 'job.chunk' as const, jobId: 'j', seq: 0, text: '', tokens: 2, reasoning: 'hmm' };
  assert.deepEqual(forVersion(offer, 4), offer);
  assert.deepEqual(forVersion(chunk, 4), chunk);
  const { continuationReasoning: _thought, ...oldOffer } = offer;
  assert.deepEqual(forVersion(offer, 3), oldOffer, 'a version-3 worker starts the thought again, as it did');
  assert.deepEqual(forVersion(chunk, 3), { type: 'job.chunk', jobId: 'j', seq: 0, text: '', tokens: 2 });
  assert.equal(offer.continuationReasoning, 'hmm', 'the frame itself is left as it was');
  const ping = { type: 'ping' as const, seq: 1, sentAt: 2 };
  assert.equal(forVersion(ping, 2), ping);
  // Version 5: the prompt claimed with the first chunk, which a version-4 coordinator would refuse.
  const first = workerFrameSchema.parse({ type: 'job.chunk', jobId: 'j', seq: 0, text: 'a', tokens: 1, promptTokens: 11 });
  const sealedFirst = workerFrameSchema.parse({ type: 'job.sealed_chunk', jobId: 'j', seq: 0, ciphertext: 'B'.repeat(24), final: false, tokens: 1, promptTokens: 11 });
  assert.deepEqual(forVersion(first, 5), first);
  assert.deepEqual(forVersion(first, 4), { type: 'job.chunk', jobId: 'j', seq: 0, text: 'a', tokens: 1 });
  assert.equal('promptTokens' in forVersion(sealedFirst, 4), false);
  assert.equal(forVersion(sealedFirst, 5), sealedFirst);
});

test('utf8Length counts bytes as UTF-8 does', () => {
  for (const s of ['', 'abc', 'é', '€', '😀', 'a😀é€z']) assert.equal(utf8Length(s), Buffer.byteLength(s), s);
});

test('decodeFrame checks size before parsing, then JSON, then the schema', () => {
  const ping = JSON.stringify({ type: 'ping', seq: 1, sentAt: 2 });
  const good = decodeFrame(workerFrameSchema, ping, ping.length);
  assert.deepEqual(good, { ok: true, value: { type: 'ping', seq: 1, sentAt: 2 } });
  const big = decodeFrame(workerFrameSchema, ping, 10, 5);
  assert.equal(!big.ok && big.error.code, 'frame_too_large');
  const notJson = decodeFrame(workerFrameSchema, '{', 1);
  assert.equal(!notJson.ok && notJson.error.code, 'bad_frame');
  const extra = decodeFrame(workerFrameSchema, JSON.stringify({ type: 'ping', seq: 1, sentAt: 2, sneaky: true }), 60);
  assert.equal(!extra.ok && extra.error.code, 'bad_frame');
  assert.match(!extra.ok ? extra.error.message : '', /sneaky/);
  const unknownType = decodeFrame(coordinatorFrameSchema, JSON.stringify({ type: 'job.chunk', jobId: 'a', seq: 0, text: '', tokens: 0 }), 60);
  assert.equal(unknownType.ok, false, 'a worker-only frame is not a coordinator frame');
});

test("a welcome is refused when the worker could not use its terms: a vault that is no TON address, a price beyond any price list's", () => {
  const vault = 'EQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM9c';
  const price = { promptPerMillion: '10000000', completionPerMillion: '30000000' };
  const welcome = (settlementVault: string, models: Record<string, typeof price>) => ({
    type: 'welcome', protocol: 4, coordinatorId: 'c', heartbeatIntervalMs: 1000, maxFrameBytes: 4096,
    settlement: { vault: settlementVault, voucherPublicKey: '11'.repeat(32), chainGlobalId: -3 }, pricing: { default: price, models, commissionBps: 1000 },
  });
  assert.equal(coordinatorFrameSchema.safeParse(welcome(vault, {})).success, true);
  assert.equal(coordinatorFrameSchema.safeParse(welcome(`0:${'ab'.repeat(32)}`, {})).success, true, 'a raw address is an address');
  assert.equal(coordinatorFrameSchema.safeParse(welcome('not-a-ton-address', {})).success, false);
  assert.equal(coordinatorFrameSchema.safeParse(welcome(vault, { m: { ...price, promptPerMillion: '1000000000000000' } })).success, true, 'the highest list price');
  assert.equal(coordinatorFrameSchema.safeParse(welcome(vault, { m: { ...price, promptPerMillion: '1000000000000001' } })).success, false);
  assert.equal(coordinatorFrameSchema.safeParse(welcome(vault, { m: { ...price, completionPerMillion: '9'.repeat(31) } })).success, false);
});

test('encodeFrame refuses a frame the peer would reject', () => {
  assert.equal(encodeFrame({ type: 'ping', seq: 0, sentAt: 0 }).ok, true);
  const r = encodeFrame({ text: 'x'.repeat(100) }, 50);
  assert.equal(!r.ok && r.error.code, 'frame_too_large');
});

test('chat requests are validated strictly with OpenAI-style messages', () => {
  const ok = parseChatCompletionRequest({
    model: 'm',
    messages: [
      { role: 'developer', content: 'rules' },
      { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
    ],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: null,
  });
  assert.ok(ok.ok);
  assert.deepEqual(ok.generation.messages, [
    { role: 'system', content: 'rules' },
    { role: 'user', content: 'ab' },
  ]);
  const unknown = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], frobnicate: {} });
  assert.ok(!unknown.ok);
  assert.deepEqual(unknown.problem, { message: 'Unrecognized request argument supplied: frobnicate', param: 'frobnicate' });
  const image = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] });
  assert.ok(!image.ok);
  assert.match(image.problem.message, /messages\[0\]\.content\[0\].*image content parts are not supported/);
  const tool = parseChatCompletionRequest({ model: 'm', messages: [{ role: 'tool', content: 'x' }] });
  assert.ok(!tool.ok);
  assert.match(tool.problem.message, /tool_call_id/);
});

test('HOST:PORT parsing accepts IPv4, names, IPv6 and :PORT, and refuses the rest', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:8787'), { ok: true, value: { host: '127.0.0.1', port: 8787 } });
  assert.deepEqual(parseHostPort('[::1]:0'), { ok: true, value: { host: '::1', port: 0 } });
  assert.deepEqual(parseHostPort(':9000'), { ok: true, value: { host: '127.0.0.1', port: 9000 } });
  assert.deepEqual(parseHostPort('localhost:1'), { ok: true, value: { host: 'localhost', port: 1 } });
  assert.equal(parseHostPort('8787').ok, false);
  assert.equal(parseHostPort('host:70000').ok, false);
  assert.equal(formatHostPort({ host: '::1', port: 5 }), '[::1]:5');
});

test('answer pieces carry a thinking model’s reasoning: sealed as JSON, merged in order, counted in the output bound', () => {
  const thought = { text: '', reasoning: 'Let me think' };
  assert.deepEqual(decodeAnswerPart(encodeAnswerPart(thought)), thought);
  const merged = mergeParts(mergeParts(thought, { text: '', reasoning: '… done.' }), { text: 'Hi' });
  assert.deepEqual(merged, { text: 'Hi', reasoning: 'Let me think… done.' });
  assert.equal(partBytes(merged), 'Hi'.length + utf8Length('Let me think… done.'), 'thoughts count against the bytes max_tokens can hold');
  assert.equal(decodeAnswerPart(JSON.stringify({ reasoning: 7 })), undefined, 'a malformed piece is refused');
  const frame = { type: 'job.chunk', jobId: 'j', seq: 0, text: '', tokens: 2, reasoning: 'hm' };
  assert.equal(workerFrameSchema.safeParse(frame).success, true);
  assert.equal(workerFrameSchema.safeParse({ ...frame, reasoning: ['hm'] }).success, false);
});
