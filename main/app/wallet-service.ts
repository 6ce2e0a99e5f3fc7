/**
 * The Wallet verbs: the payout address being paid and its sources (typed and checked, a wallet
 * app paired over TON Connect with a coordinator-verified `ton_proof`, the wallet kept on this
 * PC, or `--payout-address` at start), built over the TonConnectPairing and LocalWallet of
 * `main/wallet/`. A new address takes effect live: the worker core announces it in a new
 * signed hello once the running job ends, and its books open. Cash out signs with the wallet
 * the address came from. Secrets stay here: only `createLocalWallet` and `revealRecoveryPhrase`
 * answer the words (see dispatch.ts).
 */
import { join } from 'node:path';
import { Address, type Sender } from '@ton/core';
import type { TonClient } from '@ton/ton';
import type { Logger } from '../../network/node-kit/log.js';
import { readJsonFile, writeJsonFile } from '../../network/node-kit/json-file.js';
import { createTonClient } from '../../network/node-kit/ton-client.js';
import { LocalWallet } from '../wallet/local-wallet.js';
import type { OsKeychain } from '../wallet/key-vault.js';
import { TonConnectPairing, type PairingState } from '../wallet/ton-connect.js';
import type { WorkerCore } from '../worker/worker-core.js';
import type { VerbHandlers } from '../ipc/dispatch.js';
import { fail, ok, type Result } from '../ipc/result.js';
import type { LocalWalletView, PayoutSource, TonConnectView, TonNetwork, WalletView } from '../ipc/views.js';
import { validatePayoutAddress } from './payout-address.js';
import type { AppSettingsStore } from './settings-store.js';

/** TON Connect endpoints (tests point them at a loopback bridge). */
export interface TonConnectConfig {
  walletsListSource?: string;
  wallet?: { universalLink: string; bridgeUrl?: string; appName?: string };
}

/** What the wallet service is built from. */
export interface WalletServiceOptions {
  core: Pick<WorkerCore, 'payoutAddress' | 'setPayoutAddress'>;
  dataDir: string;
  network: TonNetwork;
  coordinatorUrl: string;
  store: AppSettingsStore;
  /** The OS keychain (the desktop shell's); without it a passphrase protects the local wallet's words. */
  keychain?: OsKeychain;
  /** A toncenter v2 endpoint: the local wallet's balance, and Cash out's chain. */
  chainUrl?: string;
  chainApiKey?: string;
  tonConnect?: TonConnectConfig;
  logger?: Logger;
  /** Called with the Wallet view after each change (the `wallet` push). */
  onChange(view: WalletView): void;
}

/** The wallet verbs. */
export type WalletHandlers = Pick<
  VerbHandlers,
  | 'getWallet' | 'setPayoutAddress' | 'clearPayoutAddress' | 'startTonConnect' | 'cancelTonConnect' | 'disconnectWallet'
  | 'createLocalWallet' | 'confirmWalletBackup' | 'importLocalWallet' | 'revealRecoveryPhrase' | 'removeLocalWallet'
>;

/** The wallet service: its verbs, the wallet that signs a Cash out claim, and shutdown. */
export interface WalletService {
  handlers: WalletHandlers;
  /** The payout wallet as a Sender for a claim (the wallet app, or this PC's wallet after its passphrase). */
  cashOutWallet(passphrase: string | undefined): Promise<Result<Sender>>;
  /** Makes the worker and the stored choice agree (run once at start). */
  reconcile(): Promise<void>;
  close(): void;
}

/** Which source set the payout address (`<dataDir>/wallet/payout-source.json`); valid only while the address matches. */
interface SourceRecord {
  source: PayoutSource;
  address: string;
  walletName: string | null;
}

const SOURCES: readonly PayoutSource[] = ['typed', 'tonconnect', 'local', 'command-line'];

function parseRecord(value: unknown): SourceRecord | null {
  const record = value as Partial<SourceRecord> | null | undefined;
  if (!record || typeof record.address !== 'string' || !SOURCES.includes(record.source as PayoutSource)) return null;
  return { source: record.source as PayoutSource, address: record.address, walletName: typeof record.walletName === 'string' ? record.walletName : null };
}

function sameAddress(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return a === b;
  try {
    return Address.parse(a).equals(Address.parse(b));
  } catch {
    return a === b;
  }
}

/** Builds the wallet verbs; `close` ends any pairing. */
export function createWalletService(options: WalletServiceOptions): WalletService {
  const { network, store, core } = options;
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
  const client: TonClient | undefined = options.chainUrl ? createTonClient(options.chainUrl, { apiKey: options.chainApiKey, timeoutMs: 3_000 }) : undefined;
  let record: Promise<SourceRecord | null> = readJsonFile(sourceFile).then(parseRecord);
  /** A change the worker is announcing (it waits for the running job); null when none. */
  let pending: { address: string | null } | null = null;
  let announcing: Promise<void> = Promise.resolve();
  /** Counts changes, so a screen keeps the newest view whichever arrives last (an answer or a push). */
  let revision = 0;

  const push = () => void view(false).then(options.onChange, (error: unknown) => options.logger?.warn({ err: String(error) }, 'wallet view failed'));

  /** Stores the owner's choice and has the worker announce it (after the running job); resolves once stored. */
  const setPayout = async (address: string | null, source: PayoutSource | null, walletName: string | null = null) => {
    await store.update({ payoutAddress: address });
    const next = address && source ? { source, address, walletName } : null;
    record = Promise.resolve(next);
    revision++;
    await writeJsonFile(sourceFile, next, { mode: 0o600, dirMode: 0o700 });
    options.logger?.info({ source }, address ? 'payout address changed' : 'payout address cleared');
    if (sameAddress(core.payoutAddress(), address)) return;
    pending = { address };
    revision++;
    const change = announcing.then(() => core.setPayoutAddress(address));
    announcing = change.then(
      () => {
        if (pending?.address === address) pending = null;
        revision++;
        push();
      },
      (error: unknown) => {
        pending = null;
        revision++;
        options.logger?.error({ err: error instanceof Error ? error.message : String(error) }, 'could not announce the payout address');
        push();
      },
    );
  };

  const balanceOf = async (address: string): Promise<string | null> => {
    if (!client) return null;
    try {
      return (await client.getBalance(Address.parse(address))).toString();
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

  /** How Cash out would sign now. */
  const cashOutView = (source: PayoutSource | null, localStatus: LocalWalletView | null, paid: string | null): WalletView['cashOut'] => {
    if (!paid) return { via: null, reason: 'There is no payout address yet.' };
    if (source === 'tonconnect') return { via: 'tonconnect', needsPassphrase: false };
    if (localStatus && sameAddress(localStatus.address, paid)) return { via: 'local', needsPassphrase: localStatus.protection === 'passphrase' };
    return { via: null, reason: 'Cash out needs the wallet of your payout address: connect it with your wallet app, or use a wallet on this PC. The network still pays out by itself once your balance passes its threshold.' };
  };

  const view = async (withBalance = true): Promise<WalletView> => {
    // What is paid and pending now, read together before any await (a change may land meanwhile).
    const payoutAddress = core.payoutAddress() ?? null;
    const pendingNow = pending;
    const at = revision;
    const stored = await record;
    const current = stored && sameAddress(stored.address, payoutAddress) ? stored : null;
    const status = await local.status();
    const localStatus = status.ok ? status.value : null;
    const localView: LocalWalletView | null = localStatus
      ? { address: localStatus.address, backedUp: localStatus.backedUp, protection: localStatus.protection, createdAt: localStatus.createdAt, balanceNanotons: withBalance ? await balanceOf(localStatus.address) : null }
      : null;
    const source = payoutAddress ? (current?.source ?? 'typed') : null;
    return {
      payoutAddress,
      network,
      revision: at,
      pendingAddress: pendingNow?.address ?? null,
      pendingClear: pendingNow !== null && pendingNow.address === null,
      source,
      tonConnect: tonConnectView(pairing.state, current ?? (stored?.source === 'tonconnect' && pendingNow ? stored : null)),
      local: localView,
      localPassphrase: local.needsPassphrase(),
      cashOut: cashOutView(source, localView, payoutAddress),
    };
  };

  pairing.on('change', () => {
    revision++;
    push();
  });
  pairing.on('paired', ({ address, walletName }) => {
    void setPayout(address, 'tonconnect', walletName).then(push, (error: unknown) => options.logger?.error({ err: String(error) }, 'could not store the paired address'));
  });

  const cashOutWallet = async (passphrase: string | undefined): Promise<Result<Sender>> => {
    const paid = core.payoutAddress();
    if (!paid) return fail('unsupported', 'There is no payout address to cash out to.');
    const stored = await record;
    if (stored?.source === 'tonconnect' && sameAddress(stored.address, paid)) {
      return ok({
        address: Address.parse(paid),
        send: async (args) => {
          const sent = await pairing.sendMessage({ to: args.to, value: args.value, ...(args.body ? { body: args.body } : {}), ...(args.init ? { init: args.init } : {}) });
          if (!sent.ok) throw new CashOutRefused(sent.error.code, sent.error.message);
        },
      });
    }
    const status = await local.status();
    if (!status.ok) return status;
    if (!status.value || !sameAddress(status.value.address, paid)) return fail('unsupported', 'Cash out needs the wallet of your payout address: connect it with your wallet app, or use a wallet on this PC. The network still pays out by itself once your balance passes its threshold.');
    if (!client) return fail('unsupported', 'Cash out needs a connection to the TON chain, and this worker was started without one.');
    const unlocked = await local.unlock(passphrase);
    if (!unlocked.ok) return unlocked;
    return ok(client.open(unlocked.value.wallet).sender(unlocked.value.key.secretKey));
  };

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
      if (current?.source === 'tonconnect' && sameAddress(current.address, store.value.payoutAddress)) await setPayout(null, null);
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
      if (status.ok && status.value && sameAddress(status.value.address, store.value.payoutAddress)) await setPayout(null, null);
      options.logger?.info('local wallet removed');
      return ok(await view());
    },
  };

  return {
    handlers,
    cashOutWallet,
    reconcile: async () => {
      const paid = core.payoutAddress() ?? null;
      const chosen = store.value.payoutAddress ?? null;
      if (paid && !sameAddress(paid, chosen)) {
        // Started with --payout-address: that is the address being paid, so it is the one shown and kept.
        await store.update({ payoutAddress: paid });
        record = Promise.resolve({ source: 'command-line', address: paid, walletName: null });
        await writeJsonFile(sourceFile, await record, { mode: 0o600, dirMode: 0o700 });
      } else if (!paid && chosen) {
        // Chosen earlier but not announced by this start: announce it now.
        pending = { address: chosen };
        announcing = core.setPayoutAddress(chosen).finally(() => {
          pending = null;
          revision++;
          push();
        });
      }
    },
    close: () => pairing.close(),
  };
}

/** A claim the payout wallet refused to send (declined in the wallet app, expired …), with the wallet's code. */
export class CashOutRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
