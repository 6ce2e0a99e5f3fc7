/**
 * Answers of the Responses API kept in memory so later requests can refer to them, as OpenAI's
 * stored responses (the default, `store: true`): clients such as the Vercel AI SDK send earlier
 * assistant messages back as `item_reference`s by id, and `previous_response_id` chains turns.
 * Kept per caller (an API key's scope: no one reads another's), for a while, within a size bound;
 * never written to disk. Past the bound or the time, a reference is a clear 400.
 */
import type { ResponseItem, ResponseLookup } from '../../protocol/openai/responses-request.js';

/** How long an answer stays referable. */
export const STORE_TTL_MS = 60 * 60_000;
/** Most characters kept in all (oldest answers go first). */
export const STORE_MAX_CHARS = 64 * 1024 * 1024;

interface Entry {
  value: ResponseItem | ResponseItem[];
  chars: number;
  at: number;
}

function sizeOf(value: ResponseItem | ResponseItem[]): number {
  return JSON.stringify(value).length;
}

/** Stored items and responses, by caller and id. */
export class ResponseStore {
  private readonly entries = new Map<string, Entry>();
  private chars = 0;

  constructor(
    private readonly ttlMs = STORE_TTL_MS,
    private readonly maxChars = STORE_MAX_CHARS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keeps a response's items (by their ids) and the whole turn (by the response id). */
  save(scope: string, responseId: string, turn: ResponseItem[], output: { id: string; item: ResponseItem }[]): void {
    for (const { id, item } of output) this.put(`${scope}\u0000${id}`, item);
    this.put(`${scope}\u0000${responseId}`, turn);
  }

  /** What a caller may look up. */
  lookup(scope: string): ResponseLookup {
    return {
      item: (id) => {
        const value = this.get(`${scope}\u0000${id}`);
        return value && !Array.isArray(value) ? value : undefined;
      },
      response: (id) => {
        const value = this.get(`${scope}\u0000${id}`);
        return Array.isArray(value) ? value : undefined;
      },
    };
  }

  private put(key: string, value: ResponseItem | ResponseItem[]): void {
    this.drop(key);
    const entry = { value, chars: sizeOf(value), at: this.now() };
    if (entry.chars > this.maxChars) return;
    this.entries.set(key, entry);
    this.chars += entry.chars;
    for (const [oldest] of this.entries) {
      if (this.chars <= this.maxChars) break;
      this.drop(oldest);
    }
  }

  private get(key: string): ResponseItem | ResponseItem[] | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.at > this.ttlMs) {
      this.drop(key);
      return undefined;
    }
    return entry.value;
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.chars -= entry.chars;
  }
}
