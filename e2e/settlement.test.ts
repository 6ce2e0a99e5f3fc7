/**
 * Settlement on a local TON chain through the unmodified TonClient: the coordinator deploys and
 * funds its vault, and batched push payouts pay every worker exactly what it earned.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TonClient, WalletContractV5R1 } from '@ton/ton';
import { Address } from '@ton/core';
import { keyPairFromSeed } from '@ton/crypto';
import { startChainServer } from '../network/chain/cli.js';
import { startCoordinator, type Coordinator } from '../network/coordinator/server.js';
import { createLogger } from '../network/coordinator/log.js';
import { Harness } from './harness.js';

function walletAddress(seedByte: number): Address {
  return WalletContractV5R1.create({ workchain: 0, publicKey: keyPairFromSeed(Buffer.alloc(32, seedByte)).publicKey, walletId: { networkGlobalId: -3 } }).address;
}

describe('settlement on a local chain', () => {
  const harness = new Harness();
  let chain: Awaited<ReturnType<typeof startChainServer>>;
  let coordinator: Coordinator;
  let client: TonClient;

  before(async () => {
    chain = await startChainServer({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir() });
    coordinator = await startCoordinator({
      host: '127.0.0.1',
      port: 0,
      dataDir: await harness.tempDir(),
      apiKeys: [],
      chain: { url: chain.url, network: 'testnet', pushThreshold: 1000n, pushIntervalMs: 3_600_000 },
      logger: createLogger('c', { level: 'silent' }),
    });
    client = new TonClient({ endpoint: `${chain.url}/jsonRPC` });
  });
  after(async () => {
    await coordinator.close();
    await chain.close();
    await harness.cleanup();
  });

  test('the coordinator deployed and funded its vault, and publishes it', async () => {
    const vault = coordinator.settlement?.vault;
    assert.ok(vault);
    assert.equal(await client.isContractDeployed(Address.parse(vault)), true);
    assert.ok((await client.getBalance(Address.parse(vault))) > 9_000_000_000n, 'funded with about 10 TON');
    const pricing = (await (await fetch(`${coordinator.url}/v1/pricing`)).json()) as { vault: string };
    assert.equal(pricing.vault, vault);
  });

  test('a batched push pays 100 workers exactly what each earned, and never twice', async () => {
    const workers = Array.from({ length: 100 }, (_, i) => walletAddress(i + 1));
    workers.forEach((address, i) => {
      coordinator.billing.settle(`job-${i}`, undefined, 'm', 'done', [
        { workerId: `w${i}`, payoutAddress: address.toString({ testOnly: true }), coefficient: 1, usage: { promptTokens: 1000 * (i + 1), completionTokens: 3000 } },
      ]);
    });
    const owed = workers.map((a) => coordinator.store.account(a.toRawString()).cumulative);
    assert.ok(owed.every((x) => x > 1000n));
    const pushed = await coordinator.settlement?.pushDue();
    assert.equal(pushed, 100);
    for (const [i, address] of workers.entries()) {
      let balance = 0n;
      for (let tries = 0; tries < 40 && balance === 0n; tries++) {
        balance = await client.getBalance(address);
        if (balance === 0n) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(balance, owed[i], `worker ${i} paid exactly`);
    }
    assert.equal(await coordinator.settlement?.pushDue(), 0, 'nothing left to push');
  });
});
