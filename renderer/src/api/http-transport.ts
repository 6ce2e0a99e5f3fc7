/**
 * The IPC contract over the headless dashboard's HTTP: one POST per call and one
 * server-sent-event stream (read with fetch, so the token travels in a header, never a URL)
 * for every push. Same `Api` type as Electron's `window.api`.
 */
import type { Api, PushName, PushPayload, Result } from '../../../main/ipc/contract.js';

/** Connection state of the push stream: `lost` means the worker is not running (or unreachable). */
export type StreamStatus = 'connecting' | 'live' | 'lost' | 'unauthorized';

/** The worker beats every second; two missed beats (and a margin) and it is gone. */
export const SILENCE_MS = 2_200;

type Listener = (payload: unknown) => void;

/** Parses server-sent events from text chunks; calls `onEvent` for each complete event. */
export function createEventParser(onEvent: (name: string, data: string) => void): (chunk: string) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) onEvent(name, data.join('\n'));
    }
  };
}

/** Builds the HTTP `Api` for a token; `onStatus` follows the push stream. */
export function createHttpApi(token: string, onStatus: (status: StreamStatus) => void, base = ''): Api {
  const listeners = new Map<string, Set<Listener>>();
  const headers = { authorization: `Bearer ${token}` };

  async function call(verb: string, args: unknown): Promise<Result<unknown>> {
    try {
      const response = await fetch(`${base}/api/invoke/${encodeURIComponent(verb)}`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(args ?? {}),
      });
      if (response.status === 401) onStatus('unauthorized');
      return (await response.json()) as Result<unknown>;
    } catch {
      return { ok: false, error: { code: 'not-running', message: 'Silkworm isn’t running.' } };
    }
  }

  async function stream(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (attempt === 0) onStatus('connecting');
      // A stream that goes silent (a frozen or killed worker keeps no socket promise) is dropped.
      const abort = new AbortController();
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      const feed = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => abort.abort(), SILENCE_MS);
      };
      try {
        feed();
        const response = await fetch(`${base}/api/events`, { headers, signal: abort.signal });
        if (response.status === 401) return onStatus('unauthorized');
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        onStatus('live');
        attempt = 0;
        const parse = createEventParser((name, data) => {
          for (const listener of listeners.get(name) ?? []) listener(JSON.parse(data));
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          feed();
          parse(value);
        }
      } catch {
        // fall through to the retry below
      } finally {
        clearTimeout(watchdog);
      }
      onStatus('lost');
      // Try again soon: the page shows "Silkworm isn't running" until a stream is live again.
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** Math.min(attempt, 4)) + Math.random() * 250));
    }
  }
  void stream();

  const on = <P extends PushName>(push: P, listener: (payload: PushPayload<P>) => void) => {
    const set = listeners.get(push) ?? new Set<Listener>();
    listeners.set(push, set);
    set.add(listener as Listener);
    return () => void set.delete(listener as Listener);
  };
  // Every other property is a verb: api.getState() → POST /api/invoke/getState.
  return new Proxy({ on } as unknown as Api, {
    get: (target, property) => (property === 'on' ? target.on : typeof property === 'string' ? (args?: unknown) => call(property, args) : undefined),
  });
}
