/**
 * A wallet kept on this PC (docs/design.md, Wallet): 24 TON recovery words (not BIP39), a WalletV5R1
 * contract with the network id set explicitly (-239 mainnet, -3 testnet: the same key gives a
 * different address on each), the words encrypted at rest by the KeyVault. The words leave
 * this module only for the owner to write down (at creation) or on an explicit reveal.
 */
import { mnemonicNew, mnemonicToPrivateKey, mnemonicValidate, type KeyPair } from '@ton/crypto';
import { WalletContractV5R1 } from '@ton/ton';
import { fail, ok, type WalletResult } from './wallet-result.js';
import { KeyVault, VaultError, type OsKeychain, type Protection } from './key-vault.js';

/** The network a local wallet lives on. */
export type WalletNetwork = 'testnet' | 'mainnet';

/** What may be shown of the local wallet (never the words). */
export interface LocalWalletStatus {
  address: string;
  network: WalletNetwork;
  backedUp: boolean;
  protection: Protection;
  createdAt: string;
}

/** The V5R1 contract for a public key on a network. */
export function walletContract(publicKey: Buffer, network: WalletNetwork): WalletContractV5R1 {
  return WalletContractV5R1.create({ workchain: 0, publicKey, walletId: { networkGlobalId: network === 'mainnet' ? -239 : -3 } });
}

/** The non-bounceable, network-flagged form payouts are sent to. */
export function friendlyAddress(wallet: WalletContractV5R1, network: WalletNetwork): string {
  return wallet.address.toString({ urlSafe: true, bounceable: false, testOnly: network === 'testnet' });
}

/** Splits what the owner typed or pasted into lower-case words (numbers and punctuation of a numbered list dropped). */
export function normaliseWords(input: string | readonly string[]): string[] {
  const text = typeof input === 'string' ? input : input.join(' ');
  return text
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((word) => word.length > 0);
}

function fromVaultError(error: unknown): WalletResult<never> {
  if (error instanceof VaultError) {
    if (error.code === 'unreadable') return fail('unavailable', error.message);
    return fail(error.code, error.message);
  }
  throw error;
}

/** The local wallet of one data dir. */
export class LocalWallet {
  readonly vault: KeyVault;
  readonly network: WalletNetwork;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(options: { dir: string; network: WalletNetwork; keychain?: OsKeychain }) {
    this.vault = new KeyVault(options.dir, options.keychain);
    this.network = options.network;
  }

  /** One change at a time (create, import, remove never interleave). */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.busy.catch(() => undefined).then(work);
    this.busy = next;
    return next;
  }

  /** Whether a new wallet needs a passphrase here, and why. */
  needsPassphrase(): { required: boolean; reason: string | null } {
    const protection = this.vault.protection();
    return { required: protection.kind === 'passphrase', reason: protection.reason };
  }

  /** The stored wallet (address, backup state), or null; a damaged file is `unavailable`. */
  async status(): Promise<WalletResult<LocalWalletStatus | null>> {
    try {
      const stored = await this.vault.read();
      if (!stored) return ok(null);
      return ok({ address: stored.header.address, network: stored.header.network, backedUp: stored.header.backedUp, protection: stored.protection, createdAt: stored.header.createdAt });
    } catch (error) {
      return fromVaultError(error);
    }
  }

  /** Creates a new wallet; answers its address and the 24 words for the owner to write down. */
  create(passphrase?: string): Promise<WalletResult<{ address: string; words: string[] }>> {
    return this.serial(async () => {
      const words = await mnemonicNew(24);
      const saved = await this.store(words, passphrase, false);
      return saved.ok ? ok({ address: saved.value, words }) : saved;
    });
  }

  /** Restores a wallet from its 24 words (checked before anything is written). */
  import(input: string | readonly string[], passphrase?: string): Promise<WalletResult<{ address: string }>> {
    return this.serial(async () => {
      const words = normaliseWords(input);
      if (words.length !== 24) return fail('invalid-recovery-phrase', `A TON recovery phrase has 24 words; this has ${words.length}.`);
      if (!(await mnemonicValidate(words))) {
        return fail('invalid-recovery-phrase', 'These 24 words are not a valid TON recovery phrase: check each word and their order. (A 12/24-word phrase from a Bitcoin/Ethereum wallet will not work.)');
      }
      const saved = await this.store(words, passphrase, true);
      return saved.ok ? ok({ address: saved.value }) : saved;
    });
  }

  /** The words again, after the passphrase (or the OS keychain) unlocks them. */
  async reveal(passphrase?: string): Promise<WalletResult<string[]>> {
    try {
      return ok(JSON.parse(await this.vault.open(passphrase)) as string[]);
    } catch (error) {
      return fromVaultError(error);
    }
  }

  /** The signing key and contract (for Cash out); the same unlock as reveal. */
  async unlock(passphrase?: string): Promise<WalletResult<{ key: KeyPair; wallet: WalletContractV5R1 }>> {
    const words = await this.reveal(passphrase);
    if (!words.ok) return words;
    const key = await mnemonicToPrivateKey(words.value);
    return ok({ key, wallet: walletContract(key.publicKey, this.network) });
  }

  /** The owner confirmed the words are written down. */
  async confirmBackup(): Promise<WalletResult<void>> {
    try {
      await this.vault.updateHeader({ backedUp: true });
      return ok(undefined);
    } catch (error) {
      return fromVaultError(error);
    }
  }

  /** Forgets the wallet (the owner should have the words; the money stays on chain). */
  remove(): Promise<void> {
    return this.serial(() => this.vault.remove());
  }

  private async store(words: string[], passphrase: string | undefined, backedUp: boolean): Promise<WalletResult<string>> {
    try {
      if (await this.vault.read()) return fail('wallet-exists', 'There is already a wallet on this PC. Remove it first (after writing down its recovery phrase).');
      const key = await mnemonicToPrivateKey(words);
      const address = friendlyAddress(walletContract(key.publicKey, this.network), this.network);
      const header = { network: this.network, address, publicKey: key.publicKey.toString('hex'), createdAt: new Date().toISOString(), backedUp };
      await this.vault.save(header, JSON.stringify(words), passphrase);
      return ok(address);
    } catch (error) {
      return fromVaultError(error);
    }
  }
}
