/**
 * Pairing a wallet app (Tonkeeper, …) over TON Connect, in the worker core — never in the
 * renderer: the SDK, its session keys and every network call stay here (docs/design.md, Wallet).
 *
 * One pairing: ask the coordinator for a single-use `ton_proof` payload → check the wallet's
 * bridge answers → `connect()` gives the universal link (the UI draws it as a QR) → the wallet
 * app answers through the bridge with its address and a signed proof → the coordinator
 * verifies the proof → the network is checked → `paired` with the non-bounceable address.
 * Expiry, cancel and disconnect end it; every failure carries a code the UI can explain.
 */
import { EventEmitter } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TonConnect, UserRejectsError, type IStorage, type Wallet } from '@tonconnect/sdk';
import { beginCell, storeStateInit, type Address, type Cell, type StateInit } from '@ton/core';
import { TON_CHAIN, TON_PROOF_PATHS } from '../../network/protocol/ton-proof.js';
import type { Logger } from '../../network/node-kit/log.js';
import { writeFileAtomic } from '../../network/node-kit/json-file.js';
import { fail, ok, type WalletErrorCode, type WalletResult } from './wallet-result.js';
import { readJsonBounded } from '../../network/node-kit/response-body.js';

/** Tonkeeper: the default wallet app the link opens. */
export const TONKEEPER = { appName: 'tonkeeper', universalLink: 'https://app.tonkeeper.com/ton-connect' } as const;

/** Where pairing stands; what the Wallet screen shows. */
export type PairingState =
  | { state: 'idle' }
  | { state: 'waiting'; universalLink: string; expiresAt: string }
  | { state: 'verifying' }
  | { state: 'connected'; address: string; walletName: string | null }
  | { state: 'failed'; code: WalletErrorCode; message: string };

/** What a pairing is built from. */
export interface TonConnectPairingOptions {
  /** The wallet folder (`<dataDir>/wallet`): the SDK's session file lives there. */
  dir: string;
  /** The coordinator (http or ws URL): manifest, payloads and proof verification. */
  coordinatorUrl: string;
  network: 'testnet' | 'mainnet';
  /** The wallets list the SDK reads (default: the SDK's official list). */
  walletsListSource?: string;
  /** Which wallet app's universal link, and its bridge (default: Tonkeeper's, bridge from the list). */
  wallet?: { universalLink: string; bridgeUrl?: string; appName?: string };
  /** How long to wait for the wallet app at most (default: until the payload expires). */
  timeoutMs?: number;
  logger?: Logger;
  fetch?: typeof fetch;
}

/** A JSON file as the SDK's IStorage (the SDK keeps its session keys here, never sent anywhere). */
export class JsonFileStorage implements IStorage {
  private cache: Record<string, string> | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  private async load(): Promise<Record<string, string>> {
    if (!this.cache) {
      try {
        this.cache = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, string>;
      } catch {
        this.cache = {};
      }
    }
    return this.cache;
  }

  private persist(): Promise<void> {
    const text = JSON.stringify(this.cache ?? {});
    this.queue = this.queue.catch(() => undefined).then(() => writeFileAtomic(this.file, text, { mode: 0o600, dirMode: 0o700 }));
    return this.queue;
  }

  async setItem(key: string, value: string): Promise<void> {
    (await this.load())[key] = value;
    await this.persist();
  }

  async getItem(key: string): Promise<string | null> {
    return (await this.load())[key] ?? null;
  }

  async removeItem(key: string): Promise<void> {
    delete (await this.load())[key];
    await this.persist();
  }

  /** Forgets every session. */
  async clear(): Promise<void> {
    this.cache = {};
    await this.queue.catch(() => undefined);
    await rm(this.file, { force: true });
  }
}

let consoleFiltered = false;
/**
 * The SDK writes `console.debug` lines (transaction parameters included) unconditionally, and its
 * errors to console.error: drop the debug lines and route the rest to our logger, once per process.
 */
function silenceSdkConsole(logger: Logger | undefined): void {
  if (consoleFiltered) return;
  consoleFiltered = true;
  const tag = '[TON_CONNECT_SDK]';
  for (const level of ['debug', 'warn', 'error'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (args[0] !== tag) return original(...args);
      if (level !== 'debug') logger?.debug({ sdk: args.slice(1).map((a) => (a instanceof Error ? a.message : String(a))).join(' ').slice(0, 300) }, 'tonconnect sdk');
    };
  }
}

const httpBase = (url: string) => url.replace(/^ws(s?):/, 'http$1:').replace(/\/+$/, '');

/** Pairs one wallet app at a time; emits `change` on every step and `paired` with the address. */
export class TonConnectPairing extends EventEmitter<{ change: [PairingState]; paired: [{ address: string; walletName: string | null }] }> {
  private current: PairingState = { state: 'idle' };
  private connector: TonConnect | undefined;
  private abort: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private readonly storage: JsonFileStorage;
  private readonly fetch: typeof fetch;
  private readonly base: string;

  constructor(private readonly options: TonConnectPairingOptions) {
    super();
    this.storage = new JsonFileStorage(join(options.dir, 'tonconnect-session.json'));
    this.fetch = options.fetch ?? fetch;
    this.base = httpBase(options.coordinatorUrl);
    silenceSdkConsole(options.logger);
  }

  /** The current step. */
  get state(): PairingState {
    return this.current;
  }

  private set(next: PairingState): void {
    this.current = next;
    this.emit('change', next);
  }

  private async post<T>(path: string, body?: unknown): Promise<WalletResult<T>> {
    let response: Response;
    try {
      response = await this.fetch(`${this.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}), signal: AbortSignal.timeout(15_000) });
    } catch {
      return fail('unreachable', `The coordinator (${this.base}) could not be reached. Check the connection and try again.`);
    }
    const parsed = (await readJsonBounded(response, 1024 * 1024).catch(() => null)) as (T & { ok?: boolean; error?: { code?: string; message?: string } }) | null;
    if (!parsed) return fail('unreachable', `The coordinator answered ${response.status} without a readable body.`);
    if (!response.ok || parsed.ok === false) {
      const code = parsed.error?.code === 'wrong-network' ? 'wrong-network' : response.status === 404 ? 'unsupported' : 'proof-invalid';
      return fail(code, parsed.error?.message ?? `The coordinator refused (${response.status}).`);
    }
    return ok(parsed);
  }

  /** The wallet app's bridge: configured, or the one the wallets list names for it. */
  private async bridgeFor(connector: TonConnect): Promise<WalletResult<{ universalLink: string; bridgeUrl: string; name: string | null }>> {
    const configured = this.options.wallet;
    const universalLink = configured?.universalLink ?? TONKEEPER.universalLink;
    if (configured?.bridgeUrl) return ok({ universalLink, bridgeUrl: configured.bridgeUrl, name: configured.appName ?? null });
    const wallets = await connector.getWallets().catch(() => []);
    const match = wallets.find((w) => 'bridgeUrl' in w && (w.universalLink === universalLink || w.appName === (configured?.appName ?? TONKEEPER.appName)));
    if (!match || !('bridgeUrl' in match)) return fail('unavailable', 'The wallet app’s bridge is not in the wallets list; set the bridge URL in the configuration.');
    return ok({ universalLink, bridgeUrl: match.bridgeUrl, name: match.name });
  }

  /** Whether the bridge answers an SSE request (so the QR is not shown for a dead bridge). */
  private async bridgeReachable(bridgeUrl: string): Promise<boolean> {
    const probe = new AbortController();
    const timer = setTimeout(() => probe.abort(), 8_000);
    try {
      const url = new URL(`${bridgeUrl.replace(/\/+$/, '')}/events`);
      url.searchParams.set('client_id', '00'.repeat(32));
      const response = await this.fetch(url, { headers: { accept: 'text/event-stream' }, signal: probe.signal });
      return response.ok;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      probe.abort();
    }
  }

  /** Starts a pairing (ending any earlier one); answers the universal link to show as a QR. */
  async start(): Promise<WalletResult<{ universalLink: string; expiresAt: string }>> {
    await this.stopConnector();
    const attempt = ++this.attempt;
    const issued = await this.post<{ payload: string; expiresAt: string }>(TON_PROOF_PATHS.payload);
    if (!issued.ok) return this.failWith(attempt, issued);
    await this.storage.clear();
    const connector = new TonConnect({
      manifestUrl: `${this.base}${TON_PROOF_PATHS.manifest}`,
      storage: this.storage,
      analytics: { mode: 'off' },
      ...(this.options.walletsListSource ? { walletsListSource: this.options.walletsListSource } : {}),
    });
    const bridge = await this.bridgeFor(connector);
    if (!bridge.ok) return this.failWith(attempt, bridge);
    if (!(await this.bridgeReachable(bridge.value.bridgeUrl))) {
      return this.failWith(attempt, fail('unreachable', `The wallet bridge (${new URL(bridge.value.bridgeUrl).host}) could not be reached. Check the internet connection and try again.`));
    }
    if (attempt !== this.attempt) return fail('expired', 'A newer pairing replaced this one.');
    this.connector = connector;
    this.abort = new AbortController();
    connector.onStatusChange(
      (wallet) => void (wallet && this.onWallet(attempt, wallet, bridge.value.name)),
      (error) => void this.onWalletError(attempt, error),
    );
    let universalLink: string;
    try {
      universalLink = connector.connect({ universalLink: bridge.value.universalLink, bridgeUrl: bridge.value.bridgeUrl }, { request: { tonProof: issued.value.payload }, signal: this.abort.signal });
    } catch (error) {
      return this.failWith(attempt, fail('unavailable', `TON Connect could not start: ${error instanceof Error ? error.message : String(error)}`));
    }
    const expiresAt = new Date(Math.min(Date.parse(issued.value.expiresAt), Date.now() + (this.options.timeoutMs ?? Number.MAX_SAFE_INTEGER))).toISOString();
    this.timer = setTimeout(() => void this.expire(attempt), Math.max(0, Date.parse(expiresAt) - Date.now()));
    this.timer.unref?.();
    this.set({ state: 'waiting', universalLink, expiresAt });
    this.options.logger?.info({ bridge: new URL(bridge.value.bridgeUrl).host }, 'wallet pairing started');
    return ok({ universalLink, expiresAt });
  }

  private async onWallet(attempt: number, wallet: Wallet, listedName: string | null): Promise<void> {
    if (attempt !== this.attempt || this.current.state !== 'waiting') return;
    clearTimeout(this.timer);
    this.set({ state: 'verifying' });
    const proof = wallet.connectItems?.tonProof;
    if (!proof || !('proof' in proof)) {
      return this.endWith(attempt, fail('proof-invalid', 'The wallet app connected without proving it owns the address (no ton_proof). Try another wallet app, or type the address instead.'));
    }
    const { account } = wallet;
    const expectedChain = TON_CHAIN[this.options.network];
    if (account.chain !== expectedChain) {
      const where = account.chain === TON_CHAIN.mainnet ? 'mainnet' : account.chain === TON_CHAIN.testnet ? 'testnet' : `chain ${account.chain}`;
      return this.endWith(attempt, fail('wrong-network', `The wallet app is on ${where}, but this worker is paid on ${this.options.network}. Switch the wallet app to ${this.options.network} and connect again.`));
    }
    const verified = await this.post<{ address: string }>(TON_PROOF_PATHS.verify, { address: account.address, network: account.chain, ...(account.publicKey ? { publicKey: account.publicKey } : {}), walletStateInit: account.walletStateInit, proof: proof.proof });
    if (attempt !== this.attempt) return;
    if (!verified.ok) return this.endWith(attempt, verified);
    this.connector?.pauseConnection(); // paired: nothing more to hear from the wallet until Disconnect
    const walletName = listedName ?? wallet.device.appName ?? null;
    this.set({ state: 'connected', address: verified.value.address, walletName });
    this.options.logger?.info({ wallet: walletName }, 'wallet paired');
    this.emit('paired', { address: verified.value.address, walletName });
  }

  private async onWalletError(attempt: number, error: unknown): Promise<void> {
    if (attempt !== this.attempt || this.current.state !== 'waiting') return;
    const text = error instanceof Error ? error.message : String(error);
    if (error instanceof UserRejectsError || /reject|declin/i.test(text)) {
      return this.endWith(attempt, fail('wallet-rejected', 'The connection was declined in the wallet app. Start again and approve it there.'));
    }
    return this.endWith(attempt, fail('proof-invalid', `The wallet app answered with an error: ${text.slice(0, 200)}`));
  }

  private async expire(attempt: number): Promise<void> {
    if (attempt !== this.attempt || this.current.state !== 'waiting') return;
    await this.endWith(attempt, fail('expired', 'The QR code expired before a wallet app answered. Start again to get a new one.'));
  }

  private failWith<T>(attempt: number, failure: WalletResult<never>): WalletResult<T> {
    if (attempt === this.attempt && !failure.ok) this.set({ state: 'failed', code: failure.error.code, message: failure.error.message });
    return failure;
  }

  private async endWith(attempt: number, failure: WalletResult<never>): Promise<void> {
    if (attempt !== this.attempt) return;
    const connector = this.connector;
    // A wallet that did connect (wrong network, bad proof) is told the connection is over.
    if (connector?.connected) await Promise.race([connector.disconnect().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2_000).unref?.())]);
    await this.stopConnector();
    this.failWith(attempt, failure);
    this.options.logger?.warn({ code: failure.ok ? null : failure.error.code }, 'wallet pairing failed');
  }

  /** Stops waiting for the wallet app. */
  async cancel(): Promise<void> {
    this.attempt++;
    await this.stopConnector();
    this.set({ state: 'idle' });
  }

  /**
   * Asks the paired wallet app to sign and send one message (a Cash out claim): the owner
   * approves it on the phone. Resolves once the wallet app answered; the chain shows the result.
   */
  async sendMessage(message: { to: Address; value: bigint; body?: Cell; init?: StateInit | null }, timeoutMs = 5 * 60_000): Promise<WalletResult<void>> {
    const connector = this.connector ?? (await this.restore());
    if (!connector?.connected) return fail('no-wallet', 'The wallet app is not connected any more: connect it again on the Wallet screen.');
    await connector.unPauseConnection().catch(() => undefined);
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await connector.sendTransaction(
        {
          validUntil: Math.floor((Date.now() + timeoutMs) / 1000),
          network: TON_CHAIN[this.options.network],
          messages: [
            {
              address: message.to.toString({ bounceable: true, testOnly: this.options.network === 'testnet' }),
              amount: message.value.toString(),
              ...(message.body ? { payload: message.body.toBoc().toString('base64') } : {}),
              ...(message.init ? { stateInit: beginCell().store(storeStateInit(message.init)).endCell().toBoc().toString('base64') } : {}),
            },
          ],
        },
        { signal },
      );
      return ok(undefined);
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      if (error instanceof UserRejectsError || /reject|declin/i.test(text)) return fail('wallet-rejected', 'The claim was declined in the wallet app. Nothing was sent.');
      if (signal.aborted) return fail('expired', 'The wallet app did not answer in time. Nothing was sent; try again.');
      return fail('unavailable', `The wallet app could not send the claim: ${text.slice(0, 200)}`);
    } finally {
      connector.pauseConnection();
    }
  }

  /** Tells the wallet app the connection is over (best effort) and forgets the session. */
  async disconnect(): Promise<void> {
    this.attempt++;
    const connector = this.connector ?? (await this.restore());
    if (connector?.connected) {
      await connector.unPauseConnection().catch(() => undefined);
      await Promise.race([connector.disconnect().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3_000).unref?.())]);
    }
    await this.stopConnector();
    this.set({ state: 'idle' });
  }

  /** The stored session after a restart, if any (only used to say goodbye on Disconnect). */
  private async restore(): Promise<TonConnect | undefined> {
    if ((await this.storage.getItem('ton-connect-storage_bridge-connection')) === null) return undefined;
    const connector = new TonConnect({ manifestUrl: `${this.base}${TON_PROOF_PATHS.manifest}`, storage: this.storage, analytics: { mode: 'off' }, ...(this.options.walletsListSource ? { walletsListSource: this.options.walletsListSource } : {}) });
    await Promise.race([connector.restoreConnection().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3_000).unref?.())]);
    this.connector = connector;
    return connector;
  }

  private async stopConnector(): Promise<void> {
    clearTimeout(this.timer);
    this.abort?.abort();
    this.abort = undefined;
    const connector = this.connector;
    this.connector = undefined;
    connector?.pauseConnection();
    await this.storage.clear();
  }

  /** Ends everything (app shutdown); keeps the session file for Disconnect after a restart. */
  close(): void {
    this.attempt++;
    clearTimeout(this.timer);
    this.abort?.abort();
    this.connector?.pauseConnection();
    this.connector = undefined;
    this.removeAllListeners();
  }
}
