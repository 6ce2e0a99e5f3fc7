import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { identityKeyPairFromSeed } from '../protocol/descriptor.js';
import { signHello, verifyHello, TON_ED25519 } from '../protocol/worker-hello.js';
import { toBase64Url } from '../protocol/encoding.js';
import { NODE_ED25519, nodeIdentityKeyPairFromSeed } from './ed25519.js';

const seed = (i: number) => createHash('sha256').update(`seed-${i}`).digest();

test('OpenSSL Ed25519 makes the same keys and signatures as the pure-JS default, and each verifies the other', () => {
  for (let i = 0; i < 4; i++) {
    const identity = identityKeyPairFromSeed(seed(i));
    assert.deepEqual(nodeIdentityKeyPairFromSeed(seed(i)), identity);
    const statement = { coordinatorId: 'c', nonce: 'n', workerId: `w-${i}`, identityKey: toBase64Url(identity.publicKey), payoutAddress: null };
    const signature = signHello(statement, identity, NODE_ED25519);
    assert.equal(signature, signHello(statement, identity, TON_ED25519));
    assert.ok(verifyHello(statement, signature, NODE_ED25519));
    assert.ok(verifyHello(statement, signature, TON_ED25519));
  }
});

test('OpenSSL Ed25519 refuses a signature over other bytes, by another key, or of the wrong size', () => {
  const identity = identityKeyPairFromSeed(seed(1));
  const other = identityKeyPairFromSeed(seed(2));
  const statement = { coordinatorId: 'c', nonce: 'n', workerId: 'w', identityKey: toBase64Url(identity.publicKey), payoutAddress: null };
  const signature = signHello(statement, identity, NODE_ED25519);
  assert.equal(verifyHello({ ...statement, workerId: 'x' }, signature, NODE_ED25519), false);
  assert.equal(verifyHello({ ...statement, identityKey: toBase64Url(other.publicKey) }, signature, NODE_ED25519), false);
  assert.equal(verifyHello(statement, signature.slice(0, 40), NODE_ED25519), false);
  assert.equal(NODE_ED25519.verify(new Uint8Array(3), new Uint8Array(64), new Uint8Array(31)), false);
});
