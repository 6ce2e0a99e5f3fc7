/**
 * The desktop app as Electron starts it (startDesktopApp), under plain Node: a real worker core
 * on the generated test model and a real coordinator, with the Electron-only capabilities
 * faked (keychain, notifications, the browser, login items). What the shell adds is exercised
 * here: the wallet sealed by the keychain becomes the payout address and is announced without a
 * restart, links open through the shell, sharing changes are notified, earnings are wired.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '../../network/coordinator/server.js';
import { createLogger } from '../../network/node-kit/log.js';
import { writeTestModel } from '../models/test-model.js';
import type { Signals } from '../sharing/signals.js';
import { startDesktopApp, type DesktopApp } from './desktop-app.js';
import { fakeElectronShell, type FakeElectronShell } from './testing/fake-shell.js';
import { NOT_ON_CHAIN } from './books-status.js';
import { TEST_SANDBOX } from './testing/fake-core.js';

const AWAY: Signals = { idleSeconds: 3600, screenLocked: false, localSession: true, fullscreen: { detected: false }, game: { detected: false }, gpu: null, battery: null };

let dir: string;
let coordinator: Coordinator;
let app: DesktopApp;
let fake: FakeElectronShell;

/** Resolves once `check` holds (the worker reconnects on its own schedule). */
async function eventually(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'silkworm-desktop-'));
  const modelPath = join(dir, 'model.gguf');
  await writeTestModel(modelPath);
  coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'coordinator'), apiKeys: [], unmetered: true, logger: createLogger('coordinator', { level: 'silent' }) });
  fake = fakeElectronShell();
  app = await startDesktopApp({
    dataDir: join(dir, 'user-data'),
    config: { coordinatorUrl: coordinator.url, modelPath, network: 'testnet' },
    shell: fake.shell,
    signalSource: { read: async () => AWAY },
    logger: createLogger('worker', { level: 'silent' }),
    tuning: { threads: 1, sandbox: false, sharingPollMs: 200, reconnect: { minDelayMs: 20, maxDelayMs: 200 } },
    app: { sandboxProbe: () => TEST_SANDBOX },
  });
});

after(async () => {
  await app?.stop();
  await coordinator?.close();
  await rm(dir, { recursive: true, force: true });
});

test('the desktop shell’s capabilities reach the app, and a new owner is walked through setup', async () => {
  const info = await app.services.handlers.getAppInfo(undefined);
  assert.ok(info.ok);
  assert.deepEqual([info.value.shell, info.value.features], ['electron', { autoStart: true, notifications: true, openExternal: true }]);
  const settings = await app.services.handlers.getSettings(undefined);
  assert.ok(settings.ok && settings.value.setupPending, 'first run: setup');
  assert.equal(settings.ok && settings.value.sharing.mode, 'off', 'a fresh install shares nothing until the owner turns it on');
  const login = await app.services.handlers.setAutoStart({ enabled: true });
  assert.ok(login.ok && login.value === true);
});

test('a wallet created in the app, sealed by the keychain, is paid from now on: announced without a restart', async () => {
  await eventually('the worker to connect', () => app.core.worker.link.connected);
  const wallet = await app.services.handlers.getWallet(undefined);
  assert.ok(wallet.ok);
  assert.equal(wallet.value.localPassphrase.required, false, 'the OS keychain protects the words: no passphrase');
  const created = await app.services.handlers.createLocalWallet({});
  assert.ok(created.ok, created.ok ? '' : created.error.message);
  const confirmed = await app.services.handlers.confirmWalletBackup(undefined);
  assert.ok(confirmed.ok);
  assert.equal(confirmed.value.local?.protection, 'os-keychain');
  await eventually('the new address to be announced', () => app.core.payoutAddress() === created.value.address);
  const session = () => [...coordinator.registry.all()].find((worker) => worker.id === app.core.workerId);
  await eventually('the coordinator to know it', () => session()?.payoutAddress === created.value.address);
  const shown = await app.services.handlers.getWallet(undefined);
  assert.ok(shown.ok);
  assert.deepEqual([shown.value.payoutAddress, shown.value.pendingAddress, shown.value.source], [created.value.address, null, 'local']);
  assert.deepEqual(shown.value.cashOut, { via: 'local', needsPassphrase: false }, 'Cash out signs with the wallet’s own key');
  const doctor = await app.services.handlers.getDoctor(undefined);
  assert.equal(doctor.ok && doctor.value.checks.find((check) => check.id === 'payout')?.status, 'ok');
});

test('links open through the shell, only allow-listed ones', async () => {
  const opened = await app.services.handlers.openLink({ url: 'https://testnet.tonviewer.com/transaction/ab' });
  assert.ok(opened.ok);
  const refused = await app.services.handlers.openLink({ url: 'https://tonviewer.com.example/' });
  assert.equal(!refused.ok && refused.error.code, 'forbidden');
  assert.deepEqual(fake.opened, ['https://testnet.tonviewer.com/transaction/ab']);
});

test('sharing changes are notified in the Dashboard’s words; earnings are wired and say why they are empty', async () => {
  const before = fake.notifications.length;
  const on = await app.services.handlers.setSharingMode({ mode: 'always' });
  assert.ok(on.ok);
  await eventually('a sharing decision', () => app.core.sharing.currentDecision.state === 'sharing');
  assert.deepEqual(fake.notifications.slice(before).at(-1), { title: 'Sharing your GPU', body: 'Sharing all the time, within your temperature and power limits.' });
  assert.equal(on.value.sharing.switchLabel, 'Share GPU always', 'the switch says what it does');
  const earnings = await app.services.handlers.getEarnings({ range: 'today' });
  assert.deepEqual(!earnings.ok && earnings.error, { code: 'unavailable', message: NOT_ON_CHAIN });
});
