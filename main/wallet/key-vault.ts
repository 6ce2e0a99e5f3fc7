/**
 * One secret at rest in `<dataDir>/wallet/local-wallet.json` (0600, folder 0700): the local
 * wallet's recovery phrase, encrypted either by the OS keychain (Electron safeStorage, injected
 * as an `OsKeychain`) or — headless, or where the keychain would not protect it (Linux
 * `basic_text`) — with the owner's passphrase: scrypt (N = 2^15) → AES-256-GCM, the clear header
 * bound in as associated data. Versioned format; every write goes to a temp file then renames,
 * so a crash mid-write leaves the old file whole. Nothing here is ever sent to the UI or logged.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonFile } from '../../network/node-kit/json-file.js';

/** The OS keychain as the composition root provides it (Electron safeStorage); absent headless. */
export interface OsKeychain {
  /** Why the keychain cannot protect a secret here (no keyring, Linux basic_text), or null. */
  problem(): string | null;
  encrypt(plain: string): Buffer;
  decrypt(data: Buffer): string;
}

/** How a stored secret is protected. */
export type Protection = 'passphrase' | 'os-keychain';

/** The clear part of the file: what may be shown without unlocking (never the secret). */
export interface VaultHeader {
  network: 'testnet' | 'mainnet';
  address: string;
  publicKey: string;
  createdAt: string;
  backedUp: boolean;
}

/** A failure the owner can act on. */
export class VaultError extends Error {
  constructor(
    readonly code: 'passphrase-required' | 'wrong-passphrase' | 'no-wallet' | 'unreadable',
    message: string,
  ) {
    super(message);
  }
}

/** Shortest passphrase accepted: it is the only thing between a stolen disk and the wallet. */
export const MIN_PASSPHRASE_LENGTH = 8;
const FORMAT = 'silkworm-local-wallet' as const;
const KDF = { N: 2 ** 15, r: 8, p: 1 } as const;

const headerSchema = z.object({
  network: z.enum(['testnet', 'mainnet']),
  address: z.string().max(100),
  publicKey: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string().max(40),
  backedUp: z.boolean(),
});
const fileSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  header: headerSchema,
  protection: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('passphrase'), kdf: z.object({ name: z.literal('scrypt'), N: z.number().int().min(2 ** 15).max(2 ** 20), r: z.number().int().min(1).max(32), p: z.number().int().min(1).max(16), salt: z.string() }), cipher: z.literal('aes-256-gcm'), iv: z.string(), tag: z.string() }),
    z.object({ kind: z.literal('os-keychain') }),
  ]),
  ciphertext: z.string().min(1),
});
type VaultFile = z.infer<typeof fileSchema>;

function scrypt(passphrase: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => scryptCallback(passphrase.normalize('NFKC'), salt, 32, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** The associated data: the header and format, so a swapped address or network does not decrypt. */
function aad(file: Pick<VaultFile, 'format' | 'version' | 'header'>): Buffer {
  const { network, address, publicKey, createdAt } = file.header;
  return Buffer.from(JSON.stringify([file.format, file.version, network, address, publicKey, createdAt]), 'utf8');
}

/** The wallet folder's encrypted secret file. */
export class KeyVault {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly keychain?: OsKeychain,
  ) {
    this.file = join(dir, 'local-wallet.json');
  }

  /** Which protection a new secret gets here, and why a passphrase is needed when it is. */
  protection(): { kind: Protection; reason: string | null } {
    if (!this.keychain) return { kind: 'passphrase', reason: 'No OS keychain on a headless worker: the wallet is encrypted with your passphrase.' };
    const problem = this.keychain.problem();
    return problem ? { kind: 'passphrase', reason: `${problem} The wallet is encrypted with your passphrase instead.` } : { kind: 'os-keychain', reason: null };
  }

  private async load(): Promise<VaultFile | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new VaultError('unreadable', `The wallet file could not be read: ${(error as Error).message}`);
    }
    try {
      return fileSchema.parse(JSON.parse(text));
    } catch {
      throw new VaultError('unreadable', `The wallet file ${this.file} is damaged or from a newer version; it was left untouched.`);
    }
  }

  /** The clear header and protection, or null when no secret is stored. */
  async read(): Promise<{ header: VaultHeader; protection: Protection } | null> {
    const file = await this.load();
    return file ? { header: file.header, protection: file.protection.kind } : null;
  }

  /** Encrypts and stores the secret (atomically); a passphrase is required unless the keychain protects it. */
  async save(header: VaultHeader, secret: string, passphrase?: string): Promise<Protection> {
    const base = { format: FORMAT, version: 1 as const, header };
    const protection = this.protection();
    let file: VaultFile;
    if (protection.kind === 'os-keychain' && this.keychain && passphrase === undefined) {
      file = { ...base, protection: { kind: 'os-keychain' }, ciphertext: this.keychain.encrypt(secret).toString('base64') };
    } else {
      if (passphrase === undefined) throw new VaultError('passphrase-required', protection.reason ?? 'A passphrase is needed.');
      if (passphrase.length < MIN_PASSPHRASE_LENGTH) throw new VaultError('passphrase-required', `Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`);
      const salt = randomBytes(16);
      const iv = randomBytes(12);
      const key = await scrypt(passphrase, salt, KDF);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad(base));
      const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      file = {
        ...base,
        protection: { kind: 'passphrase', kdf: { name: 'scrypt', ...KDF, salt: salt.toString('base64') }, cipher: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64') },
        ciphertext: ciphertext.toString('base64'),
      };
    }
    await this.write(file);
    return file.protection.kind;
  }

  /** Decrypts the secret; a wrong passphrase is a VaultError and changes nothing. */
  async open(passphrase?: string): Promise<string> {
    const file = await this.load();
    if (!file) throw new VaultError('no-wallet', 'There is no wallet on this PC.');
    const data = Buffer.from(file.ciphertext, 'base64');
    if (file.protection.kind === 'os-keychain') {
      if (!this.keychain) throw new VaultError('unreadable', 'This wallet is protected by the desktop app’s OS keychain; open it in the desktop app.');
      try {
        return this.keychain.decrypt(data);
      } catch {
        throw new VaultError('unreadable', 'The OS keychain could not decrypt the wallet (was it created under another user account?).');
      }
    }
    if (!passphrase) throw new VaultError('passphrase-required', 'Enter the wallet’s passphrase.');
    const { kdf, iv, tag } = file.protection;
    const key = await scrypt(passphrase, Buffer.from(kdf.salt, 'base64'), kdf);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAAD(aad(file));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    } catch {
      throw new VaultError('wrong-passphrase', 'That passphrase does not unlock this wallet. Nothing was changed; try again.');
    }
  }

  /** Rewrites the clear header only (e.g. the backup was confirmed); the secret is untouched. */
  async updateHeader(change: Partial<Pick<VaultHeader, 'backedUp'>>): Promise<void> {
    const file = await this.load();
    if (!file) throw new VaultError('no-wallet', 'There is no wallet on this PC.');
    await this.write({ ...file, header: { ...file.header, ...change } });
  }

  /** Forgets the secret (the file and any stray temp file). */
  async remove(): Promise<void> {
    await rm(this.file, { force: true });
    await rm(`${this.file}.tmp`, { force: true });
  }

  private async write(file: VaultFile): Promise<void> {
    await writeJsonFile(this.file, file, { mode: 0o600, dirMode: 0o700 });
  }
}
