/**
 * What a shell brings to the app besides the worker core: the capabilities only some shells
 * have. The Electron shell passes its keychain (safeStorage), native notifications, the OS
 * browser and login items; `silkworm worker --dashboard` and the demo pass none of them; tests
 * pass fakes of each, so the desktop composition runs under plain Node.
 */
import type { OsKeychain } from '../wallet/key-vault.js';
import type { ShellKind } from '../ipc/views.js';

/** Start at login (the desktop app's login items). */
export interface AutoStartControl {
  get(): boolean;
  set(enabled: boolean): void;
}

/** A shell's capabilities; every one but `kind` is optional. */
export interface ShellCapabilities {
  kind: ShellKind;
  /** Seals the local wallet's words (without it a passphrase does). */
  keychain?: OsKeychain;
  /** Shows a native notification. */
  notify?(title: string, body: string): void;
  /** Opens an https URL in the owner's browser (only allow-listed ones are ever passed). */
  openExternal?(url: string): void;
  autoStart?: AutoStartControl;
}
