import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  descriptorSigningBytes,
  identityKeyPairFromSeed,
  meetsTier,
  signDescriptor,
  TIER_DESCRIPTIONS,
  verifyDescriptor,
  type WorkerDescriptor,
} from './descriptor.js';
import { canonicalJson, fromBase64Url, toBase64Url } from './encoding.js';
import { JobKeyPair } from './sealed.js';

const identity = identityKeyPairFromSeed(new Uint8Array(32).fill(3));
const stranger = identityKeyPairFromSeed(new Uint8Array(32).fill(4));
const now = 1_750_000_000_000;

async function descriptor(overrides: Partial<WorkerDescriptor> = {}): Promise<WorkerDescriptor> {
  return {
    v: 1,
    workerId: 'worker-1',
    identityKey: toBase64Url(identity.publicKey),
    hpke: { suite: 'X25519-HKDF-SHA256-ChaCha20Poly1305', publicKey: (await JobKeyPair.generate()).publicKey },
    models: [{ id: 'tiny', sha256: 'ab'.repeat(32), contextSize: 2048 }],
    tier: 'sandboxed',
    appVersion: '0.1.0',
    buildHash: 'e889fd3',
    tokensPerSecond: 42.5,
    priceCoefficient: 1,
    issuedAt: now,
    expiresAt: now + 60 * 60_000,
    ...overrides,
  };
}

test('a signed descriptor verifies, and survives a JSON round trip with keys in any order', async () => {
  const signed = signDescriptor(await descriptor(), identity.secretKey);
  const reordered = JSON.parse(JSON.stringify({ signature: signed.signature, descriptor: Object.fromEntries(Object.entries(signed.descriptor).reverse()) }));
  const check = verifyDescriptor(reordered, { now });
  assert.ok(check.ok, check.ok ? '' : check.error.message);
  assert.equal(check.value.workerId, 'worker-1');
});

test('the signature covers a prefixed canonical encoding', async () => {
  const d = await descriptor();
  const bytes = Buffer.from(descriptorSigningBytes(d)).toString('utf8');
  assert.ok(bytes.startsWith('silkworm worker descriptor v1\n{"appVersion":"0.1.0","buildHash":"e889fd3","expiresAt":'));
  assert.equal(bytes.slice('silkworm worker descriptor v1\n'.length), canonicalJson(d));
});

test('any change to a signed field, or a foreign signature, is refused', async () => {
  const signed = signDescriptor(await descriptor(), identity.secretKey);
  const other = await JobKeyPair.generate();
  const tampered: [string, unknown][] = [
    ['hpke key swapped', { ...signed, descriptor: { ...signed.descriptor, hpke: { ...signed.descriptor.hpke, publicKey: other.publicKey } } }],
    ['tier raised', { ...signed, descriptor: { ...signed.descriptor, tier: 'tee' } }],
    ['model added', { ...signed, descriptor: { ...signed.descriptor, models: [...signed.descriptor.models, { id: 'big', sha256: 'cd'.repeat(32), contextSize: 4096 }] } }],
    ['price lowered', { ...signed, descriptor: { ...signed.descriptor, priceCoefficient: 0.5 } }],
    ['worker id changed', { ...signed, descriptor: { ...signed.descriptor, workerId: 'worker-2' } }],
    ['signature bit flipped', { ...signed, signature: toBase64Url(fromBase64Url(signed.signature)!.map((b, i) => (i === 9 ? b ^ 1 : b))) }],
    ['identity key swapped', { ...signed, descriptor: { ...signed.descriptor, identityKey: toBase64Url(stranger.publicKey) } }],
  ];
  for (const [name, value] of tampered) {
    const check = verifyDescriptor(value, { now });
    assert.equal(check.ok, false, name);
    if (!check.ok) assert.equal(check.error.code, 'bad_signature', name);
  }
  // Signed by a stranger claiming to be worker-1's identity: signDescriptor refuses to make it.
  assert.throws(() => signDescriptor(signed.descriptor, stranger.secretKey), /identityKey/);
});

test('malformed, expired, future and unpinned descriptors are refused', async () => {
  const signed = signDescriptor(await descriptor(), identity.secretKey);
  const code = (value: unknown, options = {}) => {
    const check = verifyDescriptor(value, { now, ...options });
    return check.ok ? 'ok' : check.error.code;
  };
  assert.equal(code({ ...signed, extra: 1 }), 'malformed');
  assert.equal(code({ ...signed, descriptor: { ...signed.descriptor, tier: 'confidential' } }), 'malformed');
  assert.equal(code(null), 'malformed');
  assert.equal(code(signed, { now: now + 2 * 60 * 60_000 }), 'expired');
  assert.equal(code(signed, { now: now - 60 * 60_000 }), 'not_yet_valid');
  assert.equal(code(signDescriptor(await descriptor({ expiresAt: now + 25 * 60 * 60_000 }), identity.secretKey)), 'malformed');
  assert.equal(code(signed, { trustedIdentityKeys: [toBase64Url(stranger.publicKey)] }), 'untrusted');
  assert.equal(code(signed, { trustedIdentityKeys: [toBase64Url(identity.publicKey)] }), 'ok');
});

test('tiers are ordered and described honestly', () => {
  assert.ok(meetsTier('tee', 'sandboxed'));
  assert.ok(meetsTier('sandboxed', 'sandboxed'));
  assert.ok(!meetsTier('unsandboxed', 'sandboxed'));
  assert.match(TIER_DESCRIPTIONS.sandboxed.summary, /administrator rights, can still read/);
  assert.match(TIER_DESCRIPTIONS.tee.label, /reserved/);
});

test('canonical JSON sorts keys, drops undefined, and refuses what JSON cannot carry', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, é: 1.5, A: -0 }), '{"A":0,"a":[true,null,"x"],"b":1,"é":1.5}');
  assert.throws(() => canonicalJson({ a: Number.NaN }), /finite/);
  assert.throws(() => canonicalJson({ a: 1n }), /bigint/);
});

test('base64url is unpadded and has one encoding per value', () => {
  for (const length of [0, 1, 2, 3, 31, 32, 64]) {
    const bytes = new Uint8Array(length).map((_, i) => (i * 37 + 11) & 0xff);
    const text = toBase64Url(bytes);
    assert.equal(text, Buffer.from(bytes).toString('base64url'));
    assert.deepEqual(fromBase64Url(text), bytes);
  }
  assert.equal(fromBase64Url('AB=='), null);
  assert.equal(fromBase64Url('AB+/'), null);
  assert.equal(fromBase64Url('AB'), null, 'non-zero trailing bits');
  assert.equal(fromBase64Url('A'), null);
});

test('the verified-signature memo skips repeats but never accepts a changed descriptor', async () => {
  const signed = signDescriptor(await descriptor(), identity.secretKey);
  const memo = new Map<string, string>();
  assert.ok(verifyDescriptor(signed, { now, verifiedSignatures: memo }).ok);
  assert.equal(memo.size, 1);
  assert.ok(verifyDescriptor(signed, { now, verifiedSignatures: memo }).ok);
  const raised = { ...signed, descriptor: { ...signed.descriptor, tier: 'tee' } };
  const check = verifyDescriptor(raised, { now, verifiedSignatures: memo });
  assert.equal(check.ok ? 'ok' : check.error.code, 'bad_signature');
  assert.equal(memo.size, 1);
});
