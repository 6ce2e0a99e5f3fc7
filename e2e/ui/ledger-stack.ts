/**
 * The system under test for the Earnings specs, in the desktop app's configuration and with real
 * money on a local chain: `silkworm chain` (a sandbox behind toncenter's API), a coordinator
 * that settles there (vault and vouchers) with one funded client key, and the desktop app
 * started by the same function the Electron shell calls (main/app/desktop-app.ts) with the
 * Electron-only capabilities faked — its services served to Chromium by the dashboard server.
 * The owner's wallet (faucet-funded, for the claim's gas) is imported as the wallet on this PC,
 * so it becomes the payout address live and Cash out signs with its own key. Temp dir only.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address, toNano } from '@ton/core';
import { TonClient, WalletContractV5R1 } from '@ton/ton';
import { mnemonicToPrivateKey } from '@ton/crypto';
import { Vault } from '../../network/contracts/vault.js';
import { startChainServer, type ChainServer } from '../../network/chain/cli.js';
import { createChainLogger } from '../../network/chain/log.js';
import { clientIdForKey, startCoordinator, type Coordinator } from '../../network/coordinator/server.js';
import { createLogger } from '../../network/node-kit/log.js';
import { writeTestModel } from '../../main/models/test-model.js';
import { startDesktopApp, type DesktopApp } from '../../main/app/desktop-app.js';
import { fakeElectronShell, type FakeElectronShell } from '../../main/app/testing/fake-shell.js';
import { attachDashboard, type AttachedDashboard } from '../../main/dashboard/attach.js';
import { LogRing } from '../../main/app/log-ring.js';
import type { Signals } from '../../main/sharing/signals.js';
import { loadDemoWallet } from '../../cli/demo-wallet.js';

const CLIENT_KEY = 'sk-ui-ledger';
const ADMIN_KEY = 'ui-admin';

/** A running stack with a chain. */
export interface LedgerStack {
  chain: ChainServer;
  coordinator: Coordinator;
  app: DesktopApp;
  fake: FakeElectronShell;
  attached: AttachedDashboard;
  /** The owner's wallet: the payout address, in raw form as the coordinator keys accounts. */
  owner: { address: string; raw: string };
  token: string;
  tokenUrl: string;
  /** Sends one paid chat completion through the coordinator; resolves with its status. */
  chat(content: string, maxTokens?: number): Promise<number>;
  /** Gives an address test TON from the chain's faucet (gas for a claim). */
  fund(address: string, ton: string): Promise<void>;
  /** The network's operator closes its payout vault, signing with the coordinator's wallet: from then on the vault pays no claims. */
  closeVault(): Promise<void>;
  stop(): Promise<void>;
}

/** The owner is away: the desktop app in "always" mode shares at once anyway. */
const AWAY: Signals = { idleSeconds: 3600, screenLocked: false, localSession: true, fullscreen: { detected: false }, game: { detected: false }, gpu: null, battery: null };

/** Waits for a condition of the running system (setup only; specs assert with expect.poll). */
export async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts the stack; `importOwner: false` leaves the wallet to the spec (no payout address yet). */
export async function startLedgerStack(options: { importOwner?: boolean; token?: string } = {}): Promise<LedgerStack> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-ui-ledger-'));
  const modelPath = join(dir, 'silkworm-test.gguf');
  await writeTestModel(modelPath);
  const chain = await startChainServer({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'chain'), logger: createChainLogger({ level: 'silent' }) });
  const coordinator = await startCoordinator({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir, 'coordinator'),
    apiKeys: [CLIENT_KEY],
    adminKey: ADMIN_KEY,
    // Pushed payouts are far off: the only payout is the owner's Cash out.
    chain: { url: chain.url, network: 'testnet', pushThreshold: toNano('1000'), pushIntervalMs: 3_600_000 },
    // Prices high enough that a job earns an amount worth reading (about 0.07 TON for 64 tokens).
    prices: { default: { promptPerMillion: toNano('100'), completionPerMillion: toNano('1000') }, models: {}, commissionBps: 1000 },
    logger: createLogger('coordinator', { level: 'error' }),
  });
  const deposit = await fetch(`${coordinator.url}/v1/admin/deposits`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ client: clientIdForKey(CLIENT_KEY), nanotons: toNano('50').toString(), reference: 'ui-ledger' }),
  });
  if (!deposit.ok) throw new Error(`deposit refused: HTTP ${deposit.status}`);
  const fund = async (address: string, ton: string) => {
    const response = await fetch(`${chain.url}/faucet`, { method: 'POST', body: JSON.stringify({ address, amount: toNano(ton).toString() }) });
    if (!response.ok) throw new Error(`faucet refused: HTTP ${response.status}`);
  };
  const closeVault = async () => {
    const { mnemonic } = JSON.parse(await readFile(join(dir, 'coordinator', 'wallet.json'), 'utf8')) as { mnemonic: string[] };
    const key = await mnemonicToPrivateKey(mnemonic);
    const client = new TonClient({ endpoint: `${chain.url}/jsonRPC` });
    const wallet = client.open(WalletContractV5R1.create({ workchain: 0, publicKey: key.publicKey, walletId: { networkGlobalId: -3 } }));
    const vault = client.open(Vault.createFromAddress(Address.parse(coordinator.settlement!.vault)));
    await vault.sendClose(wallet.sender(key.secretKey));
    const deadline = Date.now() + 15_000;
    while (!(await vault.getClosed())) {
      if (Date.now() > deadline) throw new Error('the vault did not close');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const owner = await loadDemoWallet(join(dir, 'owner.json'));
  // The owner's wallet pays the claim's gas, so it needs a little test TON first.
  await fund(owner.address, '2');
  const logs = new LogRing();
  const logger = createLogger('worker', { level: 'info', destination: logs });
  const dataDir = join(dir, 'worker');
  // The owner set this PC up earlier: shares always, setup done.
  await mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, 'app-settings.json'), JSON.stringify({ sharing: { mode: 'always' }, setupDone: true }));
  const fake = fakeElectronShell();
  const app = await startDesktopApp({
    dataDir,
    config: { coordinatorUrl: coordinator.url, modelPath, network: 'testnet', chainUrl: chain.url },
    shell: fake.shell,
    signalSource: { read: async () => AWAY },
    logs,
    logger,
    tuning: { threads: 1, sharingPollMs: 500, reconnect: { minDelayMs: 50, maxDelayMs: 500 } },
  });
  if (options.importOwner !== false) {
    // Through the app, as the owner would: the wallet on this PC, sealed by the (fake) keychain.
    const imported = await app.services.handlers.importLocalWallet({ words: owner.words.join(' ') });
    if (!imported.ok) throw new Error(`import refused: ${imported.error.message}`);
    await waitFor('the payout address to be announced and its books opened', () => app.core.payoutAddress() === owner.address && app.core.books() !== undefined, 30_000);
  }
  await waitFor('the worker to offer capacity', () => app.core.engine.info !== undefined && app.core.worker.link.connected, 30_000);
  const token = options.token ?? 'ui-ledger-token-0123456789';
  const attached = await attachDashboard(app.services, { token, port: 0, print: () => undefined });
  return {
    chain,
    coordinator,
    app,
    fake,
    attached,
    owner: { address: owner.address, raw: owner.raw },
    token,
    tokenUrl: attached.dashboard.tokenUrl,
    fund,
    closeVault,
    async chat(content, maxTokens = 64) {
      const response = await fetch(`${coordinator.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
        body: JSON.stringify({ model: 'silkworm-test', messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0 }),
      });
      await response.arrayBuffer();
      return response.status;
    },
    async stop() {
      await attached.close();
      await app.core.stop();
      await coordinator.close();
      await chain.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
