/**
 * Which URLs the desktop app treats as its own and which it may hand to the OS browser.
 * Pure (no Electron) so the rules are unit-tested; `security.ts` applies them.
 */

/** The app's own pages are served from this custom scheme, never file:// (checklist 18). */
export const APP_ORIGIN = { scheme: 'app', host: 'silkworm' } as const;

/** The app's start page. */
export const APP_START_URL = `${APP_ORIGIN.scheme}://${APP_ORIGIN.host}/index.html`;

/** Hosts the app may open in the owner's browser (block explorers, docs, the wallet app's TON Connect universal link), https only. */
export const EXTERNAL_HOSTS: readonly string[] = ['tonviewer.com', 'testnet.tonviewer.com', 'tonscan.org', 'testnet.tonscan.org', 'ton.org', 'docs.ton.org', 'github.com', 'app.tonkeeper.com'];

/** Whether a URL is one of the app's own pages. */
export function isAppUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === `${APP_ORIGIN.scheme}:` && url.host === APP_ORIGIN.host;
  } catch {
    return false;
  }
}

/**
 * Whether a URL may be opened externally: https, an allow-listed host exactly (no
 * look-alikes such as tonviewer.com.evil.example), no credentials, default port.
 */
export function isAllowedExternalUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && url.username === '' && url.password === '' && url.port === '' && EXTERNAL_HOSTS.includes(url.hostname);
}

/** The path inside the renderer folder an app:// request asks for, or null when it escapes it. */
export function appRequestPath(text: string): string | null {
  if (!isAppUrl(text)) return null;
  const pathname = decodeURIComponent(new URL(text).pathname);
  if (pathname.includes('\0') || pathname.split('/').some((part) => part === '..')) return null;
  return pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '');
}
