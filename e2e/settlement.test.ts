/**
 * Settlement on a local TON chain through the unmodified TonClient: the coordinator deploys and
 * funds its vault; push payouts pay every worker exactly what it earned (less its payout
 * account's one-time storage deposit), and what gets marked pushed is what the chain shows paid.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TonClient, WalletContractV5R1 } from '@ton/ton';
import { Address, internal, SendMode, toNano } from '@ton/core';
import { keyPairFromSeed, mnemonicToPrivateKey } from '@ton/crypto';
import { startChainServer } from '../network/chain/cli.js';
import { startCoordinator, type Coordinator } from '../network/coordinator/server.js';
import { createLogger } from '../network/coordinator/log.js';
import { openSqliteStore } from '../network/coordinator/sqlite-store.js';
import { ACCOUNT_FLOOR, closeBody, Vault } from '../network/contracts/vault.js';
import { CHAIN_GLOBAL_ID, voucherSchema } from '../network/protocol/voucher.js';
import { Harness } from './harness.js';

/** A price that makes amounts of test TON out of few tokens: 0.001 TON per prompt token. */
const PROMPT_NANOTONS_PER_TOKEN = 1_000_000n;
const PRICES = { default: { promptPerMillion: PROMPT_NANOTONS_PER_TOKEN * 1_000_000n, completionPerMillion: 0n }, models: {}, commissionBps: 1000 };

function walletOf(seedByte: number) {
  const key = keyPairFromSeed(Buffer.alloc(32, seedByte));
  return { key, wallet: WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: -3 } }) };
}

/** A local chain and a coordinator that settles on it. */
async function settlingCoordinator(harness: Harness) {
  const chain = await startChainServer({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir() });
  const dataDir = await harness.tempDir();
  const coordinator = await startCoordinator({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    apiKeys: [],
    chain: { url: chain.url, network: 'testnet', pushThreshold: 1000n, pushIntervalMs: 3_600_000 },
    prices: PRICES,
    logger: createLogger('c', { level: 'silent' }),
  });
  const client = new TonClient({ endpoint: `${chain.url}/jsonRPC` });
  return { chain, coordinator, client, dataDir };
}

/** Credits `workers[i]` jobs costing about `nanotons(i)`; returns what each is owed. */
function earn(coordinator: Coordinator, workers: readonly Address[], nanotons: (i: number) => bigint, tag: string): bigint[] {
  workers.forEach((address, i) => {
    // One job is billed for at most a context's worth of tokens: bigger totals take several jobs.
    for (let left = Number(nanotons(i) / PROMPT_NANOTONS_PER_TOKEN), j = 0; left > 0; left -= 1_000_000, j++) {
      coordinator.billing.settle(`${tag}-${i}-${j}`, undefined, 'm', 'done', [
        { workerId: `${tag}${i}`, payoutAddress: address.toString({ testOnly: true }), coefficient: 1, usage: { promptTokens: Math.min(left, 1_000_000), completionTokens: 0 } },
      ]);
    }
  });
  return workers.map((a) => coordinator.store.account(a.toRawString()).cumulative);
}

function owedAccounts(coordinator: Coordinator): string[] {
  return coordinator.store.unpushed(1n).map((a) => a.account).sort();
}

describe('settlement on a local chain', () => {
  const harness = new Harness();
  let ctx: Awaited<ReturnType<typeof settlingCoordinator>>;

  before(async () => {
    ctx = await settlingCoordinator(harness);
  });
  after(async () => {
    await ctx.coordinator.close();
    await ctx.chain.close();
    await harness.cleanup();
  });

  test('the coordinator deployed and funded its vault, and publishes it with the chain it signs for', async () => {
    const vault = ctx.coordinator.settlement?.vault;
    assert.ok(vault);
    assert.equal(await ctx.client.isContractDeployed(Address.parse(vault)), true);
    assert.ok((await ctx.client.getBalance(Address.parse(vault))) > 9_000_000_000n, 'funded with about 10 TON');
    const pricing = (await (await fetch(`${ctx.coordinator.url}/v1/pricing`)).json()) as { vault: string; chain_global_id: number };
    assert.equal(pricing.vault, vault);
    assert.equal(pricing.chain_global_id, CHAIN_GLOBAL_ID.testnet);
    assert.equal(await ctx.client.open(Vault.createFromAddress(Address.parse(vault))).getGlobalId(), CHAIN_GLOBAL_ID.testnet);
  });

  test('a batched push pays 100 workers exactly what each earned, marks them from their counters, never twice', async () => {
    const workers = Array.from({ length: 100 }, (_, i) => walletOf(i + 1).wallet.address);
    const owed = earn(ctx.coordinator, workers, (i) => 20_000_000n + 300_000n * BigInt(i), 'job');
    assert.ok(owed.every((x) => x > ACCOUNT_FLOOR));
    const pushed = await ctx.coordinator.settlement?.pushDue();
    assert.equal(pushed, 100);
    const vault = ctx.client.open(Vault.createFromAddress(Address.parse(ctx.coordinator.settlement?.vault ?? '')));
    for (const [i, address] of workers.entries()) {
      // The payout account kept its storage floor out of the first payout; the rest arrived.
      assert.equal(await ctx.client.getBalance(address), (owed[i] ?? 0n) - ACCOUNT_FLOOR, `worker ${i} paid exactly`);
      const account = await vault.getAccountAddress(address);
      const { stack } = await ctx.client.runMethod(account, 'paid');
      assert.equal(stack.readBigNumber(), owed[i], `worker ${i}'s payout account counts its whole total`);
    }
    assert.deepEqual(owedAccounts(ctx.coordinator), [], 'every account marked pushed');
    assert.equal(await ctx.coordinator.settlement?.pushDue(), 0, 'nothing left to push');
    assert.equal(await ctx.client.getBalance(workers[0] as Address), (owed[0] ?? 0n) - ACCOUNT_FLOOR, 'nothing paid twice');
  });

  test('an account a worker already claimed is marked from its counter and not pushed again', async () => {
    const { key, wallet } = walletOf(200);
    const owner = ctx.client.open(wallet);
    await fetch(`${ctx.chain.url}/faucet`, { method: 'POST', body: JSON.stringify({ address: wallet.address.toString({ testOnly: true }), amount: toNano('1').toString() }) });
    const [owed] = earn(ctx.coordinator, [wallet.address], () => 30_000_000n, 'claimed');
    assert.ok(owed);
    // The worker cashes out its voucher itself before the coordinator's next push.
    const total = ctx.coordinator.store.account(wallet.address.toRawString());
    const voucher = voucherSchema.parse(ctx.coordinator.billing.voucherFor(total.account, total.cumulative, total.seq));
    const vault = ctx.client.open(Vault.createFromAddress(Address.parse(ctx.coordinator.settlement?.vault ?? '')));
    await vault.sendClaim(owner.sender(key.secretKey), voucher);
    // The local chain applies a message and everything it causes before it answers.
    const account = await vault.getAccountAddress(wallet.address);
    assert.equal(await ctx.client.isContractDeployed(account), true);
    assert.equal((await ctx.client.runMethod(account, 'paid')).stack.readBigNumber(), owed);
    assert.deepEqual(owedAccounts(ctx.coordinator), [wallet.address.toRawString()], 'the store does not know of the claim yet');
    const balanceBefore = await ctx.client.getBalance(wallet.address);
    assert.equal(await ctx.coordinator.settlement?.pushDue(), 0, 'nothing sent');
    assert.deepEqual(ctx.coordinator.settlement?.lastPush()?.held.map((h) => h.reason), ['paid']);
    assert.deepEqual(owedAccounts(ctx.coordinator), [], 'marked pushed from the chain');
    assert.equal(await ctx.client.getBalance(wallet.address), balanceBefore, 'not paid twice');
  });
});

describe('settlement when the vault is short', () => {
  const harness = new Harness();
  let ctx: Awaited<ReturnType<typeof settlingCoordinator>>;

  before(async () => {
    ctx = await settlingCoordinator(harness);
  });
  after(async () => {
    await ctx.coordinator.close();
    await ctx.chain.close();
    await harness.cleanup();
  });

  test('one account owed more than the vault and wallet hold waits; the others are paid; a funded wallet tops the vault up', async () => {
    const workers = [11, 12, 13, 14].map((seed) => walletOf(seed).wallet.address);
    // ~1,350 TON for the third worker: more than the 10 TON vault and the wallet's ~10 TON.
    const owed = earn(ctx.coordinator, workers, (i) => (i === 2 ? toNano('1500') : 50_000_000n), 'short');
    const big = workers[2] as Address;
    assert.ok((owed[2] ?? 0n) > toNano('1000'));
    assert.equal(await ctx.coordinator.settlement?.pushDue(), 3);
    const report = ctx.coordinator.settlement?.lastPush();
    assert.deepEqual(report?.held.map((h) => [h.account, h.reason]), [[big.toRawString(), 'underfunded']]);
    assert.equal(report?.topUp, 0n);
    for (const i of [0, 1, 3]) assert.equal(await ctx.client.getBalance(workers[i] as Address), (owed[i] ?? 0n) - ACCOUNT_FLOOR);
    assert.equal(await ctx.client.getBalance(big), 0n);
    assert.deepEqual(owedAccounts(ctx.coordinator), [big.toRawString()], 'only what the chain shows paid is marked');

    // The operator funds the wallet; the next push tops the vault up first and pays the rest.
    const walletAddress = ctx.coordinator.settlement?.wallet ?? '';
    for (let i = 0; i < 2; i++) await fetch(`${ctx.chain.url}/faucet`, { method: 'POST', body: JSON.stringify({ address: walletAddress, amount: toNano('1000').toString() }) });
    assert.equal(await ctx.coordinator.settlement?.pushDue(), 1);
    assert.ok((ctx.coordinator.settlement?.lastPush()?.topUp ?? 0n) > toNano('1000'));
    assert.equal(await ctx.client.getBalance(big), (owed[2] ?? 0n) - ACCOUNT_FLOOR);
    assert.deepEqual(owedAccounts(ctx.coordinator), []);
  });

  test('a push the vault refuses marks nothing, although the wallet sent it (seqno moved)', async () => {
    assert.deepEqual(owedAccounts(ctx.coordinator), []);
    const workers = [21, 22].map((seed) => walletOf(seed).wallet.address);
    earn(ctx.coordinator, workers, () => 50_000_000n, 'closed');
    // Stand in for an operator who closed the vault: the coordinator wallet sends `close`.
    const { mnemonic } = JSON.parse(await readFile(join(ctx.dataDir, 'wallet.json'), 'utf8')) as { mnemonic: string[] };
    const key = await mnemonicToPrivateKey(mnemonic);
    const wallet = ctx.client.open(WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: -3 } }));
    const vault = Address.parse(ctx.coordinator.settlement?.vault ?? '');
    await wallet.sendTransfer({ seqno: await wallet.getSeqno(), secretKey: key.secretKey, sendMode: SendMode.PAY_GAS_SEPARATELY, messages: [internal({ to: vault, value: toNano('0.05'), body: closeBody() })] });
    assert.equal(await ctx.client.open(Vault.createFromAddress(vault)).getClosed(), true);
    const seqno = await wallet.getSeqno();
    assert.equal(await ctx.coordinator.settlement?.pushDue(), 0);
    assert.ok((await wallet.getSeqno()) > seqno, 'the push was sent');
    const report = ctx.coordinator.settlement?.lastPush();
    assert.equal(report?.sent, 0, 'the vault sent no settle');
    assert.deepEqual([...(report?.outcomes.values() ?? [])].map((o) => o.kind), ['unknown', 'unknown']);
    assert.deepEqual(owedAccounts(ctx.coordinator), workers.map((w) => w.toRawString()).sort(), 'nothing marked');
    for (const w of workers) assert.equal(await ctx.client.getBalance(w), 0n);
  });
});

describe('settlement over an older vault', () => {
  const harness = new Harness();
  after(() => harness.cleanup());

  test('a stored vault without payout accounts (the single-map design) is replaced on start', async () => {
    const { chain, coordinator, dataDir } = await settlingCoordinator(harness);
    const first = coordinator.settlement?.vault ?? '';
    const walletAddress = coordinator.settlement?.wallet ?? '';
    await coordinator.close();
    // Stand in for a single-map vault: a deployed contract without the `globalId` getter.
    const store = openSqliteStore(dataDir);
    store.setSetting('vault', walletAddress);
    store.close();
    const restarted = await startCoordinator({
      host: '127.0.0.1', port: 0, dataDir, apiKeys: [],
      chain: { url: chain.url, network: 'testnet', pushThreshold: 1000n, pushIntervalMs: 3_600_000 },
      logger: createLogger('c', { level: 'silent' }),
    });
    assert.equal(restarted.settlement?.vault, first, 'the payout-account vault of this config again');
    assert.equal(restarted.store.getSetting('vault.legacy'), walletAddress);
    await restarted.close();
    await chain.close();
  });
});
