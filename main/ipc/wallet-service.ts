/**
 * The Wallet verbs: the payout address and its three sources (typed and checked, a wallet app
 * paired over TON Connect with a coordinator-verified `ton_proof`, or the wallet kept on this
 * PC), built over the TonConnectPairing and LocalWallet of `main/wallet/`. Secrets stay here:
 * only `createLocalWallet` and `revealRecoveryPhrase` answer the words (see dispatch.ts).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Address } from '@ton/core';
import { TonClient } from '@ton/ton';
import type { Logger } from '../log.js';
import { LocalWallet } from '../wallet/local-wallet.js';
import type { OsKeychain } from '../wallet/key-vault.js';
import { TonConnectPairing, type PairingState } from '../wallet/ton-connect.js';
import type { VerbHandlers } from './dispatch.js';
import { validatePayoutAddress } from './payout-address.js';
import { fail, ok } from './result.js';
import type { AppSettingsStore } from './settings-store.js';
import type { LocalWalletView, PayoutSource, TonConnectView, TonNetwork, WalletView } from './views.js';

/** How the wallet is set up by the shell: keychain (desktop), chain endpoint, TON Connect endpoints. */
export interface WalletServiceConfig {
  /** The OS keychain (Electron safeStorage); absent headless, where a passphrase protects the words. */
  keychain?: OsKeychain;
  /** A toncenter v2 endpoint (as `silkworm chain` serves) to show the local wallet's balance. */
  chainUrl?: string;
  chainApiKey?: string;
  tonConnect?: { walletsListSource?: string; wallet?: { universalLink: string; bridgeUrl?: string; appName?: string } };
}

/** What the wallet service is built from. */
export interface WalletServiceOptions extends WalletServiceConfig {
  dataDir: string;
  network: TonNetwork;
  coordinatorUrl: string;
  store: AppSettingsStore;
  announcedAddress: string | null;
  logger?: Logger;
  /** Called with the Wallet view after each pairing step (the `wallet` push). */
  onChange(view: WalletView): void;
}

/** The wallet verbs. */
export type WalletHandlers = Pick<
  VerbHandlers,
  | 'getWallet' | 'setPayoutAddress' | 'clearPayoutAddress' | 'startTonConnect' | 'cancelTonConnect' | 'disconnectWallet'
  | 'createLocalWallet' | 'confirmWalletBackup' | 'importLocalWallet' | 'revealRecoveryPhrase' | 'removeLocalWallet'
>;

/** Which source set the payout address (`<dataDir>/wallet/payout-source.json`); valid only while the address matches. */
interface SourceRecord {
  source: PayoutSource;
  address: string;
  walletName: string | null;
}

function parseRecord(text: string): SourceRecord | null {
  const value = JSON.parse(text) as Partial<SourceRecord> | null;
  if (!value || typeof value.address !== 'string' || !['typed', 'tonconnect', 'local'].includes(value.source ?? '')) return null;
  return { source: value.source as PayoutSource, address: value.address, walletName: typeof value.walletName === 'string' ? value.walletName : null };
}

/** Builds the wallet verbs; `close` ends any pairing. */
export function createWalletService(options: WalletServiceOptions): { handlers: WalletHandlers; close(): void } {
  const { network, store } = options;
  const dir = join(options.dataDir, 'wallet');
  const sourceFile = join(dir, 'payout-source.json');
  const local = new LocalWallet({ dir, network, ...(options.keychain ? { keychain: options.keychain } : {}) });
  const pairing = new TonConnectPairing({
    dir,
    coordinatorUrl: options.coordinatorUrl,
    network,
    ...(options.tonConnect?.walletsListSource ? { walletsListSource: options.tonConnect.walletsListSource } : {}),
    ...(options.tonConnect?.wallet ? { wallet: options.tonConnect.wallet } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const chain = options.chainUrl ? new TonClient({ endpoint: `${options.chainUrl.replace(/\/$/, '')}/jsonRPC`, timeout: 3_000, ...(options.chainApiKey ? { apiKey: options.chainApiKey } : {}) }) : undefined;
  let record: Promise<SourceRecord | null> = readFile(sourceFile, 'utf8').then(parseRecord, () => null);

  const setPayout = async (address: string | null, source: PayoutSource | null, walletName: string | null = null) => {
    await store.update({ payoutAddress: address });
    const next = address && source ? { source, address, walletName } : null;
    record = Promise.resolve(next);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(`${sourceFile}.tmp`, JSON.stringify(next), { mode: 0o600 });
    await rename(`${sourceFile}.tmp`, sourceFile);
    options.logger?.info({ source }, address ? 'payout address changed' : 'payout address cleared');
  };

  const balanceOf = async (address: string): Promise<string | null> => {
    if (!chain) return null;
    try {
      return (await chain.getBalance(Address.parse(address))).toString();
    } catch {
      return null;
    }
  };

  const tonConnectView = (state: PairingState, current: SourceRecord | null): TonConnectView => {
    const base: TonConnectView = { state: 'idle', universalLink: null, expiresAt: null, walletName: null, error: null };
    switch (state.state) {
      case 'waiting':
        return { ...base, state: 'waiting', universalLink: state.universalLink, expiresAt: state.expiresAt };
      case 'verifying':
        return { ...base, state: 'verifying' };
      case 'failed':
        return { ...base, state: 'failed', error: { code: state.code, message: state.message } };
      default:
        // Connected survives restarts: it is the payout address the pairing set, while it still is.
        return current?.source === 'tonconnect' ? { ...base, state: 'connected', walletName: current.walletName } : base;
    }
  };

  const view = async (withBalance = true): Promise<WalletView> => {
    const payoutAddress = store.value.payoutAddress ?? null;
    const stored = await record;
    const current = stored && stored.address === payoutAddress ? stored : null;
    const status = await local.status();
    const localStatus = status.ok ? status.value : null;
    const localView: LocalWalletView | null = localStatus
      ? { address: localStatus.address, backedUp: localStatus.backedUp, protection: localStatus.protection, createdAt: localStatus.createdAt, balanceNanotons: withBalance ? await balanceOf(localStatus.address) : null }
      : null;
    return {
      payoutAddress,
      network,
      announcedAddress: options.announcedAddress,
      source: payoutAddress ? (current?.source ?? 'typed') : null,
      tonConnect: tonConnectView(pairing.state, current),
      local: localView,
      localPassphrase: local.needsPassphrase(),
    };
  };

  const push = () => void view(false).then(options.onChange, (error: unknown) => options.logger?.warn({ err: String(error) }, 'wallet view failed'));
  pairing.on('change', push);
  pairing.on('paired', ({ address, walletName }) => {
    void setPayout(address, 'tonconnect', walletName).then(push, (error: unknown) => options.logger?.error({ err: String(error) }, 'could not store the paired address'));
  });

  const handlers: WalletHandlers = {
    getWallet: async () => ok(await view()),
    setPayoutAddress: async ({ address }) => {
      const result = validatePayoutAddress(address, network);
      if (!result.ok) return result;
      await setPayout(result.value, 'typed');
      return ok(await view());
    },
    clearPayoutAddress: async () => {
      await setPayout(null, null);
      return ok(await view());
    },
    startTonConnect: () => pairing.start(),
    cancelTonConnect: async () => {
      await pairing.cancel();
      return ok(await view());
    },
    disconnectWallet: async () => {
      const current = await record;
      await pairing.disconnect();
      if (current?.source === 'tonconnect' && current.address === store.value.payoutAddress) await setPayout(null, null);
      return ok(await view());
    },
    createLocalWallet: async ({ passphrase }) => {
      const created = await local.create(passphrase);
      if (created.ok) options.logger?.info('local wallet created');
      return created;
    },
    confirmWalletBackup: async () => {
      const status = await local.status();
      if (!status.ok) return status;
      if (!status.value) return fail('no-wallet', 'There is no wallet on this PC to confirm.');
      const confirmed = await local.confirmBackup();
      if (!confirmed.ok) return confirmed;
      await setPayout(status.value.address, 'local');
      return ok(await view());
    },
    importLocalWallet: async ({ words, passphrase }) => {
      const imported = await local.import(words, passphrase);
      if (!imported.ok) return imported;
      options.logger?.info('local wallet imported');
      await setPayout(imported.value.address, 'local');
      return ok(await view());
    },
    revealRecoveryPhrase: async ({ passphrase }) => {
      const words = await local.reveal(passphrase);
      if (!words.ok) return words;
      options.logger?.info('recovery phrase shown');
      return ok({ words: words.value });
    },
    removeLocalWallet: async () => {
      const status = await local.status();
      await local.remove();
      // No payouts to an address whose key is no longer on this PC, unless the owner types it in again.
      if (status.ok && status.value && status.value.address === store.value.payoutAddress) await setPayout(null, null);
      options.logger?.info('local wallet removed');
      return ok(await view());
    },
  };
  return { handlers, close: () => pairing.close() };
}
