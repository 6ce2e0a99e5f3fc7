/**
 * The Electron shell's capabilities, faked for tests under plain Node: a keychain that seals
 * with a per-process AES key (as safeStorage does with the OS's), notifications and browser
 * opens recorded, login items in memory. With these, tests assemble the app exactly as the
 * desktop shell does (main/app/desktop-app.ts). Test support only.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { ShellCapabilities } from '../shell.js';

/** The fake shell and what it was asked to do. */
export interface FakeElectronShell {
  shell: ShellCapabilities;
  notifications: { title: string; body: string }[];
  opened: string[];
}

/** A fake of the Electron shell's capabilities. */
export function fakeElectronShell(): FakeElectronShell {
  const key = randomBytes(32);
  const notifications: { title: string; body: string }[] = [];
  const opened: string[] = [];
  let autoStart = false;
  return {
    notifications,
    opened,
    shell: {
      kind: 'electron',
      keychain: {
        problem: () => null,
        encrypt: (plain) => {
          const iv = randomBytes(12);
          const cipher = createCipheriv('aes-256-gcm', key, iv);
          const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
          return Buffer.concat([iv, cipher.getAuthTag(), sealed]);
        },
        decrypt: (data) => {
          const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
          decipher.setAuthTag(data.subarray(12, 28));
          return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]).toString('utf8');
        },
      },
      notify: (title, body) => void notifications.push({ title, body }),
      openExternal: (url) => void opened.push(url),
      autoStart: { get: () => autoStart, set: (enabled) => void (autoStart = enabled) },
    },
  };
}
