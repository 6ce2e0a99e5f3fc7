// Pairing a wallet app end to end: the real coordinator (manifest, payloads, ton_proof
// verification), the real @tonconnect/sdk in the worker's wallet service, a loopback TON
// Connect bridge and a simulated wallet app signing a real proof with a real V5R1 key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '../network/coordinator/server.js';
import { createLogger } from '../network/coordinator/log.js';
import { createTestServices } from '../main/app/testing/fake-core.js';
import { TonConnectPairing } from '../main/wallet/ton-connect.js';
import type { WalletView } from '../main/ipc/contract.js';
import type { AppServices } from '../main/app/assemble-app.js';
import { createSimulatedWallet, startTestBridge, TEST_UNIVERSAL_LINK, type TestBridge } from './tonconnect-bridge.js';

let dir: string;
let coordinator: Coordinator;
let bridge: TestBridge;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'silkworm-pairing-'));
  coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'coordinator'), apiKeys: [], logger: createLogger('coordinator', { level: 'error' }) });
  bridge = await startTestBridge();
});

after(async () => {
  await bridge.close();
  await coordinator.close();
  await rm(dir, { recursive: true, force: true });
});

async function services() {
  const built = await createTestServices({ coordinatorUrl: coordinator.url, tonConnect: { walletsListSource: bridge.walletsListUrl } });
  const views: WalletView[] = [];
  built.services.subscribe((name, payload) => {
    if (name === 'wallet') views.push(payload as WalletView);
  });
  return { ...built, views };
}

/** Resolves with the first pushed view that matches (waits on the app's own events, never sleeps). */
async function pushed(views: WalletView[], match: (view: WalletView) => boolean, timeoutMs = 10_000): Promise<WalletView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = views.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching wallet push; saw ${JSON.stringify(views.map((v) => v.tonConnect))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function start(s: AppServices) {
  const started = await s.handlers.startTonConnect(undefined);
  assert.ok(started.ok, started.ok ? '' : started.error.message);
  return started.value;
}

test('a wallet app pairs: the proof is verified by the coordinator and its address becomes the payout address', async () => {
  const { services: s, views, dataDir } = await services();
  const wallet = await createSimulatedWallet('testnet');
  const link = await start(s);
  assert.ok(link.universalLink.startsWith(`${TEST_UNIVERSAL_LINK}?v=2&id=`), link.universalLink);
  const request = JSON.parse(new URL(link.universalLink).searchParams.get('r') ?? '{}') as { manifestUrl: string; items: { name: string; payload?: string }[] };
  assert.equal(request.manifestUrl, `${coordinator.url}/tonconnect-manifest.json`);
  assert.match(request.items.find((i) => i.name === 'ton_proof')?.payload ?? '', /^[0-9a-f]{64}$/);
  assert.ok(Date.parse(link.expiresAt) > Date.now());
  const waiting = await s.handlers.getWallet(undefined);
  assert.equal(waiting.ok && waiting.value.tonConnect.state, 'waiting');

  await wallet.answer(link.universalLink, bridge.bridgeUrl);
  const connected = await pushed(views, (v) => v.tonConnect.state === 'connected');
  assert.equal(connected.payoutAddress, wallet.friendly('testnet'));
  assert.equal(connected.source, 'tonconnect');
  assert.equal(connected.tonConnect.walletName, 'Tonkeeper');
  const stored = JSON.parse(await readFile(join(dataDir, 'app-settings.json'), 'utf8')) as { payoutAddress: string };
  assert.equal(stored.payoutAddress, wallet.friendly('testnet'));
  assert.equal(coordinator.url.length > 0 && JSON.stringify(connected).includes('secret'), false);

  const messagesBefore = bridge.delivered.length;
  const disconnected = await s.handlers.disconnectWallet(undefined);
  assert.ok(disconnected.ok);
  assert.equal(disconnected.value.payoutAddress, null);
  assert.equal(disconnected.value.source, null);
  assert.equal(disconnected.value.tonConnect.state, 'idle');
  assert.ok(bridge.delivered.length > messagesBefore, 'the wallet app was told (disconnect through the bridge)');
  s.close();
});

test('the owner declines in the wallet app: a clear error, the payout address untouched', async () => {
  const { services: s, views } = await services();
  const typed = await s.handlers.setPayoutAddress({ address: (await createSimulatedWallet()).friendly('testnet') });
  assert.ok(typed.ok);
  const link = await start(s);
  await (await createSimulatedWallet()).answer(link.universalLink, bridge.bridgeUrl, 'decline');
  const failed = await pushed(views, (v) => v.tonConnect.state === 'failed');
  assert.equal(failed.tonConnect.error?.code, 'wallet-rejected');
  assert.match(failed.tonConnect.error?.message ?? '', /declined/);
  assert.equal(failed.payoutAddress, typed.value.payoutAddress);
  assert.equal(failed.source, 'typed');
  s.close();
});

test('a wallet app on the wrong network is refused', async () => {
  const { services: s, views } = await services();
  const link = await start(s);
  await (await createSimulatedWallet('mainnet')).answer(link.universalLink, bridge.bridgeUrl, { network: 'mainnet' });
  const failed = await pushed(views, (v) => v.tonConnect.state === 'failed');
  assert.equal(failed.tonConnect.error?.code, 'wrong-network');
  assert.match(failed.tonConnect.error?.message ?? '', /mainnet.*testnet/);
  assert.equal(failed.payoutAddress, null);
  s.close();
});

test('an unreachable bridge or coordinator fails before any QR is shown; cancel and expiry end a pairing', async () => {
  const dead = await createTestServices({ coordinatorUrl: coordinator.url, tonConnect: { wallet: { universalLink: TEST_UNIVERSAL_LINK, bridgeUrl: 'http://127.0.0.1:9/bridge' } } });
  const noBridge = await dead.services.handlers.startTonConnect(undefined);
  assert.equal(!noBridge.ok && noBridge.error.code, 'unreachable');
  assert.match(!noBridge.ok ? noBridge.error.message : '', /bridge/);
  dead.services.close();
  const offline = await createTestServices({ coordinatorUrl: 'http://127.0.0.1:9', tonConnect: { walletsListSource: bridge.walletsListUrl } });
  const noCoordinator = await offline.services.handlers.startTonConnect(undefined);
  assert.equal(!noCoordinator.ok && noCoordinator.error.code, 'unreachable');
  offline.services.close();

  const { services: s } = await services();
  await start(s);
  const cancelled = await s.handlers.cancelTonConnect(undefined);
  assert.equal(cancelled.ok && cancelled.value.tonConnect.state, 'idle');
  s.close();

  const pairing = new TonConnectPairing({ dir: join(dir, 'expiry'), coordinatorUrl: coordinator.url, network: 'testnet', walletsListSource: bridge.walletsListUrl, timeoutMs: 300 });
  const expired = new Promise<string>((resolve) => pairing.on('change', (state) => state.state === 'failed' && resolve(state.code)));
  const started = await pairing.start();
  assert.ok(started.ok);
  assert.equal(await expired, 'expired');
  // A wallet answering after expiry changes nothing.
  await (await createSimulatedWallet()).answer(started.value.universalLink, bridge.bridgeUrl);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(pairing.state.state, 'failed');
  pairing.close();
});

test('the local wallet shows its balance from the chain endpoint (unknown without one), and only after backup becomes the payout address', async () => {
  const { startChainServer } = await import('../network/chain/cli.js');
  const { createChainLogger } = await import('../network/chain/log.js');
  const chain = await startChainServer({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'chain'), logger: createChainLogger({ level: 'error' }) });
  try {
    const { services: s } = await createTestServices({ coordinatorUrl: coordinator.url, chainUrl: chain.url });
    const created = await s.handlers.createLocalWallet({ passphrase: 'balance test passphrase' });
    assert.ok(created.ok);
    const before = await s.handlers.getWallet(undefined);
    assert.ok(before.ok);
    assert.equal(before.value.payoutAddress, null, 'not the payout address until the words are confirmed');
    assert.equal(before.value.local?.backedUp, false);
    const faucet = await fetch(`${chain.url}/faucet`, { method: 'POST', body: JSON.stringify({ address: created.value.address, amount: '1500000000' }) });
    assert.ok(faucet.ok, await faucet.text());
    const confirmed = await s.handlers.confirmWalletBackup(undefined);
    assert.ok(confirmed.ok);
    assert.equal(confirmed.value.payoutAddress, created.value.address);
    assert.equal(confirmed.value.source, 'local');
    assert.equal(confirmed.value.local?.balanceNanotons, '1500000000');
    s.close();
    const { services: offline } = await createTestServices({ coordinatorUrl: coordinator.url });
    assert.ok((await offline.handlers.createLocalWallet({ passphrase: 'balance test passphrase' })).ok);
    const unknown = await offline.handlers.getWallet(undefined);
    assert.equal(unknown.ok && unknown.value.local?.balanceNanotons, null, 'no chain endpoint: unknown, never 0');
    offline.close();
  } finally {
    await chain.close();
  }
});
