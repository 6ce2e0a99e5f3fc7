import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beginCell, storeStateInit } from '@ton/core';
import { mnemonicNew, mnemonicToPrivateKey } from '@ton/crypto';
import { WalletContractV5R1 } from '@ton/ton';
import { startCoordinator } from './server.js';
import { createLogger } from './log.js';
import { signTonProof, TON_CHAIN } from '../protocol/ton-proof.js';
import { TON_PROOF_ROUTES } from './ton-proof-api.js';

test('the coordinator serves the manifest, single-use payloads and proof verification', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-tonproof-'));
  // API keys are set: pairing must still work for workers, which have none.
  const coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: dir, apiKeys: ['client-key'], logger: createLogger('coordinator', { level: 'error' }) });
  try {
    const manifest = (await (await fetch(`${coordinator.url}${TON_PROOF_ROUTES.manifest}`)).json()) as { url: string; name: string; iconUrl: string };
    assert.deepEqual(manifest, { url: coordinator.url, name: 'Silkworm', iconUrl: `${coordinator.url}/tonconnect-icon.png` });
    const icon = await fetch(manifest.iconUrl);
    assert.equal(icon.headers.get('content-type'), 'image/png');

    const issue = async () => (await (await fetch(`${coordinator.url}${TON_PROOF_ROUTES.payload}`, { method: 'POST' })).json()) as { payload: string; expiresAt: string };
    const first = await issue();
    const second = await issue();
    assert.match(first.payload, /^[0-9a-f]{64}$/);
    assert.notEqual(first.payload, second.payload);
    assert.ok(Date.parse(first.expiresAt) > Date.now());

    const key = await mnemonicToPrivateKey(await mnemonicNew(24));
    const wallet = WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: -3 } });
    const domain = new URL(coordinator.url).host;
    const request = (payload: string, chain: string = TON_CHAIN.testnet) => {
      const timestamp = Math.floor(Date.now() / 1000);
      return {
        address: wallet.address.toRawString(),
        network: chain,
        walletStateInit: beginCell().store(storeStateInit(wallet.init)).endCell().toBoc().toString('base64'),
        proof: { timestamp, domain: { lengthBytes: Buffer.byteLength(domain), value: domain }, payload, signature: signTonProof(key.secretKey, { address: wallet.address, domain, timestamp, payload }) },
      };
    };
    const verify = async (body: unknown) => {
      const response = await fetch(`${coordinator.url}${TON_PROOF_ROUTES.verify}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { ok: boolean; address?: string; error?: { code: string } } };
    };

    const good = await verify(request(first.payload));
    assert.equal(good.status, 200);
    assert.deepEqual(good.body, { ok: true, address: wallet.address.toString({ bounceable: false, testOnly: true }), network: 'testnet' });
    assert.match(good.body.address ?? '', /^0Q/);

    const replay = await verify(request(first.payload));
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error?.code, 'payload-invalid', 'a payload answers once');

    const invented = await verify(request('ab'.repeat(32)));
    assert.equal(invented.body.error?.code, 'payload-invalid');

    const mainnet = await verify(request(second.payload, TON_CHAIN.mainnet));
    assert.equal(mainnet.body.error?.code, 'wrong-network');

    const malformed = await verify({ nope: true });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error?.code, 'malformed');

    const closed = await fetch(`${coordinator.url}/v1/models`);
    assert.equal(closed.status, 401, 'the client API still needs its key');
  } finally {
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  }
});
