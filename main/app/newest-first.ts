/**
 * Newest-first pages over a list the ledger reads oldest first (jobs, payouts). The cursor is
 * the key of the last item of the previous page; the page is the `limit` items just older than
 * it. One pass that stops at the cursor and keeps at most 2 × (limit + 1) items, so memory stays
 * small at any ledger size (the first page still reads every row once).
 */
import type { Page } from '../ipc/views.js';

/** A cursor that names no item of the list (stale or forged). */
export class UnknownCursorError extends Error {
  constructor(cursor: string) {
    super(`unknown cursor '${cursor.slice(0, 64)}'`);
    this.name = 'UnknownCursorError';
  }
}

/** One page, newest first, of `oldestFirst`; `key` identifies an item (the cursor). */
export function newestFirstPage<T, V>(oldestFirst: Iterable<T>, options: { key: (item: T) => string; view: (item: T) => V; cursor?: string | undefined; limit: number }): Page<V> {
  const { key, cursor, limit } = options;
  const keep = limit + 1;
  let window: T[] = [];
  let found = cursor === undefined;
  for (const item of oldestFirst) {
    if (cursor !== undefined && key(item) === cursor) {
      found = true;
      break;
    }
    window.push(item);
    if (window.length >= 2 * keep) window = window.slice(-keep);
  }
  if (!found) throw new UnknownCursorError(cursor ?? '');
  const newest = window.slice(-keep).reverse();
  const items = newest.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(options.view), next: newest.length > limit && last !== undefined ? key(last) : null };
}
