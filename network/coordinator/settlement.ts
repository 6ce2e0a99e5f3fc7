/**
 * Settlement on TON: the coordinator's wallet, its payout vault (deployed and funded on first
 * start), and batched push payouts of every account past a threshold. Works against any
 * toncenter v2 endpoint — toncenter.com in production, `silkworm chain` locally — through the
 * unmodified TonClient.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Address, internal, SendMode, toNano } from '@ton/core';
import { TonClient, WalletContractV5R1 } from '@ton/ton';
import { mnemonicNew, mnemonicToPrivateKey, type KeyPair } from '@ton/crypto';
import { chunkPushEntries, fundBody, pushBatchBody, pushBatchValue, Vault } from '../contracts/vault.js';
import { vaultCode } from '../contracts/compile.js';
import type { CoordinatorStore } from './store.js';
import type { Logger } from './log.js';

/** At most this many messages go in one wallet message (a V5R1 wallet carries up to 255). */
const MESSAGES_PER_WALLET_MESSAGE = 250;

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
}

/** A running settlement service. */
export interface Settlement {
  vault: string;
  wallet: string;
  /** Pushes every account owed at least the threshold; resolves with how many were sent. */
  pushDue(): Promise<number>;
}

async function loadWalletKey(dataDir: string): Promise<KeyPair> {
  const file = join(dataDir, 'wallet.json');
  let words: string[];
  try {
    words = (JSON.parse(await readFile(file, 'utf8')) as { mnemonic: string[] }).mnemonic;
  } catch {
    words = await mnemonicNew(24);
    await writeFile(`${file}.tmp`, JSON.stringify({ mnemonic: words }), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }
  return mnemonicToPrivateKey(words);
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
  const client = new TonClient({ endpoint: `${options.chainUrl.replace(/\/$/, '')}/jsonRPC`, ...(options.apiKey ? { apiKey: options.apiKey } : {}) });
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

  let vaultAddress = store.getSetting('vault');
  if (!vaultAddress) {
    const vault = Vault.createFromConfig({ owner: wallet.address, publicKey: Buffer.from(options.voucherPublicKey) }, await vaultCode());
    await send([internal({ to: vault.address, value: options.initialVaultFunding, init: vault.init, body: fundBody() })]);
    await waitFor(() => client.isContractDeployed(vault.address), 'the vault deployment');
    vaultAddress = vault.address.toString({ testOnly: options.network === 'testnet' });
    store.setSetting('vault', vaultAddress);
    logger.info({ vault: vaultAddress, funding: options.initialVaultFunding.toString() }, 'payout vault deployed');
  }
  const vault = Address.parse(vaultAddress);

  return {
    vault: vaultAddress,
    wallet: walletAddress,
    async pushDue() {
      const due = store.unpushed(options.pushThreshold).filter((a) => !a.account.startsWith('worker:'));
      if (due.length === 0) return 0;
      const entries = due.map((a) => ({ worker: Address.parse(a.account), cumulativeNanotons: a.cumulative, seq: a.seq }));
      const batches = chunkPushEntries(entries);
      for (let i = 0; i < batches.length; i += MESSAGES_PER_WALLET_MESSAGE) {
        const messages = batches.slice(i, i + MESSAGES_PER_WALLET_MESSAGE).map((batch) =>
          internal({ to: vault, value: pushBatchValue(batch.length), bounce: true, body: pushBatchBody(batch, BigInt(`0x${randomUUID().replace(/-/g, '').slice(0, 12)}`)) }),
        );
        await send(messages);
      }
      // The vault skips entries it has already paid, so a repeated push can never pay twice;
      // a voucher claim by the worker settles anything a push missed.
      for (const a of due) store.markPushed(a.account, a.cumulative);
      logger.info({ accounts: due.length, batches: batches.length }, 'pushed payouts');
      return due.length;
    },
  };
}
