/**
 * Metering end to end: a client without balance is refused before any work; a funded client
 * pays exactly tokens × price; the worker gets a receipt with a voucher it can verify.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { WalletContractV5R1 } from '@ton/ton';
import { keyPairFromSeed } from '@ton/crypto';
import { startCoordinator, clientIdForKey, type Coordinator } from '../network/coordinator/server.js';
import { createLogger } from '../network/coordinator/log.js';
import { earningsAccount } from '../network/coordinator/billing.js';
import { DEFAULT_PRICE_LIST, jobCost, splitCost } from '../network/protocol/pricing.js';
import { verifyVoucher } from '../network/protocol/voucher.js';
import { Harness } from './harness.js';

const KEY = 'sk-metered';
const ADMIN = 'admin-secret';
const MODEL = 'silkworm-test';

function testAddress(seedByte: number): string {
  const wallet = WalletContractV5R1.create({ workchain: 0, publicKey: keyPairFromSeed(Buffer.alloc(32, seedByte)).publicKey, walletId: { networkGlobalId: -3 } });
  return wallet.address.toString({ testOnly: true, bounceable: false });
}

describe('metering and vouchers', () => {
  const harness = new Harness();
  let coordinator: Coordinator;
  let client: OpenAI;
  let worker: Awaited<ReturnType<Harness['worker']>>;
  const payout = testAddress(7);
  const vault = testAddress(9);

  const deposit = (nanotons: string, reference: string, key = ADMIN) =>
    fetch(`${coordinator.url}/v1/admin/deposits`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ client: clientIdForKey(KEY), nanotons, reference }) });
  const balance = async () => BigInt(((await (await fetch(`${coordinator.url}/v1/balance`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { balance_nanotons: string }).balance_nanotons);

  before(async () => {
    coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), apiKeys: [KEY], adminKey: ADMIN, vault, logger: createLogger('c', { level: 'silent' }) });
    worker = await harness.worker(coordinator.url, { extra: ['--payout-address', payout] });
    client = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await coordinator.close();
    await harness.cleanup();
  });

  test('a client without balance gets 402 before any work is done', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 20 }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 402 && e.code === 'insufficient_balance' && /Insufficient balance/.test(e.message),
    );
    assert.equal(worker.proc.count('job started'), 0, 'no job reached the worker');
  });

  test('deposits need the admin key and apply once per reference', async () => {
    assert.equal((await deposit('1000000000', 'tx-1', 'wrong')).status, 401);
    assert.equal((await deposit('1000000000', 'tx-1')).status, 201);
    assert.equal((await deposit('1000000000', 'tx-1')).status, 200);
    assert.equal(await balance(), 1_000_000_000n);
  });

  test('a funded request is charged exactly; the worker receives its share and a valid voucher', async () => {
    const before = await balance();
    const receipt = worker.proc.waitForNext((l) => l.msg === 'job receipt');
    const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 20, temperature: 0 });
    const usage = answer.usage;
    assert.ok(usage);
    const cost = jobCost(DEFAULT_PRICE_LIST.default, { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }, 1);
    assert.ok(cost > 0n);
    assert.equal(await balance(), before - cost, 'charged exactly the cost, the rest of the hold refunded');
    const line = await receipt;
    const earned = splitCost(cost, DEFAULT_PRICE_LIST.commissionBps).worker;
    assert.equal(line.earnedNanotons, earned.toString());
    assert.equal(line.cumulativeNanotons, earned.toString());
    assert.equal(line.outcome, 'done', 'the receipt says how the job ended');
    const pricing = (await (await fetch(`${coordinator.url}/v1/pricing`)).json()) as { voucher_public_key: string; vault: string };
    assert.equal(pricing.vault, vault);
    const account = coordinator.store.account(earningsAccount('unused', payout));
    assert.equal(account.cumulative, earned);
    const voucher = coordinator.billing.voucherFor(account.account, account.cumulative, account.seq);
    assert.ok(voucher);
    const checked = verifyVoucher(voucher, pricing.voucher_public_key, vault);
    assert.equal(checked.ok, true);
  });

  test('a client that hangs up pays only for what it received', async () => {
    const before = await balance();
    const receipt = worker.proc.waitForNext((l) => l.msg === 'job receipt');
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'abc' }], max_tokens: 1900, temperature: 0, stream: true });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break;
    await worker.proc.waitForNext((l) => l.msg === 'job failed' && l.code === 'cancelled', 10_000);
    const spent = before - (await balance());
    const fullPrice = jobCost(DEFAULT_PRICE_LIST.default, { promptTokens: 0, completionTokens: 1900 }, 1);
    assert.ok(spent > 0n, 'the tokens received were paid for');
    assert.ok(spent < fullPrice / 2n, `far less than the whole job (${spent} of ${fullPrice})`);
    assert.equal((await receipt).outcome, 'cancelled', 'the worker learns the client left: its receipt is not compared with what it sent');
  });
});
