/**
 * Secrets at rest, encrypted with the OS keychain through Electron's safeStorage. Refuses
 * Linux's `basic_text` backend (a hard-coded password, i.e. no protection): callers must then
 * ask the owner for a passphrase instead (DESIGN.md §6). Nothing here is ever sent to the UI.
 */
import { safeStorage } from 'electron';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Why secrets cannot be stored, or null when they can. */
export function secretStorageProblem(): string | null {
  if (!safeStorage.isEncryptionAvailable()) return 'The OS keychain is not available.';
  if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
    return 'No keyring (GNOME Keyring or KWallet) is running, so secrets would be stored with a well-known password.';
  }
  return null;
}

/** safeStorage as the wallet's OsKeychain (main/wallet/key-vault.ts): refuses basic_text through `problem`. */
export const electronKeychain = {
  problem: secretStorageProblem,
  encrypt: (plain: string): Buffer => safeStorage.encryptString(plain),
  decrypt: (data: Buffer): string => safeStorage.decryptString(data),
};

/** Encrypted files under `<dataDir>/secrets/`, one per name. */
export class SecretStore {
  constructor(private readonly dataDir: string) {}

  private file(name: string): string {
    if (!/^[a-z0-9-]{1,64}$/.test(name)) throw new Error(`bad secret name '${name}'`);
    return join(this.dataDir, 'secrets', `${name}.bin`);
  }

  /** Stores a secret; throws when the keychain cannot protect it. */
  async set(name: string, value: string): Promise<void> {
    const problem = secretStorageProblem();
    if (problem) throw new Error(problem);
    const file = this.file(name);
    await mkdir(join(this.dataDir, 'secrets'), { recursive: true, mode: 0o700 });
    await writeFile(`${file}.tmp`, safeStorage.encryptString(value), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }

  /** Reads a secret; null when none is stored. */
  async get(name: string): Promise<string | null> {
    const data = await readFile(this.file(name)).catch(() => null);
    return data === null ? null : safeStorage.decryptString(data);
  }

  /** Forgets a secret. */
  async delete(name: string): Promise<void> {
    await rm(this.file(name), { force: true });
  }
}
