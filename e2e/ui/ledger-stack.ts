/**
 * The system under test for the Earnings spec, with real money on a local chain: `silkworm
 * chain` (a sandbox behind toncenter's API), a coordinator that settles there (vault and
 * vouchers) with one funded client key, the owner's wallet (faucet-funded, for the claim's
 * gas) as payout address and Cash out sender, a real headless worker on the test model that
 * keeps its books, and the dashboard wired to them through ledgerEarnings. Everything in a temp dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toNano } from '@ton/core';
import { TonClient } from '@ton/ton';
import { startChainServer } from '../../network/chain/cli.js';
import { createChainLogger } from '../../network/chain/log.js';
import { clientIdForKey, startCoordinator, type Coordinator } from '../../network/coordinator/server.js';
import { createLogger as createCoordinatorLogger } from '../../network/coordinator/log.js';
import { startHeadlessWorker, type HeadlessWorker } from '../../main/worker/headless.js';
import { createLogger } from '../../main/log.js';
import { writeTestModel } from '../../main/models/test-model.js';
import { attachDashboard, type AttachedDashboard } from '../../main/dashboard/attach.js';
import { LogRing } from '../../main/ipc/log-ring.js';
import { explainNoBooks } from '../../main/ipc/books-status.js';
import { chainKindOf, explorerLinks } from '../../main/ipc/explorer-links.js';
import { ledgerEarnings } from '../../main/ipc/ledger-earnings.js';
import type { Signals } from '../../main/sharing/signals.js';
import { loadDemoWallet } from '../../cli/demo-wallet.js';

const CLIENT_KEY = 'sk-ui-ledger';
const ADMIN_KEY = 'ui-admin';

/** A running stack with a chain. */
export interface LedgerStack {
  coordinator: Coordinator;
  core: HeadlessWorker;
  attached: AttachedDashboard;
  /** The owner's wallet: the payout address, in raw form as the coordinator keys accounts. */
  owner: { address: string; raw: string };
  token: string;
  tokenUrl: string;
  /** Sends one paid chat completion through the coordinator; resolves with its status. */
  chat(content: string, maxTokens?: number): Promise<number>;
  stop(): Promise<void>;
}

/** The owner is away: a worker in "always" mode shares at once anyway. */
const AWAY: Signals = { idleSeconds: 3600, screenLocked: false, localSession: true, fullscreen: { detected: false }, game: { detected: false }, gpu: null, battery: null };

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts the stack; resolves once the worker's books are open and it can serve. */
export async function startLedgerStack(): Promise<LedgerStack> {
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
    logger: createCoordinatorLogger('coordinator', { level: 'error' }),
  });
  const deposit = await fetch(`${coordinator.url}/v1/admin/deposits`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ client: clientIdForKey(CLIENT_KEY), nanotons: toNano('50').toString(), reference: 'ui-ledger' }),
  });
  if (!deposit.ok) throw new Error(`deposit refused: HTTP ${deposit.status}`);
  const owner = await loadDemoWallet(join(dir, 'owner.json'));
  // The owner's wallet pays the claim's gas, so it needs a little test TON first.
  await fetch(`${chain.url}/faucet`, { method: 'POST', body: JSON.stringify({ address: owner.address, amount: toNano('2').toString() }) });
  const client = new TonClient({ endpoint: `${chain.url}/jsonRPC` });
  const logs = new LogRing();
  const logger = createLogger('worker', { level: 'info', destination: logs });
  const dataDir = join(dir, 'worker');
  const core = await startHeadlessWorker({
    coordinatorUrl: coordinator.url,
    dataDir,
    modelPath,
    threads: 1,
    payoutAddress: owner.address,
    chainUrl: chain.url,
    cashOut: { sender: client.open(owner.wallet).sender(owner.key.secretKey) },
    logger,
    sharing: { mode: 'always' },
    signalSource: { read: async () => AWAY },
    sharingPollMs: 500,
    reconnect: { minDelayMs: 50, maxDelayMs: 500 },
  });
  await waitFor('the ledger to open', () => core.books() !== undefined, 30_000);
  await waitFor('the worker to offer capacity', () => core.engine.info !== undefined && core.worker.link.connected, 30_000);
  const token = 'ui-ledger-token-0123456789';
  const earnings = ledgerEarnings(() => core.books(), {
    explorerUrl: explorerLinks(chainKindOf(chain.url, 'testnet')),
    whyUnavailable: explainNoBooks({ payoutAddress: owner.address, coordinatorUrl: coordinator.url }),
  });
  const attached = await attachDashboard(core, { coordinatorUrl: coordinator.url, modelPath, dataDir, network: 'testnet', payoutAddress: owner.address, logs, logger, token, port: 0, print: () => undefined, earnings });
  return {
    coordinator,
    core,
    attached,
    owner: { address: owner.address, raw: owner.raw },
    token,
    tokenUrl: attached.dashboard.tokenUrl,
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
      await core.stop();
      await coordinator.close();
      await chain.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
