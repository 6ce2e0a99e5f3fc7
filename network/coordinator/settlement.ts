/**
 * Settlement on TON: the coordinator's wallet, its payout vault (deployed and funded on first
 * start), and batched push payouts of every account past a threshold. Works against any
 * toncenter v2 endpoint — toncenter.com in production, `silkworm chain` locally — through the
 * unmodified TonClient.
 *
 * A push is verified on chain, never assumed: before sending, each account's payout account is
 * read (what is still due); the vault is topped up from the wallet when it is short, and accounts
 * neither can fund wait; after sending, the vault's own transactions say how each settle ended,
 * and each account is marked pushed with the paid counter its payout account shows.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Address, internal, SendMode, toNano } from '@ton/core';
import { WalletContractV5R1, type TonClient } from '@ton/ton';
import { readOrCreateJsonFile } from '../node-kit/json-file.js';
import { createTonClient } from '../node-kit/ton-client.js';
import { mnemonicNew, mnemonicToPrivateKey, type KeyPair } from '@ton/crypto';
import { chunkPushEntries, DEFAULT_MIN_RESERVE, fundBody, pushBatchBody, pushBatchValue, Vault } from '../contracts/vault.js';
import { accountCode, vaultCode } from '../contracts/compile.js';
import { CHAIN_GLOBAL_ID } from '../protocol/voucher.js';
import { planPush, type DueAccount, type PushPlan } from './push-plan.js';
import { backOff } from 'exponential-backoff';
import { awaitPushOutcomes, lastLt, readPayoutAccount, type SettleOutcome } from './push-chain.js';
import { callStore, type CoordinatorStore } from './store.js';
import type { Logger } from './log.js';

/** At most this many messages go in one wallet message (a V5R1 wallet carries up to 255). */
const MESSAGES_PER_WALLET_MESSAGE = 250;
/** The wallet keeps this much for its own fees; the rest may top the vault up. */
const WALLET_KEEP = toNano('1');
/** Chain reads in flight at once (toncenter rate limits; the local chain serialises anyway). */
const READ_CONCURRENCY = 8;

/** Options of the settlement service. */
export interface SettlementOptions {
  /** A toncenter v2 base URL (the JSON-RPC endpoint is `${chainUrl}/jsonRPC`). */
  chainUrl: string;
  apiKey?: string;
  network: 'testnet' | 'mainnet';
  dataDir: string;
  store: CoordinatorStore;
  voucherPublicKey: Uint8Array;
  logger: Logger;
  /** Accounts are pushed once they are owed at least this much. */
  pushThreshold: bigint;
  /** Value sent to a newly deployed vault. */
  initialVaultFunding: bigint;
  /** How long to wait for a push's settles to come back before reading counters anyway. */
  outcomeDeadlineMs?: number;
}

/** What one push did, as read from the chain. */
export interface PushReport {
  /** Accounts whose settle was sent. */
  sent: number;
  /** Accounts the chain shows paid up to their total after the push. */
  paid: number;
  /** Accounts that wait: nothing due on chain, or more than the vault and wallet can fund. */
  held: PushPlan['held'];
  /** Nanotons sent from the wallet to the vault first. */
  topUp: bigint;
  /** How each sent settle ended (by earnings account). */
  outcomes: Map<string, SettleOutcome | { kind: 'unknown' }>;
}

/** A running settlement service. */
export interface Settlement {
  vault: string;
  wallet: string;
  /** Pushes every account owed at least the threshold; resolves with how many the chain shows paid in full. */
  pushDue(): Promise<number>;
  /** The report of the last push (undefined before the first). */
  lastPush(): PushReport | undefined;
}

async function loadWalletKey(dataDir: string): Promise<KeyPair> {
  const file = join(dataDir, 'wallet.json');
  const { mnemonic } = await readOrCreateJsonFile(file, async () => ({ mnemonic: await mnemonicNew(24) }), { mode: 0o600 });
  return mnemonicToPrivateKey(mnemonic);
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Opens the wallet, deploys and funds the vault if needed, and returns the push service. */
export async function startSettlement(options: SettlementOptions): Promise<Settlement> {
  const client = createTonClient(options.chainUrl, { apiKey: options.apiKey });
  const key = await loadWalletKey(options.dataDir);
  const networkGlobalId = options.network === 'mainnet' ? -239 : -3;
  const wallet = client.open(WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId } }));
  const walletAddress = wallet.address.toString({ testOnly: options.network === 'testnet', bounceable: false });
  const { logger, store } = options;

  const balance = await client.getBalance(wallet.address);
  if (balance < options.initialVaultFunding + toNano('1')) {
    // A local chain has a faucet; a public one needs the operator to fund the wallet.
    const faucet = await fetch(`${options.chainUrl.replace(/\/$/, '')}/faucet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: walletAddress, amount: (options.initialVaultFunding + toNano('10')).toString() }),
    }).catch(() => undefined);
    if (!faucet?.ok) throw new Error(`The coordinator wallet ${walletAddress} holds ${balance} nanotons; fund it, then restart.`);
    await waitFor(async () => (await client.getBalance(wallet.address)) > balance, 'the faucet');
  }

  /** Sends internal messages from the wallet and waits until the wallet has processed them. */
  const send = async (messages: ReturnType<typeof internal>[]) => {
    const seqno = await wallet.getSeqno();
    await wallet.sendTransfer({ seqno, secretKey: key.secretKey, sendMode: SendMode.PAY_GAS_SEPARATELY, messages });
    await waitFor(async () => (await wallet.getSeqno()) > seqno, 'the wallet to send');
  };

  const globalId = CHAIN_GLOBAL_ID[options.network];
  const config = { owner: wallet.address, publicKey: Buffer.from(options.voucherPublicKey), globalId, accountCode: await accountCode() };
  const expected = Vault.createFromConfig(config, await vaultCode());
  let vaultAddress = store.getSetting('vault');
  if (vaultAddress && !(await isPayoutAccountVault(client, Address.parse(vaultAddress)))) {
    // A vault of the single-map design (before payout accounts): it cannot take these vouchers.
    // Deploy the new one; the old keeps its funds and pays its own vouchers until withdrawn.
    logger.warn({ vault: vaultAddress }, 'the stored vault predates payout accounts; deploying a new one (withdraw the old one\'s surplus with its owner wallet)');
    store.setSetting('vault.legacy', vaultAddress);
    vaultAddress = undefined;
  }
  if (!vaultAddress) {
    await send([internal({ to: expected.address, value: options.initialVaultFunding, init: expected.init, body: fundBody() })]);
    await waitFor(() => client.isContractDeployed(expected.address), 'the vault deployment');
    vaultAddress = expected.address.toString({ testOnly: options.network === 'testnet' });
    store.setSetting('vault', vaultAddress);
    logger.info({ vault: vaultAddress, funding: options.initialVaultFunding.toString() }, 'payout vault deployed');
  }
  const vault = Address.parse(vaultAddress);
  // A vault deployed from another config or code (a successor, an older build) answers the
  // account address by its get-method; ours is computed offline.
  const opened = client.open(Vault.createFromAddress(vault));
  const sameVault = expected.address.equals(vault);
  if (!sameVault) logger.warn({ vault: vaultAddress }, 'the vault was not deployed by this build; payout accounts are looked up on chain');
  const accountAddresses = new Map<string, Address>();
  const accountOf = async (account: string): Promise<Address> => {
    let address = accountAddresses.get(account);
    if (!address) {
      address = sameVault ? expected.accountAddress(Address.parse(account)) : await opened.getAccountAddress(Address.parse(account));
      accountAddresses.set(account, address);
    }
    return address;
  };

  let last: PushReport | undefined;

  /** Reads each account's payout account (what it was paid; whether it exists). */
  const readAll = async (accounts: readonly string[]) => {
    const readings = new Map<string, { deployed: boolean; paid: bigint }>();
    await forEachLimit(accounts, READ_CONCURRENCY, async (account) => {
      // Reads are idempotent: a dropped connection is retried rather than failing the push.
      readings.set(account, await backOff(async () => readPayoutAccount(client, await accountOf(account)), { numOfAttempts: 4, startingDelay: 200, jitter: 'full' }));
    });
    return readings;
  };

  const pushDue = async (): Promise<number> => {
    // Through the store's non-blocking face where it has one: a push never stalls serving.
    const due = (await callStore(store, (s) => s.unpushed(options.pushThreshold))).filter((a) => !a.account.startsWith('worker:'));
    const basechain = due.filter((a) => Address.parse(a.account).workChain === 0);
    if (basechain.length < due.length) logger.warn({ accounts: due.length - basechain.length }, 'payout addresses off the basechain are never pushed (the vault refuses them)');
    if (basechain.length === 0) return 0;

    // 1. What the chain says is still due (a worker may have claimed since the last push).
    const before = await readAll(basechain.map((a) => a.account));
    const dueAccounts: DueAccount[] = basechain.map((a) => {
      const reading = before.get(a.account) ?? { deployed: false, paid: 0n };
      return { account: a.account, cumulative: a.cumulative, seq: a.seq, paidOnChain: reading.paid, deployed: reading.deployed };
    });
    for (const d of dueAccounts) if (d.paidOnChain > 0n) await callStore(store, (s) => s.markPushed(d.account, d.paidOnChain));

    // 2. Fund before sending: the vault's spendable balance, topped up from the wallet if short.
    const minReserve = await opened.getMinReserve().catch(() => DEFAULT_MIN_RESERVE);
    const vaultSpendable = (await client.getBalance(vault)) - minReserve;
    const walletAvailable = (await client.getBalance(wallet.address)) - WALLET_KEEP;
    const plan = planPush(dueAccounts, { vaultSpendable, walletAvailable: walletAvailable > 0n ? walletAvailable : 0n });
    const waiting = plan.held.filter((h) => h.reason === 'underfunded');
    if (waiting.length > 0) {
      logger.warn({ accounts: waiting.length, nanotons: waiting.reduce((sum, h) => sum + h.amountNanotons, 0n).toString(), wallet: walletAddress },
        'push held for accounts the vault and wallet cannot fund; fund the coordinator wallet');
    }
    if (plan.entries.length === 0) {
      last = { sent: 0, paid: 0, held: plan.held, topUp: 0n, outcomes: new Map() };
      return 0;
    }

    // 3. Send: the top-up first, then the pushes, in as few wallet messages as fit.
    const chunks = chunkPushEntries(plan.entries);
    const queryIds = chunks.map(() => randomBytes(6).readUIntBE(0, 6));
    const messages = chunks.map((chunk, i) =>
      internal({ to: vault, value: pushBatchValue(chunk.length), bounce: true, body: pushBatchBody(chunk, BigInt(queryIds[i] ?? 0)) }));
    if (plan.topUp > 0n) messages.unshift(internal({ to: vault, value: plan.topUp, bounce: true, body: fundBody() }));
    const sinceLt = await lastLt(client, vault);
    for (let i = 0; i < messages.length; i += MESSAGES_PER_WALLET_MESSAGE) await send(messages.slice(i, i + MESSAGES_PER_WALLET_MESSAGE));

    // 4. Read what happened: each settle's outcome from the vault's transactions, then each
    //    account's paid counter, which is what gets marked.
    const outcomes = await awaitPushOutcomes(client, vault, sinceLt, new Set(queryIds.map(BigInt)), { deadlineMs: options.outcomeDeadlineMs ?? 120_000 });
    if (!outcomes.complete) logger.warn({ pushes: outcomes.pushes, settles: outcomes.sent.size, back: outcomes.outcomes.size }, 'not every settle came back before the deadline; marking what the counters show');
    const after = await readAll(plan.entries.map((e) => e.account));
    const byAccount = new Map<string, SettleOutcome | { kind: 'unknown' }>();
    let paid = 0;
    for (const entry of plan.entries) {
      const onChain = after.get(entry.account)?.paid ?? 0n;
      if (onChain > 0n) await callStore(store, (s) => s.markPushed(entry.account, onChain));
      if (onChain >= entry.cumulativeNanotons) paid += 1;
      byAccount.set(entry.account, outcomes.outcomes.get((await accountOf(entry.account)).toRawString()) ?? { kind: 'unknown' });
    }
    const refused = [...byAccount.values()].filter((o) => o.kind !== 'paid').length;
    last = { sent: outcomes.sent.size, paid, held: plan.held, topUp: plan.topUp, outcomes: byAccount };
    logger.info({ accounts: plan.entries.length, pushes: chunks.length, paid, notPaid: refused, held: waiting.length, topUp: plan.topUp.toString() }, 'pushed payouts');
    return paid;
  };

  return { vault: vaultAddress, wallet: walletAddress, pushDue, lastPush: () => last };
}

/**
 * Whether the vault at `address` is one with payout accounts: it answers `globalId`. Only a
 * get-method failure (the method does not exist there) says no; a network error is thrown, so
 * an unreachable endpoint never makes the coordinator replace its vault.
 */
async function isPayoutAccountVault(client: TonClient, address: Address): Promise<boolean> {
  try {
    await client.open(Vault.createFromAddress(address)).getGlobalId();
    return true;
  } catch (error) {
    if (error instanceof Error && /exit_code/.test(error.message)) return false;
    throw error;
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function forEachLimit<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}
