/**
 * Which URLs the desktop app treats as its own (links it may hand to the OS browser: see
 * main/app/external-links.ts). Pure (no Electron) so the rules are unit-tested; `security.ts` applies them.
 */

/** The app's own pages are served from this custom scheme, never file:// (checklist 18). */
export const APP_ORIGIN = { scheme: 'app', host: 'silkworm' } as const;

/** The app's start page. */
export const APP_START_URL = `${APP_ORIGIN.scheme}://${APP_ORIGIN.host}/index.html`;

/** Whether a URL is one of the app's own pages. */
export function isAppUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === `${APP_ORIGIN.scheme}:` && url.host === APP_ORIGIN.host;
  } catch {
    return false;
  }
}

/** The path inside the renderer folder an app:// request asks for, or null when it escapes it. */
export function appRequestPath(text: string): string | null {
  if (!isAppUrl(text)) return null;
  const pathname = decodeURIComponent(new URL(text).pathname);
  if (pathname.includes('\0') || pathname.split('/').some((part) => part === '..')) return null;
  return pathname === '/' ? 'index.html' : pathname.replace(/^\/+/, '');
}
