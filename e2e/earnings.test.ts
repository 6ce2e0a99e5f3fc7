/**
 * The whole money flow on a local chain, through the unmodified TonClient: jobs served →
 * receipts and vouchers in the worker's ledger → Cash out claims from the vault → the chain
 * watcher sees the payout → the ledger marks it paid, exact to the nanoton.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { TonClient } from '@ton/ton';
import { toNano } from '@ton/core';
import { startChainServer } from '../network/chain/cli.js';
import { createChainLogger } from '../network/chain/log.js';
import { startCoordinator, clientIdForKey, type Coordinator } from '../network/coordinator/server.js';
import { createLogger as coordinatorLogger } from '../network/coordinator/log.js';
import { startWorkerCore, type WorkerCore } from '../main/worker/worker-core.js';
import { createLogger } from '../network/node-kit/log.js';
import { loadDemoWallet } from '../cli/demo-wallet.js';
import { Harness, eventually } from './harness.js';

const KEY = 'sk-earn';

describe('earnings you can verify', () => {
  const harness = new Harness();
  let chain: Awaited<ReturnType<typeof startChainServer>>;
  let coordinator: Coordinator;
  let worker: WorkerCore;
  let owner: Awaited<ReturnType<typeof loadDemoWallet>>;

  before(async () => {
    chain = await startChainServer({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), logger: createChainLogger({ level: 'silent' }) });
    coordinator = await startCoordinator({
      host: '127.0.0.1',
      port: 0,
      dataDir: await harness.tempDir(),
      apiKeys: [KEY],
      adminKey: 'admin',
      chain: { url: chain.url, network: 'testnet', pushThreshold: toNano('1000'), pushIntervalMs: 3_600_000 },
      logger: coordinatorLogger('c', { level: 'silent' }),
    });
    await fetch(`${coordinator.url}/v1/admin/deposits`, { method: 'POST', headers: { authorization: 'Bearer admin' }, body: JSON.stringify({ client: clientIdForKey(KEY), nanotons: toNano('50').toString(), reference: 'd1' }) });
    owner = await loadDemoWallet(`${await harness.tempDir()}/owner.json`);
    // The owner's wallet pays the claim's gas, so it needs a little test TON first.
    await fetch(`${chain.url}/faucet`, { method: 'POST', body: JSON.stringify({ address: owner.address, amount: toNano('2').toString() }) });
    const client = new TonClient({ endpoint: `${chain.url}/jsonRPC` });
    worker = await startWorkerCore({
      coordinatorUrl: coordinator.url,
      dataDir: await harness.tempDir(),
      modelPath: await harness.model(),
      threads: 1,
      payoutAddress: owner.address,
      chainUrl: chain.url,
      cashOut: { sender: client.open(owner.wallet).sender(owner.key.secretKey) },
      logger: createLogger('w', { level: 'silent' }),
    });
    await eventually(() => worker.books() !== undefined, 20_000, 'the ledger to open');
  });
  after(async () => {
    await worker.stop();
    await coordinator.close();
    await chain.close();
    await harness.cleanup();
  });

  test('served jobs are credited with vouchers; Cash out is paid on chain and marked paid exactly', async () => {
    const openai = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: KEY, maxRetries: 0 });
    for (const content of ['abc', 'xyz', 'klm']) await openai.chat.completions.create({ model: 'silkworm-test', messages: [{ role: 'user', content }], max_tokens: 200, temperature: 0 });
    const books = worker.books();
    assert.ok(books);
    const owed = coordinator.store.account(owner.raw).cumulative;
    assert.ok(owed > 0n);
    await eventually(() => books.ledger.balances().vouchedNanotons === owed, 10_000, 'the last voucher in the ledger');
    const before = books.ledger.balances();
    assert.equal(before.earnedNanotons, owed, 'every credit recorded once');
    assert.equal(before.pendingNanotons, 0n, 'every job covered by a voucher');
    assert.equal(before.claimableNanotons, owed);
    assert.equal(books.ledger.anomalies().length, 0);

    const cashOut = await books.earnings.cashOut();
    assert.equal(cashOut.ok, true, JSON.stringify(cashOut, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
    await eventually(() => books.ledger.balances().paidNanotons === owed, 30_000, 'the payout to be seen on chain');
    const after = books.ledger.balances();
    assert.equal(after.claimableNanotons, 0n);
    assert.equal(after.flaggedNanotons, 0n);
    const summary = books.earnings.summary();
    assert.ok(summary.today.totals.completionTokens >= 600);
  });
});
