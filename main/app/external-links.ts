/**
 * Which links the app may open in the owner's browser: https to an allow-listed host exactly
 * (block explorers, docs, the wallet app's TON Connect universal link), no credentials, the
 * default port. The Electron shell's window-open handler and the `openLink` verb both ask here.
 */

/** Hosts the app may open in the owner's browser. */
export const EXTERNAL_HOSTS: readonly string[] = ['tonviewer.com', 'testnet.tonviewer.com', 'tonscan.org', 'testnet.tonscan.org', 'ton.org', 'docs.ton.org', 'github.com', 'app.tonkeeper.com'];

/** Whether a URL may be opened externally (no look-alikes such as tonviewer.com.evil.example). */
export function isAllowedExternalUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && url.username === '' && url.password === '' && url.port === '' && EXTERNAL_HOSTS.includes(url.hostname);
}
