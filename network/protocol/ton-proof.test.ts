import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Address, beginCell, storeStateInit, type StateInit } from '@ton/core';
import { keyPairFromSeed, mnemonicNew, mnemonicToPrivateKey } from '@ton/crypto';
import { WalletContractV4, WalletContractV5R1 } from '@ton/ton';
import { publicKeyFromStateInit, signTonProof, TON_CHAIN, verifyTonProof, type TonProofPolicy, type TonProofRequest } from './ton-proof.js';

const NOW = 1_760_000_000;
const DOMAIN = 'coordinator.silkworm.example';

const stateInitBase64 = (init: StateInit) => beginCell().store(storeStateInit(init)).endCell().toBoc().toString('base64');

async function realWallet() {
  const key = await mnemonicToPrivateKey(await mnemonicNew(24));
  const wallet = WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: -3 } });
  return { key, wallet };
}

function proofFor(w: Awaited<ReturnType<typeof realWallet>>, overrides: { payload?: string; domain?: string; timestamp?: number } = {}): TonProofRequest {
  const payload = overrides.payload ?? 'ab'.repeat(32);
  const domain = overrides.domain ?? DOMAIN;
  const timestamp = overrides.timestamp ?? NOW - 5;
  return {
    address: w.wallet.address.toRawString(),
    network: TON_CHAIN.testnet,
    publicKey: w.key.publicKey.toString('hex'),
    walletStateInit: stateInitBase64(w.wallet.init),
    proof: { timestamp, domain: { lengthBytes: Buffer.byteLength(domain), value: domain }, payload, signature: signTonProof(w.key.secretKey, { address: w.wallet.address, domain, timestamp, payload }) },
  };
}

function policy(overrides: Partial<TonProofPolicy> = {}): TonProofPolicy {
  return { allowedDomains: [DOMAIN], network: 'testnet', isPayloadValid: (p) => p === 'ab'.repeat(32), nowSeconds: NOW, ...overrides };
}

test('a real V5R1 wallet’s proof verifies and yields its address and key', async () => {
  const w = await realWallet();
  const check = verifyTonProof(proofFor(w), policy());
  assert.ok(check.ok, check.ok ? '' : check.message);
  assert.ok(check.address.equals(w.wallet.address));
  assert.deepEqual(check.publicKey, w.key.publicKey);
});

test('the public key is read from V4 and V5R1 state inits; unknown code is refused clearly', async () => {
  const key = keyPairFromSeed(Buffer.alloc(32, 5));
  assert.deepEqual(publicKeyFromStateInit(WalletContractV4.create({ workchain: 0, publicKey: key.publicKey }).init)?.publicKey, key.publicKey);
  assert.equal(publicKeyFromStateInit(WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey }).init)?.wallet, 'v5r1');
  const w = await realWallet();
  const strange: StateInit = { code: beginCell().storeUint(1, 8).endCell(), data: w.wallet.init.data };
  const request = { ...proofFor(w), address: new Address(0, beginCell().store(storeStateInit(strange)).endCell().hash()).toRawString(), walletStateInit: stateInitBase64(strange) };
  const check = verifyTonProof(request, policy());
  assert.equal(!check.ok && check.code, 'unknown-wallet');
});

test('every tampering is refused with its own reason', async () => {
  const w = await realWallet();
  const other = await realWallet();
  const good = proofFor(w);
  const cases: [string, unknown, Partial<TonProofPolicy>, string][] = [
    ['address of another wallet', { ...good, address: other.wallet.address.toRawString() }, {}, 'address-mismatch'],
    ['state init of another wallet', { ...good, walletStateInit: stateInitBase64(other.wallet.init) }, {}, 'address-mismatch'],
    ['claimed public key of another wallet', { ...good, publicKey: other.key.publicKey.toString('hex') }, {}, 'public-key-mismatch'],
    ['domain changed after signing', { ...good, proof: { ...good.proof, domain: { lengthBytes: 12, value: 'evil.example' } } }, { allowedDomains: [DOMAIN, 'evil.example'] }, 'bad-signature'],
    ['domain not allowed', proofFor(w, { domain: 'evil.example' }), {}, 'domain-not-allowed'],
    ['domain length lies', { ...good, proof: { ...good.proof, domain: { lengthBytes: 3, value: DOMAIN } } }, {}, 'malformed'],
    ['payload changed after signing', { ...good, proof: { ...good.proof, payload: 'cd'.repeat(32) } }, { isPayloadValid: () => true }, 'bad-signature'],
    ['payload never issued', proofFor(w, { payload: 'cd'.repeat(32) }), {}, 'payload-invalid'],
    ['timestamp changed after signing', { ...good, proof: { ...good.proof, timestamp: NOW - 6 } }, {}, 'bad-signature'],
    ['timestamp too old', proofFor(w, { timestamp: NOW - 16 * 60 }), {}, 'expired'],
    ['timestamp in the future', proofFor(w, { timestamp: NOW + 600 }), {}, 'expired'],
    ['signature flipped', { ...good, proof: { ...good.proof, signature: flip(good.proof.signature) } }, {}, 'bad-signature'],
    ['signature by another key', { ...good, proof: { ...good.proof, signature: signTonProof(other.key.secretKey, { address: w.wallet.address, domain: DOMAIN, timestamp: NOW - 5, payload: good.proof.payload }) } }, {}, 'bad-signature'],
    ['mainnet account on a testnet worker', { ...good, network: TON_CHAIN.mainnet }, {}, 'wrong-network'],
    ['not a proof at all', { address: 'x' }, {}, 'malformed'],
  ];
  for (const [name, request, overrides, code] of cases) {
    const check = verifyTonProof(request, policy(overrides));
    assert.equal(check.ok ? 'accepted' : check.code, code, name);
  }
  assert.ok(verifyTonProof(good, policy()).ok, 'the untampered proof still verifies');
});

function flip(base64: string): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[10] = (bytes[10] ?? 0) ^ 1;
  return bytes.toString('base64');
}
