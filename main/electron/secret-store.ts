/**
 * The OS keychain for secrets at rest through Electron's safeStorage. Refuses
 * Linux's `basic_text` backend (a hard-coded password, i.e. no protection): callers must then
 * ask the owner for a passphrase instead (docs/design.md, Wallet). Nothing here is ever sent to the UI.
 */
import { safeStorage } from 'electron';

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
