/**
 * ALL window and session hardening of the desktop app, in one file, each line tagged with the
 * Electron security checklist item it implements (electronjs.org/docs/latest/tutorial/security,
 * research/security.md). Fuses and ASAR integrity live in electron-builder.yml and
 * build/after-pack.mjs.
 */
import { app, BrowserWindow, protocol, shell, type BrowserWindowConstructorOptions, type Session, type WebContents } from 'electron';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { APP_ORIGIN, appRequestPath, isAppUrl } from './url-policy.js';
import { isAllowedExternalUrl } from '../app/external-links.js';
import { APP_CSP, CONTENT_TYPES } from '../app/app-content.js';

/** The app page's Content-Security-Policy (the same as the headless dashboard's). */
export { APP_CSP };


/** Registers app:// as a standard, secure scheme; call before `app.whenReady()`. */
export function registerAppScheme(): void {
  // SECURITY: 18 custom protocol — the UI is served from app://, never file://; no bypassCSP, no CORS, no service workers.
  protocol.registerSchemesAsPrivileged([{ scheme: APP_ORIGIN.scheme, privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false, bypassCSP: false, allowServiceWorkers: false } }]);
}

/** Window options the caller chooses (size, title, icon); never the webPreferences. */
export type WindowLook = Omit<BrowserWindowConstructorOptions, 'webPreferences'>;

/** Creates an app window whose web preferences are fixed here and nowhere else. */
export function createHardenedWindow(look: WindowLook, preloadPath: string, partition: string): BrowserWindow {
  return new BrowserWindow({
    ...look,
    webPreferences: {
      preload: preloadPath,
      partition, // SECURITY: 5 and 7 the window's own session, hardened by hardenSession()
      sandbox: true, // SECURITY: 4 sandbox every renderer
      contextIsolation: true, // SECURITY: 3 context isolation; the preload exposes verbs via contextBridge only
      nodeIntegration: false, // SECURITY: 2 no Node.js in the renderer
      nodeIntegrationInWorker: false, // SECURITY: 2 no Node.js in workers
      nodeIntegrationInSubFrames: false, // SECURITY: 2 no Node.js in sub-frames
      webSecurity: true, // SECURITY: 6 keep the same-origin policy
      allowRunningInsecureContent: false, // SECURITY: 8 no mixed content
      experimentalFeatures: false, // SECURITY: 9 no experimental features
      disableBlinkFeatures: 'Auxclick', // SECURITY: 14 middle-click cannot open new windows
      webviewTag: false, // SECURITY: 11 and 12 no <webview>
      navigateOnDragDrop: false, // SECURITY: 13 dropping a file or link never navigates
      spellcheck: false, // SECURITY: 20 no spell-check dictionary downloads from the window
      devTools: !app.isPackaged, // SECURITY: 20 no DevTools in packaged builds
    },
  });
}

/** Serves the built renderer on app:// for a session, with the CSP header on every response. */
export function serveApp(session: Session, rendererDir: string): void {
  const root = normalize(rendererDir);
  session.protocol.handle(APP_ORIGIN.scheme, async (request) => {
    const relative = appRequestPath(request.url); // SECURITY: 18 only files under the renderer folder, no traversal
    const file = relative === null ? null : normalize(join(root, relative));
    if (file === null || !file.startsWith(root + sep)) return new Response('Not found', { status: 404 });
    const body = await readFile(file).catch(() => null);
    if (body === null) return new Response('Not found', { status: 404 });
    return new Response(body, {
      headers: {
        'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Security-Policy': APP_CSP, // SECURITY: 7 strict CSP on the app's own pages
        'X-Content-Type-Options': 'nosniff',
      },
    });
  });
}

/** Hardens the window's own session (a dedicated partition): permissions denied, CSP on every response, only app:// loads. */
export function hardenSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false)); // SECURITY: 5 deny every permission request (camera, notifications via web API, geolocation…)
  session.setPermissionCheckHandler(() => false); // SECURITY: 5 deny permission checks too
  session.setDevicePermissionHandler(() => false); // SECURITY: 5 no USB/HID/serial devices
  session.webRequest.onHeadersReceived((details, callback) => {
    // SECURITY: 7 CSP header on every response of the session, whatever served it
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [APP_CSP] } });
  });
  session.webRequest.onBeforeRequest((details, callback) => {
    // SECURITY: 1 and 13 the window loads nothing from the network: only the app's own pages (and DevTools in development)
    callback({ cancel: !(isAppUrl(details.url) || details.url.startsWith('devtools://')) });
  });
}

/** Opens a URL in the OS browser only when it is an allow-listed https URL. */
export function openExternalSafely(url: string): void {
  if (isAllowedExternalUrl(url)) void shell.openExternal(url); // SECURITY: 15 openExternal only for allow-listed https URLs
}

/** Hardens every web contents the app creates (navigation, new windows, webviews). */
export function hardenAllContents(): void {
  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault(); // SECURITY: 13 no navigation away from the app
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault(); // SECURITY: 13 no redirects away from the app
    });
    contents.on('will-attach-webview', (event) => event.preventDefault()); // SECURITY: 12 no webviews
    contents.setWindowOpenHandler(({ url }) => {
      openExternalSafely(url); // SECURITY: 14 and 15 links open in the browser only when allow-listed…
      return { action: 'deny' }; // SECURITY: 14 …and never as a new app window
    });
  });
}
