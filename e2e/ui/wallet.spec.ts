/**
 * The Wallet screen in Chromium against a real headless stack of its own (coordinator as the
 * TON Connect dApp backend, a real worker on the test model, the dashboard) plus a loopback
 * TON Connect bridge: the QR code renders, a simulated wallet app pairs with a real signed
 * ton_proof and the screen shows it connected; a wallet created on this PC shows its 24 words
 * and then its address. No console errors; screenshots kept as test artifacts.
 */
import { expect, type Page } from '@playwright/test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address } from '@ton/core';
import { testWithStack } from './fixtures.js';
import { startCoordinator, type Coordinator } from '../../network/coordinator/server.js';
import { createLogger as createCoordinatorLogger } from '../../network/coordinator/log.js';
import { startWorkerCore, type WorkerCore } from '../../main/worker/worker-core.js';
import { createLogger } from '../../network/node-kit/log.js';
import { writeTestModel } from '../../main/models/test-model.js';
import type { AttachedDashboard } from '../../main/dashboard/attach.js';
import { serveApp } from './serve-app.js';
import { LogRing } from '../../main/app/log-ring.js';
import { createSimulatedWallet, startTestBridge, TEST_UNIVERSAL_LINK, type TestBridge } from '../tonconnect-bridge.js';

/** The stack: coordinator, worker, dashboard, and the wallet app's bridge. */
interface WalletStack {
  coordinator: Coordinator;
  core: WorkerCore;
  attached: AttachedDashboard;
  bridge: TestBridge;
  dataDir: string;
  tokenUrl: string;
  stop(): Promise<void>;
}

async function startWalletStack(): Promise<WalletStack> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-ui-wallet-'));
  const modelPath = join(dir, 'silkworm-test.gguf');
  await writeTestModel(modelPath);
  const coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'coordinator'), apiKeys: [], unmetered: true, logger: createCoordinatorLogger('coordinator', { level: 'error' }) });
  const bridge = await startTestBridge();
  const logs = new LogRing();
  const logger = createLogger('worker', { level: 'info', destination: logs });
  const dataDir = join(dir, 'worker');
  const core = await startWorkerCore({
    coordinatorUrl: coordinator.url,
    dataDir,
    modelPath,
    threads: 1,
    logger,
    sharing: { mode: 'off' },
    signalSource: { read: async () => ({ idleSeconds: 0, screenLocked: false, localSession: true, fullscreen: { detected: false }, game: { detected: false }, gpu: null, battery: null }) },
    reconnect: { minDelayMs: 50, maxDelayMs: 500 },
  });
  const attached = await serveApp({ core, coordinatorUrl: coordinator.url, modelPath, dataDir, logs, logger, token: 'wallet-ui-token-0123456789', tonConnect: { walletsListSource: bridge.walletsListUrl } });
  return {
    coordinator,
    core,
    attached,
    bridge,
    dataDir,
    tokenUrl: attached.dashboard.tokenUrl,
    async stop() {
      await attached.close();
      await core.stop();
      await bridge.close();
      await coordinator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const test = testWithStack(startWalletStack, 90_000);

async function openWallet(page: Page, stack: WalletStack): Promise<void> {
  await page.goto(stack.tokenUrl);
  await page.getByRole('button', { name: 'Wallet', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Wallet' })).toBeVisible();
  await expect(page.getByRole('status', { name: 'Loading' })).toHaveCount(0);
}

test('a wallet app pairs through the QR code and the screen shows it connected', async ({ stack, page, errors }, testInfo) => {
  await openWallet(page, stack);
  await page.getByRole('button', { name: 'Connect a wallet app', exact: true }).click();

  const qr = page.getByRole('img', { name: 'QR code to scan with your wallet app' });
  await expect(qr).toBeVisible();
  expect(Number(await qr.getAttribute('data-modules'))).toBeGreaterThan(500);
  expect((await qr.locator('path').getAttribute('d'))?.length).toBeGreaterThan(5000);
  const link = await page.getByRole('link', { name: 'Open in wallet app' }).getAttribute('href');
  expect(link?.startsWith(`${TEST_UNIVERSAL_LINK}?v=2&id=`)).toBe(true);
  await expect(page.getByText(/Waiting for your wallet app/)).toBeVisible();
  const waitingShot = testInfo.outputPath('wallet-tonconnect-qr.png');
  await page.screenshot({ path: waitingShot, fullPage: true });
  await testInfo.attach('TON Connect QR', { path: waitingShot, contentType: 'image/png' });

  // The phone: scans the link, answers through the bridge with a real V5R1 account and ton_proof.
  const wallet = await createSimulatedWallet('testnet');
  await wallet.answer(link ?? '', stack.bridge.bridgeUrl);
  const connected = page.getByTestId('tonconnect-connected');
  await expect(connected).toContainText('Connected');
  await expect(connected).toContainText(wallet.friendly('testnet'));
  await expect(page.getByTestId('payout-address')).toHaveText(wallet.friendly('testnet'));
  await expect(page.getByTestId('payout-source')).toHaveText('From your wallet app (TON Connect)');
  const stored = JSON.parse(await readFile(join(stack.dataDir, 'app-settings.json'), 'utf8')) as { payoutAddress: string };
  expect(stored.payoutAddress).toBe(wallet.friendly('testnet'));
  const shot = testInfo.outputPath('wallet-tonconnect-connected.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('TON Connect connected', { path: shot, contentType: 'image/png' });

  await page.getByRole('button', { name: 'Disconnect' }).click();
  await expect(connected).toHaveCount(0);
  await expect(page.getByText('No payout address yet')).toBeVisible();
  expect(errors).toEqual([]);
});

test('a wallet created on this PC shows its 24 words, then its address as the payout address', async ({ stack, page, errors }, testInfo) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await openWallet(page, stack);
  const create = page.getByRole('button', { name: 'Create wallet' });
  await expect(create).toBeDisabled();
  await page.getByLabel('Passphrase (at least 8 characters)').fill('a good long passphrase');
  await page.getByLabel('Passphrase again').fill('a good long passphrase');
  await create.click();

  const words = page.getByTestId('recovery-words').locator('li');
  await expect(words).toHaveCount(24);
  const first = (await words.first().innerText()).split(/\s+/).pop() ?? '';
  expect(first).toMatch(/^[a-z]+$/);
  const shot = testInfo.outputPath('wallet-local-words-dark.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('Local wallet: recovery words (dark)', { path: shot, contentType: 'image/png' });

  const use = page.getByRole('button', { name: 'Use this wallet for payouts' });
  await expect(use).toBeDisabled();
  await page.getByLabel('I wrote down all 24 words, in order').check();
  await use.click();
  await expect(page.getByTestId('recovery-words')).toHaveCount(0);
  const address = (await page.getByTestId('local-address').innerText()).trim();
  const parsed = Address.parseFriendly(address);
  expect(parsed.isTestOnly).toBe(true);
  expect(parsed.isBounceable).toBe(false);
  await expect(page.getByTestId('payout-address')).toHaveText(address);
  await expect(page.getByTestId('payout-source')).toHaveText('The wallet on this PC');
  await expect(page.getByText('Words written down')).toBeVisible();
  const file = await readFile(join(stack.dataDir, 'wallet', 'local-wallet.json'), 'utf8');
  expect(file).not.toContain(` ${first} `);
  expect(file.includes(first) && file.split(first).length > 3).toBe(false);

  // The words again only after the passphrase: a wrong one is refused, the right one shows them.
  const passphrase = page.getByRole('textbox', { name: 'Wallet passphrase' });
  await passphrase.fill('not the passphrase');
  await page.getByRole('button', { name: 'Show recovery phrase' }).click();
  await expect(page.getByRole('alert')).toContainText('does not unlock');
  await passphrase.fill('a good long passphrase');
  await page.getByRole('button', { name: 'Show recovery phrase' }).click();
  await expect(page.getByTestId('recovery-words').locator('li')).toHaveCount(24);
  await page.getByRole('button', { name: 'Hide words' }).click();
  await expect(page.getByTestId('recovery-words')).toHaveCount(0);
  const done = testInfo.outputPath('wallet-local-dark.png');
  await page.screenshot({ path: done, fullPage: true });
  await testInfo.attach('Local wallet (dark)', { path: done, contentType: 'image/png' });
  expect(errors).toEqual([]);
});
