/**
 * The dashboard's access token: it arrives once in the URL fragment (`#token=…`, never sent to
 * the server), is kept in this tab's sessionStorage so a reload still works, and is removed
 * from the address bar at once so it does not linger in history or screenshots.
 */

const KEY = 'silkworm.token';

/** Reads the token from the fragment (then hides it) or from this tab's storage. */
export function takeToken(location: Location = window.location, storage: Storage = window.sessionStorage): string | null {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (match?.[1]) {
    storage.setItem(KEY, match[1]);
    window.history.replaceState(null, '', location.pathname + location.search);
    return match[1];
  }
  return storage.getItem(KEY);
}

/** Forgets the token (after a 401). */
export function forgetToken(storage: Storage = window.sessionStorage): void {
  storage.removeItem(KEY);
}
