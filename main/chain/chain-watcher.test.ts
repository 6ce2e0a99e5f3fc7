// End to end on a local chain, through the unmodified TonClient: jobs are credited, vouchers
// stored, Cash out claims from a real vault, the chain watcher sees the payouts and the ledger
// marks the jobs paid — exact to the nanoton, once, across watcher restarts and rescans.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beginCell, internal, SendMode, toNano, type Address } from '@ton/core';
import { keyPairFromSeed, type KeyPair } from '@ton/crypto';
import { TonClient, WalletContractV5R1 } from '@ton/ton';
import { startChainServer, type ChainServer } from '../../network/chain/cli.js';
import { accountCode, vaultCode } from '../../network/contracts/compile.js';
import { PayoutAccount } from '../../network/contracts/payout-account.js';
import { Vault, VaultOp } from '../../network/contracts/vault.js';
import { CHAIN_GLOBAL_ID } from '../../network/protocol/voucher.js';
import { utcDay } from '../ledger/days.js';
import { Ledger } from '../ledger/ledger.js';
import { job, ledgerWorld, silentLogger, type LedgerWorld } from '../ledger/testing/ledger-fixtures.js';
import { EarningsService } from '../earnings/earnings-service.js';
import { ChainWatcher } from './chain-watcher.js';
import { knowPayoutAccount } from './payout-account.js';
import { knowVaultTerms } from './vault-terms.js';

const TESTNET = -3; // V5R1 network id

let dir: string;
let server: ChainServer;
let client: TonClient;
let world: LedgerWorld;
let workerKey: KeyPair;
let workerWallet: WalletContractV5R1;
let vault: Vault;
let ledger: Ledger;
let earnings: EarningsService;

function v5(key: KeyPair): WalletContractV5R1 {
  return WalletContractV5R1.create({ publicKey: key.publicKey, walletId: { networkGlobalId: TESTNET } });
}

async function faucet(address: Address, amount: bigint): Promise<void> {
  const res = await fetch(`${server.url}/faucet`, { method: 'POST', body: JSON.stringify({ address: address.toString(), amount: amount.toString() }) });
  assert.equal(res.status, 200, await res.text());
}

function openLedger(): Ledger {
  return Ledger.open({ path: join(dir, 'ledger.db'), identity: world.identity, logger: silentLogger, dayOf: utcDay });
}

function watcher(options: { pageSize?: number; batchSize?: number } = {}): ChainWatcher {
  return new ChainWatcher({ client, ledger, logger: silentLogger, pageSize: options.pageSize ?? 3, batchSize: options.batchSize });
}

// The worker's paid total as its payout account on chain counts it.
function paidOnChain(): Promise<bigint> {
  return client.open(PayoutAccount.createFromAddress(vault.accountAddress(workerWallet.address))).getPaid();
}

// Credits a job and stores the voucher the coordinator signs for it.
function earn(jobId: string, nanotons: bigint): bigint {
  assert.equal(ledger.recordJob(job(jobId, nanotons)), 'recorded');
  const cumulative = (ledger.latestVoucher()?.cumulativeNanotons ?? 0n) + nanotons;
  const seq = (ledger.latestVoucher()?.seq ?? 0) + 1;
  assert.equal(ledger.recordVoucher(world.issue(cumulative, seq), { jobIds: [jobId] }).status, 'accepted');
  return cumulative;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'silkworm-watch-'));
  server = await startChainServer({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'chain'), logger: silentLogger });
  client = new TonClient({ endpoint: `${server.url}/jsonRPC` });
  // The coordinator: a funded V5R1 wallet deploys the vault with the wrapper.
  const ownerKey = keyPairFromSeed(randomBytes(32));
  const coordinator = keyPairFromSeed(randomBytes(32));
  const owner = client.open(v5(ownerKey));
  await faucet(owner.address, toNano('100'));
  vault = Vault.createFromConfig({ owner: owner.address, publicKey: coordinator.publicKey, globalId: CHAIN_GLOBAL_ID.testnet, accountCode: await accountCode() }, await vaultCode());
  await client.open(vault).sendDeploy(owner.sender(ownerKey.secretKey), toNano('50'));
  assert.ok(await client.isContractDeployed(vault.address), 'vault deployed');
  // The worker: a V5R1 wallet with a little TON for the claim's gas; its address is the payout address.
  workerKey = keyPairFromSeed(randomBytes(32));
  workerWallet = v5(workerKey);
  await faucet(workerWallet.address, toNano('2'));
  world = ledgerWorld({ vault: vault.address, worker: workerWallet.address, coordinator });
  // Payouts come from the worker's payout account of the vault, on the chain vouchers name.
  world.identity.payoutAccount = vault.accountAddress(workerWallet.address).toString();
  world.identity.chainGlobalId = CHAIN_GLOBAL_ID.testnet;
  ledger = openLedger();
  earnings = new EarningsService({ ledger, chain: { client, sender: client.open(workerWallet).sender(workerKey.secretKey) }, logger: silentLogger });
});

after(async () => {
  ledger.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ledger and chain watcher on a local chain', () => {
  test('jobs → vouchers → Cash out → payout seen through TonClient → jobs paid, exact to the nanoton', async () => {
    earn('j1', 1_234_567_891n);
    const total = earn('j2', 7n);
    assert.equal(ledger.balances().claimableNanotons, 1_234_567_898n);
    const claim = await earnings.cashOut();
    assert.ok(claim.ok, claim.ok ? '' : claim.error.message);
    assert.equal(claim.value.expectedNanotons, total);
    const poll = await watcher().pollOnce();
    const applied = poll.payouts.filter((p) => p.status === 'applied');
    assert.equal(applied.length, 1);
    assert.equal(applied[0]?.status === 'applied' && applied[0].amountNanotons, 1_234_567_898n);
    assert.ok(poll.handled >= 3, 'the faucet, the claim and the payout were all handled');
    const balances = ledger.balances();
    assert.equal(balances.paidNanotons, total);
    assert.equal(balances.claimableNanotons, 0n);
    assert.ok(ledger.job('j1')?.paidTx && ledger.job('j2')?.paidTx === ledger.job('j1')?.paidTx);
    assert.equal(await paidOnChain(), balances.paidNanotons, 'the payout account agrees');
    const again = await earnings.cashOut();
    assert.equal(!again.ok && again.error.code, 'nothing_to_claim');
  });

  test('a second claim pays exactly the difference', async () => {
    const before = ledger.balances().paidNanotons;
    const total = earn('j3', 999_999_999n);
    assert.ok((await earnings.cashOut()).ok);
    const poll = await watcher().pollOnce();
    assert.deepEqual(poll.payouts.map((p) => p.status === 'applied' && p.amountNanotons), [999_999_999n]);
    assert.equal(ledger.balances().paidNanotons, before + 999_999_999n);
    assert.equal(ledger.balances().paidNanotons, total);
    assert.equal(ledger.job('j3')?.voucherSeq, 3);
    assert.ok(ledger.job('j3')?.paidTx);
  });

  test('a payout-shaped message from an unknown sender is flagged, not applied', async () => {
    const cumulative = earn('j4', 500_000_000n);
    const strangerKey = keyPairFromSeed(randomBytes(32));
    const stranger = client.open(v5(strangerKey));
    await faucet(stranger.address, toNano('3'));
    const body = beginCell().storeUint(VaultOp.payout, 32).storeUint(0, 64).storeCoins(cumulative).storeUint(4, 64).endCell();
    // The payout account's layout, with a due no ledger can hold (Coins go up to 2^120).
    const huge = beginCell().storeUint(VaultOp.payout, 32).storeUint(0, 64).storeCoins(1n << 100n).storeUint(4, 64).storeCoins(1n << 100n).storeCoins(0).endCell();
    await stranger.sendTransfer({
      seqno: await stranger.getSeqno(), secretKey: strangerKey.secretKey, sendMode: SendMode.PAY_GAS_SEPARATELY,
      messages: [
        internal({ to: workerWallet.address, value: toNano('0.5'), bounce: false, body }),
        internal({ to: workerWallet.address, value: toNano('0.25'), bounce: false, body: huge }),
      ],
    });
    const paidBefore = ledger.balances().paidNanotons;
    const poll = await watcher().pollOnce();
    assert.deepEqual(poll.payouts.map((p) => p.status === 'flagged' && p.code), ['unknown_sender', 'unknown_sender']);
    const balances = ledger.balances();
    assert.equal(balances.paidNanotons, paidBefore);
    assert.equal(balances.flaggedNanotons, toNano('0.75'));
    assert.equal(balances.claimableNanotons, 500_000_000n, 'the real claim is still open');
    assert.equal(ledger.job('j4')?.paidTx, null);
    assert.deepEqual(ledger.anomalies({ kind: 'payout' }).map((a) => a.code), ['unknown_sender', 'unknown_sender']);
  });

  test('a watcher restarted mid-history, and a full rescan, count no payout twice', async () => {
    // History the watcher has not seen yet: two claims paid, a faucet top-up in between.
    assert.ok((await earnings.cashOut()).ok);
    await faucet(workerWallet.address, toNano('1'));
    const total = earn('j5', 42n);
    assert.ok((await earnings.cashOut()).ok);
    const cursorBefore = ledger.getCursor(workerWallet.address.toString());
    // The first watcher handles only the two oldest new transactions, then the process "dies".
    const partial = await watcher().pollOnce({ maxTransactions: 2 });
    assert.equal(partial.handled, 2);
    assert.ok(partial.cursor && cursorBefore && partial.cursor.lt > cursorBefore.lt, 'the cursor moved');
    ledger.close();
    ledger = openLedger();
    const rest = await watcher({ pageSize: 2, batchSize: 1 }).pollOnce();
    assert.ok(rest.handled >= 3, `handled ${rest.handled}`); // the faucet, the second claim, its payout
    // The claim and its payout were in the first two; the second claim's payout after the restart.
    const amounts = (results: typeof rest.payouts) => results.map((p) => p.status === 'applied' && p.amountNanotons);
    assert.deepEqual(amounts(partial.payouts), [500_000_000n]);
    assert.deepEqual(amounts(rest.payouts), [42n]);
    assert.equal(ledger.balances().paidNanotons, total);
    // Forget the cursor: the whole history again, and nothing changes.
    ledger.resetCursor(workerWallet.address.toString());
    const rescan = await watcher().pollOnce();
    assert.ok(rescan.payouts.length >= 6 && rescan.payouts.every((p) => p.status === 'already_recorded'), JSON.stringify(rescan.payouts.map((p) => p.status)));
    const balances = ledger.balances();
    assert.equal(balances.paidNanotons, total);
    assert.equal(balances.claimableNanotons, 0n);
    assert.equal(balances.flaggedNanotons, toNano('0.75'));
    assert.equal(await paidOnChain(), total, 'the payout account agrees');
    assert.equal(ledger.listPayouts().filter((p) => p.status === 'applied').length, 4);
    assert.equal((await watcher().pollOnce()).handled, 0, 'nothing new');
  });

  test('a claim the vault cannot fund is not sent (no fee spent), and says why; once the vault is funded it pays', async () => {
    const vaultOnChain = client.open(vault);
    const spendable = (await vaultOnChain.getBalance()) - (await vaultOnChain.getMinReserve());
    const due = spendable + toNano('10');
    const total = earn('j6', due);
    const seqno = await client.open(workerWallet).getSeqno();
    // The ledger was opened again by the test before: Cash out over it.
    const earnings = new EarningsService({ ledger, chain: { client, sender: client.open(workerWallet).sender(workerKey.secretKey) }, logger: silentLogger });
    // Said before Cash out is pressed: the view's outlook, from the vault's getters on chain.
    assert.equal(earnings.cashOutOutlook(), undefined, 'the first look starts reading the vault');
    await earnings.readVaultFunds();
    assert.deepEqual(earnings.cashOutOutlook(), { code: 'vault_short', spendableNanotons: spendable, dueNanotons: ledger.balances().claimableNanotons });
    const short = await earnings.cashOut();
    assert.equal(!short.ok && short.error.code, 'vault_short');
    assert.match(!short.ok ? short.error.message : '', /^it can pay \d+(\.\d+)? TON now, and \d+(\.\d+)? TON is due to you$/);
    assert.equal(await client.open(workerWallet).getSeqno(), seqno, 'no claim left the wallet');
    // The operator funds the vault (a plain transfer); the same voucher is claimed and paid.
    await faucet(vault.address, toNano('20'));
    await earnings.readVaultFunds();
    assert.equal(earnings.cashOutOutlook(), undefined, 'funded: nothing to say');
    const claim = await earnings.cashOut();
    assert.ok(claim.ok, claim.ok ? '' : claim.error.message);
    assert.equal(claim.value.expectedNanotons, due);
    assert.equal(await client.open(workerWallet).getSeqno(), seqno + 1, 'one claim sent');
    const poll = await watcher().pollOnce();
    assert.deepEqual(poll.payouts.filter((p) => p.status === 'applied').map((p) => p.status === 'applied' && p.amountNanotons), [due]);
    assert.equal(ledger.balances().paidNanotons, total);
    assert.equal(await paidOnChain(), total, 'the payout account agrees');
  });
});

/** A toncenter that answers get methods with 429 while `down`, as the public one does under load. */
class BusyClient extends TonClient {
  down = true;
  override runMethod(...args: Parameters<TonClient['runMethod']>): ReturnType<TonClient['runMethod']> {
    if (this.down) return Promise.reject(new Error('Request failed with status code 429'));
    return super.runMethod(...args);
  }
}

describe('the payout account, when the chain does not name it at first', () => {
  test('no payout is judged until the look-up answers; then the genuine payout is applied and nothing is flagged', async () => {
    const key = keyPairFromSeed(randomBytes(32));
    const wallet = v5(key);
    await faucet(wallet.address, toNano('2'));
    const mine = ledgerWorld({ vault: vault.address, worker: wallet.address, coordinator: world.coordinator });
    mine.identity.chainGlobalId = CHAIN_GLOBAL_ID.testnet; // and no payoutAccount: the look-up failed
    const books = Ledger.open({ path: join(dir, 'late-account.db'), identity: mine.identity, logger: silentLogger, dayOf: utcDay });
    try {
      assert.equal(books.recordJob(job('k1', 300_000_000n)), 'recorded');
      assert.equal(books.recordVoucher(mine.issue(300_000_000n, 1), { jobIds: ['k1'] }).status, 'accepted');
      const claim = await new EarningsService({ ledger: books, chain: { client, sender: client.open(wallet).sender(key.secretKey) }, logger: silentLogger }).cashOut();
      assert.ok(claim.ok, claim.ok ? '' : claim.error.message);
      const busy = new BusyClient({ endpoint: `${server.url}/jsonRPC` });
      const follower = new ChainWatcher({ client: busy, ledger: books, logger: silentLogger, address: wallet.address.toString(), beforePoll: knowPayoutAccount(busy, books) });
      await assert.rejects(follower.pollOnce(), /429/);
      assert.equal(books.getCursor(wallet.address.toString()), null, 'the cursor did not move past the payout');
      assert.deepEqual(books.anomalies(), []);
      busy.down = false;
      const poll = await follower.pollOnce();
      assert.deepEqual(poll.payouts.map((p) => p.status), ['applied']);
      assert.equal(books.identity.payoutAccount, vault.accountAddress(wallet.address).toString());
      assert.equal(books.balances().paidNanotons, 300_000_000n);
      assert.equal(books.balances().flaggedNanotons, 0n);
      assert.deepEqual(books.anomalies(), []);
      assert.ok(books.job('k1')?.paidTx);
    } finally {
      books.close();
    }
  });
});

describe('the vault\'s voucher key, when the chain does not answer at first', () => {
  /** Books trusting `key` (the welcome's), with no answer yet from the vault; one job vouched with it. */
  function vouchedWith(key: KeyPair, name: string): { books: Ledger; wallet: Address } {
    const wallet = v5(keyPairFromSeed(randomBytes(32))).address;
    const mine = ledgerWorld({ vault: vault.address, worker: wallet, coordinator: key });
    mine.identity.chainGlobalId = CHAIN_GLOBAL_ID.testnet;
    mine.identity.payoutAccount = vault.accountAddress(wallet).toString();
    const books = Ledger.open({ path: join(dir, `${name}.db`), identity: mine.identity, logger: silentLogger, dayOf: utcDay });
    assert.equal(books.recordJob(job('v1', 300_000_000n)), 'recorded');
    assert.equal(books.recordVoucher(mine.issue(300_000_000n, 1), { jobIds: ['v1'] }).status, 'accepted');
    return { books, wallet };
  }

  test('nothing is flagged while the look-up fails; once the vault answers with another key, the voucher signed with it is flagged and no longer claimable', async () => {
    const { books, wallet } = vouchedWith(keyPairFromSeed(randomBytes(32)), 'other-key');
    try {
      const busy = new BusyClient({ endpoint: `${server.url}/jsonRPC` });
      const follower = new ChainWatcher({ client: busy, ledger: books, logger: silentLogger, address: wallet.toString(), beforePoll: knowVaultTerms(busy, books, silentLogger) });
      await follower.pollOnce(); // the payouts are still followed meanwhile
      assert.deepEqual(books.anomalies(), [], 'not known yet is not wrong');
      assert.equal(books.balances().claimableNanotons, 300_000_000n);
      assert.equal(books.identity.vaultTerms, undefined);
      busy.down = false;
      await follower.pollOnce();
      assert.deepEqual(books.identity.vaultTerms, { publicKey: world.coordinator.publicKey.toString('hex'), globalId: CHAIN_GLOBAL_ID.testnet });
      assert.deepEqual(books.anomalies().map((a) => [a.kind, a.code]), [['voucher', 'vault_key_mismatch']]);
      assert.equal(books.latestVoucher(), null);
      assert.equal(books.job('v1')?.voucherSeq, null, 'the job waits for a voucher the vault honours');
      assert.equal(books.balances().claimableNanotons, 0n);
      assert.equal(books.balances().earnedNanotons, 300_000_000n, 'the credit stands');
    } finally {
      books.close();
    }
  });

  test('once the vault answers with the key the vouchers were signed with, they stay claimable and nothing is flagged', async () => {
    const { books, wallet } = vouchedWith(world.coordinator, 'vault-key');
    try {
      const busy = new BusyClient({ endpoint: `${server.url}/jsonRPC` });
      busy.down = false;
      await new ChainWatcher({ client: busy, ledger: books, logger: silentLogger, address: wallet.toString(), beforePoll: knowVaultTerms(busy, books, silentLogger) }).pollOnce();
      assert.equal(books.identity.vaultTerms?.publicKey, world.coordinator.publicKey.toString('hex'));
      assert.deepEqual(books.anomalies(), []);
      assert.equal(books.job('v1')?.voucherSeq, 1);
      assert.equal(books.balances().claimableNanotons, 300_000_000n);
    } finally {
      books.close();
    }
  });
});
