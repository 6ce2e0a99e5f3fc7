import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLOCK_SKEW_MS,
  JobKeyPair,
  MAX_ENVELOPE_TTL_MS,
  ReplayGuard,
  sealedCipherSuite,
  sealedPromptBound,
  sealRequest,
  openRequest,
  type OpenRequestOptions,
  type SealedEnvelope,
  type SealedJobBody,
} from './sealed.js';
import { canonicalJson, toBase64Url, utf8 } from './encoding.js';
import * as nodeCrypto from 'node:crypto';
import { chunkAad, nativeChunkAead, portableChunkAead } from './sealed-stream.js';
import { NativeDhkemX25519HkdfSha256, NativeHkdfSha256, type NodeX25519Crypto } from './native-crypto.js';
import { DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import { finishReasonSchema } from './job-schemas.js';

const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const toHex = (bytes: ArrayBuffer | Uint8Array) => Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');

// RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, mode_base.
const A21 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  ikmE: '909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b',
  pkEm: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
  skEm: 'f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600',
  ikmR: '1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df',
  pkRm: '4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a',
  skRm: '8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb',
  enc: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
  pt: '4265617574792069732074727574682c20747275746820626561757479',
  // A.2.1.1: [sequence number, aad, ciphertext]
  encryptions: [
    [0, '436f756e742d30', '1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28'],
    [1, '436f756e742d31', '6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c'],
    [2, '436f756e742d32', '71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b'],
    [4, '436f756e742d34', '63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122bb153495ff0b02e9e54a50dbe16'],
    [255, '436f756e742d323535', '18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b8880a5f6b3936da9cd6c23ef2a95c'],
    [256, '436f756e742d323536', '7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076214c0c40d4c728d6ed9e727a5b'],
  ],
  // A.2.1.2: [exporter context, 32-byte exported value]
  exports: [
    ['', '4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e'],
    ['00', '8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69'],
    ['54657374436f6e74657874', '5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53'],
  ],
} as const;

for (const portable of [false, true]) test(`RFC 9180 A.2.1 (${portable ? "@hpke's Web Crypto X25519 and HKDF" : "Node's X25519 and HMAC HKDF"}): key derivation, encapsulation, encryptions 0–256 and exports match`, async () => {
  const suite = sealedCipherSuite({ portable });
  assert.equal(suite.kem instanceof NativeDhkemX25519HkdfSha256, !portable, 'the suite under test uses the KEM it names');
  const recipient = await suite.kem.deriveKeyPair(hex(A21.ikmR));
  assert.equal(toHex(await suite.kem.serializePublicKey(recipient.publicKey)), A21.pkRm);
  assert.equal(toHex(await suite.kem.serializePrivateKey(recipient.privateKey)), A21.skRm);
  const ephemeral = await suite.kem.deriveKeyPair(hex(A21.ikmE));
  assert.equal(toHex(await suite.kem.serializePublicKey(ephemeral.publicKey)), A21.pkEm);
  assert.equal(toHex(await suite.kem.serializePrivateKey(ephemeral.privateKey)), A21.skEm);
  assert.equal((await JobKeyPair.derive(hex(A21.ikmR))).publicKey, toBase64Url(hex(A21.pkRm)));

  const sender = await suite.createSenderContext({ recipientPublicKey: recipient.publicKey, info: hex(A21.info), ekm: hex(A21.ikmE) });
  assert.equal(toHex(sender.enc), A21.enc);
  const opener = await suite.createRecipientContext({ recipientKey: recipient, enc: hex(A21.enc), info: hex(A21.info) });
  let seq = 0;
  for (const [target, aad, ciphertext] of A21.encryptions) {
    for (; seq < target; seq++) await opener.open(await sender.seal(hex('00')));
    const sealed = await sender.seal(hex(A21.pt), hex(aad));
    assert.equal(toHex(sealed), ciphertext, `sequence ${target}`);
    assert.equal(toHex(await opener.open(sealed, hex(aad))), A21.pt);
    seq++;
  }
  for (const [context, value] of A21.exports) {
    assert.equal(toHex(await sender.export(hex(context), 32)), value);
    assert.equal(toHex(await opener.export(hex(context), 32)), value);
  }
});

const CANARY = 'CANARY-7f3a9 the secret prompt';
const body: SealedJobBody = { messages: [{ role: 'user', content: CANARY }], params: { temperature: 0.5, seed: 7 } };
const now = 1_750_000_000_000;

async function setup(overrides: { ttlMs?: number; promptTokens?: number } = {}) {
  const keyPair = await JobKeyPair.generate();
  const { envelope, responseOpener } = await sealRequest({
    recipientPublicKey: keyPair.publicKey,
    jobId: 'job-1',
    model: 'tiny',
    coordinatorId: 'coord-a',
    workerId: 'worker-a',
    maxTokens: 64,
    body,
    now,
    ...overrides,
  });
  const options: OpenRequestOptions = { keyPair, workerId: 'worker-a', coordinatorId: 'coord-a', models: ['tiny', 'other'], replayGuard: new ReplayGuard({ now: () => now }), now };
  return { keyPair, envelope, responseOpener, options };
}

function assertRefused(result: Awaited<ReturnType<typeof openRequest>>, code: string, what = code): void {
  assert.equal(result.ok, false, `${what}: expected ${code}`);
  if (result.ok) return;
  assert.equal(result.error.code, code, `${what}: ${result.error.message}`);
  assert.ok(!JSON.stringify(result).includes('CANARY'), 'no plaintext in the refusal');
}

function flipBit(text: string, index: number): string {
  const bytes = Buffer.from(text, 'base64url');
  bytes[index % bytes.length]! ^= 0x01;
  return bytes.toString('base64url');
}

test('a declared prompt count is bound to the envelope and can only raise the prompt bound', async () => {
  const plain = await setup();
  const bytes = JSON.stringify(body).length;
  assert.equal(sealedPromptBound(plain.envelope), bytes + 16, 'one token a plaintext byte, plus the template allowance');
  assert.equal(plain.envelope.promptTokens, undefined);
  const declared = await setup({ promptTokens: 900 });
  assert.equal(declared.envelope.promptTokens, 900);
  assert.equal(sealedPromptBound(declared.envelope), 900);
  assert.equal(sealedPromptBound({ ...declared.envelope, promptTokens: 3 }), bytes + 16, 'a count below the bytes lowers nothing');
  const opened = await openRequest(declared.envelope, declared.options);
  assert.ok(opened.ok && opened.value.job.promptBound === 900);
  // The coordinator or anyone on the way changing the declared count breaks the seal.
  const fresh = await setup({ promptTokens: 900 });
  assertRefused(await openRequest({ ...fresh.envelope, promptTokens: 901 }, fresh.options), 'decrypt_failed', 'a raised count');
  const removed: Record<string, unknown> = { ...fresh.envelope };
  delete removed.promptTokens;
  assertRefused(await openRequest(removed, fresh.options), 'decrypt_failed', 'a removed count');
});

test('round trip: the job process opens the job; the client opens the sealed answer in order', async () => {
  const { envelope, responseOpener, options, keyPair } = await setup();
  assert.ok(!JSON.stringify(envelope).includes('CANARY'), 'the envelope carries no plaintext');
  assert.equal(envelope.recipientKey, keyPair.publicKey);
  assert.equal(envelope.expiresAt, now + 5 * 60_000);
  const opened = await openRequest(envelope, options);
  assert.ok(opened.ok, opened.ok ? '' : opened.error.message);
  assert.deepEqual(opened.value.job, { jobId: 'job-1', model: 'tiny', messages: body.messages, params: { temperature: 0.5, seed: 7, maxTokens: 64 }, promptBound: sealedPromptBound(envelope) });
  const sealer = opened.value.responseSealer;
  const chunks = await Promise.all([sealer.seal('Hel'), sealer.seal('lo, '), sealer.seal('wörld 🌍'), sealer.seal('', { final: true, finishReason: 'stop' })]);
  assert.deepEqual(chunks.map((c) => [c.seq, c.final, c.finishReason]), [[0, false, undefined], [1, false, undefined], [2, false, undefined], [3, true, 'stop']]);
  assert.throws(() => sealer.seal('more'), /final/);
  let text = '';
  for (const chunk of chunks) {
    const result = await responseOpener.open(chunk);
    assert.ok(result.ok);
    text += result.value.text;
    if (result.value.final) assert.equal(result.value.finishReason, 'stop');
  }
  assert.equal(text, 'Hello, wörld 🌍');
  assert.ok(responseOpener.finish().ok);
  assert.ok(responseOpener.finished);
});

test('every bit of enc and ciphertext, and every bound clear field, is authenticated', async () => {
  const { envelope, options } = await setup();
  const ciphertextLength = Buffer.from(envelope.ciphertext, 'base64url').length;
  const cases: [string, SealedEnvelope, Partial<OpenRequestOptions>][] = [
    ['enc', { ...envelope, enc: flipBit(envelope.enc, 5) }, {}],
    ['ciphertext first byte', { ...envelope, ciphertext: flipBit(envelope.ciphertext, 0) }, {}],
    ['ciphertext middle', { ...envelope, ciphertext: flipBit(envelope.ciphertext, 20) }, {}],
    ['ciphertext tag', { ...envelope, ciphertext: flipBit(envelope.ciphertext, ciphertextLength - 1) }, {}],
    ['ciphertext truncated', { ...envelope, ciphertext: Buffer.from(envelope.ciphertext, 'base64url').subarray(0, -1).toString('base64url') }, {}],
    ['jobId', { ...envelope, jobId: 'job-2' }, {}],
    ['model', { ...envelope, model: 'other' }, {}],
    ['maxTokens', { ...envelope, maxTokens: 65 }, {}],
    ['expiresAt', { ...envelope, expiresAt: envelope.expiresAt + 1 }, {}],
    ['workerId', { ...envelope, workerId: 'worker-b' }, { workerId: 'worker-b' }],
    ['coordinatorId', { ...envelope, coordinatorId: 'coord-b' }, { coordinatorId: 'coord-b' }],
  ];
  for (const [name, tampered, extra] of cases) {
    const result = await openRequest(tampered, { ...options, ...extra, replayGuard: new ReplayGuard() });
    assertRefused(result, 'decrypt_failed', name);
  }
});

test('clear-field mismatches, wrong keys and malformed envelopes fail closed with typed errors', async () => {
  const { envelope, options } = await setup();
  const other = await JobKeyPair.generate();
  assertRefused(await openRequest(envelope, { ...options, keyPair: other }), 'stale_key');
  // Sealed to one key, relabelled as another: the HPKE open itself fails.
  assertRefused(await openRequest({ ...envelope, recipientKey: other.publicKey }, { ...options, keyPair: other }), 'decrypt_failed');
  assertRefused(await openRequest(envelope, { ...options, workerId: 'worker-b' }), 'wrong_recipient');
  assertRefused(await openRequest(envelope, { ...options, coordinatorId: 'coord-b' }), 'wrong_recipient');
  assertRefused(await openRequest(envelope, { ...options, models: ['other'] }), 'wrong_model');
  assertRefused(await openRequest({ ...envelope, v: 2 }, options), 'unsupported');
  assertRefused(await openRequest({ ...envelope, suite: 'X25519-HKDF-SHA256-AES128GCM' }, options), 'unsupported');
  assertRefused(await openRequest({ ...envelope, extra: 1 }, options), 'malformed');
  assertRefused(await openRequest({ ...envelope, enc: `${envelope.enc}=` }, options), 'malformed');
  assertRefused(await openRequest('not json', options), 'malformed');
  // Nothing was remembered by the refusals: the real envelope still opens once.
  assert.ok((await openRequest(envelope, options)).ok);
});

test('a replayed envelope is refused; a forged one cannot block the real job id', async () => {
  const { envelope, options } = await setup();
  assertRefused(await openRequest({ ...envelope, ciphertext: flipBit(envelope.ciphertext, 3) }, options), 'decrypt_failed');
  assert.ok((await openRequest(envelope, options)).ok);
  assertRefused(await openRequest(envelope, options), 'replay');
  // Opened concurrently: exactly one wins.
  const fresh = await setup();
  const results = await Promise.all([openRequest(fresh.envelope, fresh.options), openRequest(fresh.envelope, fresh.options)]);
  assert.deepEqual(results.map((r) => r.ok).sort(), [false, true]);
});

test('expired envelopes and envelopes valid for too long are refused', async () => {
  const { envelope, options } = await setup();
  assertRefused(await openRequest(envelope, { ...options, now: envelope.expiresAt + CLOCK_SKEW_MS + 1 }), 'expired');
  assertRefused(await openRequest(envelope, { ...options, now: envelope.expiresAt - MAX_ENVELOPE_TTL_MS - CLOCK_SKEW_MS - 1 }), 'expired');
  await assert.rejects(setup({ ttlMs: MAX_ENVELOPE_TTL_MS + 1 }), /ttlMs/);
});

test('the replay guard refuses when full of unexpired entries and forgets expired ones', () => {
  let clock = 0;
  const guard = new ReplayGuard({ maxEntries: 2, now: () => clock });
  assert.equal(guard.remember('a', 'enc-a', 1000), 'ok');
  assert.equal(guard.remember('b', 'enc-b', 5000), 'ok');
  assert.equal(guard.remember('a', 'enc-x', 1000), 'replay');
  assert.equal(guard.remember('x', 'enc-b', 1000), 'replay');
  assert.equal(guard.remember('c', 'enc-c', 1000), 'full');
  clock = 1000 + CLOCK_SKEW_MS + 1;
  assert.equal(guard.remember('c', 'enc-c', clock + 1000), 'ok');
  assert.equal(guard.size, 2);
  assert.equal(guard.seen('a', 'enc-a'), false);
});

test('the job key pair never serializes its private half', async () => {
  const keyPair = await JobKeyPair.generate();
  assert.deepEqual(JSON.parse(JSON.stringify(keyPair)), { publicKey: keyPair.publicKey });
  assert.deepEqual(Object.keys(keyPair), ['publicKey']);
  assert.deepEqual(structuredClone(keyPair), { publicKey: keyPair.publicKey });
});

async function sealedAnswer() {
  const { envelope, responseOpener, options } = await setup();
  const opened = await openRequest(envelope, options);
  assert.ok(opened.ok);
  const sealer = opened.value.responseSealer;
  const chunks = [await sealer.seal('one '), await sealer.seal('two '), await sealer.seal('three', { final: true, finishReason: 'length' })];
  return { chunks, opener: responseOpener };
}

async function openAll(opener: Awaited<ReturnType<typeof sealedAnswer>>['opener'], chunks: unknown[]) {
  const results = [];
  for (const chunk of chunks) results.push(await opener.open(chunk));
  return { results, finish: opener.finish() };
}

test('answer chunks reordered, dropped, repeated, relabelled, tampered or truncated are detected', async () => {
  const cases: [string, (c: Awaited<ReturnType<typeof sealedAnswer>>['chunks']) => unknown[], string][] = [
    ['reordered', ([a, b, c]) => [b, a, c], 'out_of_order'],
    ['dropped', ([a, , c]) => [a, c], 'out_of_order'],
    ['repeated', ([a, b, c]) => [a, a, b, c], 'out_of_order'],
    ['renumbered to fill a gap', ([a, , c]) => [a, { ...c!, seq: 1 }], 'decrypt_failed'],
    ['flipped bit', ([a, b, c]) => [a, { ...b!, ciphertext: flipBit(b!.ciphertext, 2) }, c], 'decrypt_failed'],
    ['final flag added early', ([a, b]) => [a, { ...b!, final: true, finishReason: 'stop' }], 'decrypt_failed'],
    ['finish reason changed', ([a, b, c]) => [a, b, { ...c!, finishReason: 'stop' }], 'decrypt_failed'],
    ['final flag removed', ([a, b, c]) => [a, b, { ...c!, final: false, finishReason: undefined }], 'decrypt_failed'],
    ['truncated', ([a, b]) => [a, b], 'truncated'],
    ['after the final chunk', ([a, b, c]) => [a, b, c, c], 'out_of_order'],
    ['malformed', ([a]) => [{ ...a!, extra: true }], 'malformed'],
  ];
  for (const [name, edit, code] of cases) {
    const { chunks, opener } = await sealedAnswer();
    const { results, finish } = await openAll(opener, edit(chunks));
    const failure = [...results, finish].find((r) => !r.ok);
    assert.ok(failure && !failure.ok, `${name}: must fail`);
    assert.equal(failure.error.code, code, `${name}: ${failure.error.message}`);
    assert.equal(finish.ok, false, `${name}: the stream as a whole fails`);
    assert.equal(opener.finished, false);
  }
});

test('chunks of another job do not open, and a failure poisons the rest of the stream', async () => {
  const first = await sealedAnswer();
  const second = await sealedAnswer();
  const mixed = await openAll(first.opener, [first.chunks[0], second.chunks[1], first.chunks[1], first.chunks[2]]);
  assert.deepEqual(mixed.results.map((r) => (r.ok ? 'ok' : r.error.code)), ['ok', 'decrypt_failed', 'decrypt_failed', 'decrypt_failed']);
  assert.equal(mixed.finish.ok, false);
});

test('the chunk AAD written out directly is byte-equal to canonicalJson of its fields', () => {
  for (const seq of [0, 1, 9, 10, 255, 65_535, 1_000_000]) {
    assert.deepEqual(chunkAad(seq, false, undefined), utf8(canonicalJson({ final: false, finishReason: null, seq })));
    for (const reason of finishReasonSchema.options) assert.deepEqual(chunkAad(seq, true, reason), utf8(canonicalJson({ final: true, finishReason: reason, seq })));
  }
});

test('Node\'s native ChaCha20-Poly1305 seals the same bytes as the portable one; each opens the other\'s; a bad tag fails', async () => {
  // RFC 8439 §2.8.2's AEAD test vector first, then random inputs of every size a chunk may take.
  const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const nonce = hex('070000004041424344454647');
  const aad = hex('50515253c0c1c2c3c4c5c6c7');
  const plaintext = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const native = nativeChunkAead(nodeCrypto, key);
  const sealed = await native.seal(nonce, plaintext, aad);
  assert.equal(toHex(sealed.subarray(0, 16)), 'd31a8d34648e60db7b86afbc53ef7ec2');
  assert.equal(toHex(sealed.subarray(sealed.length - 16)), '1ae10b594f09e26a7e902ecbd0600691');
  for (const size of [0, 1, 15, 16, 17, 63, 64, 65, 1000, 65_536]) {
    const k = nodeCrypto.randomBytes(32), n = nodeCrypto.randomBytes(12), a = nodeCrypto.randomBytes(size % 40), p = nodeCrypto.randomBytes(size);
    const fast = nativeChunkAead(nodeCrypto, k), portable = portableChunkAead(k);
    const bytes = await fast.seal(n, p, a);
    assert.deepEqual(bytes, await portable.seal(n, p, a), `size ${size}: same bytes`);
    assert.deepEqual(await portable.open(n, bytes, a), new Uint8Array(p));
    assert.deepEqual(await fast.open(n, bytes, a), new Uint8Array(p));
    const tampered = bytes.slice();
    tampered[tampered.length - 1]! ^= 1;
    await assert.rejects(fast.open(n, tampered, a), `size ${size}: a flipped tag bit fails`);
    await assert.rejects(fast.open(n, bytes, utf8('other aad')), `size ${size}: other AAD fails`);
  }
  await assert.rejects(native.open(nonce, new Uint8Array(15), aad), /shorter than its tag/);
});

test("Node's HMAC HKDF gives @hpke's Web Crypto HKDF bytes (RFC 5869 A.1 and random inputs) and keeps its bounds", async () => {
  const native = new NativeHkdfSha256(nodeCrypto);
  const portable = new HkdfSha256();
  // RFC 5869 A.1 (SHA-256): the 13-byte salt is not HPKE's 32 bytes, so extract is checked through HMAC directly.
  const prk = nodeCrypto.createHmac('sha256', hex('000102030405060708090a0b0c')).update(hex('0b'.repeat(22))).digest();
  assert.equal(toHex(prk), '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
  assert.equal(toHex(await native.expand(prk, hex('f0f1f2f3f4f5f6f7f8f9'), 42)), '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  for (const [saltBytes, ikmBytes, infoBytes, length] of [[0, 32, 0, 32], [32, 32, 56, 12], [32, 0, 100, 44], [32, 64, 7, 255 * 32], [0, 1, 1, 1], [32, 32, 32, 0]] as const) {
    const salt = nodeCrypto.randomBytes(saltBytes), ikm = nodeCrypto.randomBytes(ikmBytes), info = nodeCrypto.randomBytes(infoBytes);
    const extracted = await native.extract(salt, ikm);
    assert.deepEqual(toHex(extracted), toHex(await portable.extract(salt, ikm)), `extract, salt ${saltBytes} B`);
    assert.deepEqual(toHex(await native.expand(extracted, info, length)), toHex(await portable.expand(extracted, info, length)), `expand to ${length} B`);
    assert.deepEqual(toHex(await native.extractAndExpand(salt, ikm, info, length)), toHex(await portable.extractAndExpand(salt, ikm, info, length)), `extract and expand to ${length} B`);
  }
  await assert.rejects(native.extract(new Uint8Array(16), new Uint8Array(32)), /salt length/);
  await assert.rejects(native.expand(new Uint8Array(32), new Uint8Array(0), 255 * 32 + 1), /Entropy limit/);
});

test("Node's X25519 KEM and @hpke's Web Crypto one interoperate both ways, with each other's keys", async () => {
  const native = sealedCipherSuite();
  const portable = sealedCipherSuite({ portable: true });
  const info = utf8('interop');
  for (const [sender, recipient] of [[native, portable], [portable, native], [native, native]] as const) {
    const recipientPair = await recipient.kem.generateKeyPair();
    const publicKey = await sender.kem.deserializePublicKey(await recipient.kem.serializePublicKey(recipientPair.publicKey));
    const sealer = await sender.createSenderContext({ recipientPublicKey: publicKey, info });
    const opener = await recipient.createRecipientContext({ recipientKey: recipientPair, enc: sealer.enc, info });
    assert.equal(new TextDecoder().decode(await opener.open(await sealer.seal(utf8(CANARY)))), CANARY);
  }
  // The native steps also take Web Crypto keys made elsewhere (converted with KeyObject.from).
  const webPair = await portable.kem.generateKeyPair();
  const sealer = await native.createSenderContext({ recipientPublicKey: webPair.publicKey, info });
  const opener = await native.createRecipientContext({ recipientKey: webPair, enc: sealer.enc, info });
  assert.equal(new TextDecoder().decode(await opener.open(await sealer.seal(utf8(CANARY)))), CANARY);
  assert.equal(toHex(await native.kem.serializePrivateKey(webPair.privateKey)), toHex(await portable.kem.serializePrivateKey(webPair.privateKey)));
});

test("Node's X25519 KEM refuses small-order and malformed public keys, and never serializes a private key", async () => {
  // @types/node types a DER key as a Buffer; Node takes any Uint8Array, as the code passes it.
  const kem = new NativeDhkemX25519HkdfSha256(nodeCrypto as unknown as NodeX25519Crypto);
  // u = 0 and u = 1 are small-order points: X25519 with them is all zeros (RFC 7748 §6.1, RFC 9180 §7.1.4).
  for (const u of ['00', '01']) {
    const smallOrder = await kem.deserializePublicKey(hex(u.padEnd(64, '0')));
    await assert.rejects(kem.encap({ recipientPublicKey: smallOrder }), (error: Error) => error.name === 'EncapError', `u = ${u}`);
  }
  for (const bytes of [31, 33, 0]) await assert.rejects(kem.deserializePublicKey(new Uint8Array(bytes)), (error: Error) => error.name === 'DeserializeError', `${bytes} bytes`);
  await assert.rejects(kem.deserializePrivateKey(new Uint8Array(31)), (error: Error) => error.name === 'DeserializeError');
  const pair = await kem.generateKeyPair();
  await assert.rejects(kem.serializePrivateKey(pair.publicKey), (error: Error) => error.name === 'SerializeError');
  const rawPrivate = Buffer.from(await kem.serializePrivateKey(pair.privateKey));
  for (const shown of [JSON.stringify(pair), JSON.stringify(structuredClone(pair.privateKey)), String(Object.values(pair.privateKey))]) {
    assert.ok(!shown.includes(rawPrivate.toString('hex')) && !shown.includes(rawPrivate.toString('base64url')) && !/"d"/.test(shown), shown);
  }
  assert.equal(new DhkemX25519HkdfSha256() instanceof NativeDhkemX25519HkdfSha256, false);
});
