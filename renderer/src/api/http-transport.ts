/**
 * The IPC contract over the headless dashboard's HTTP: one POST per call and one
 * server-sent-event stream (read with fetch, so the token travels in a header, never a URL)
 * for every push. Same `Api` type as Electron's `window.api`.
 */
import type { Api, PushName, PushPayload, Result } from '../../../main/ipc/contract.js';

/** Connection state of the push stream, for the "reconnecting" banner. */
export type StreamStatus = 'connecting' | 'live' | 'lost' | 'unauthorized';

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
      return { ok: false, error: { code: 'unavailable', message: 'Cannot reach the worker: is `silkworm worker` still running?' } };
    }
  }

  async function stream(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      onStatus(attempt === 0 ? 'connecting' : 'lost');
      try {
        const response = await fetch(`${base}/api/events`, { headers });
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
          parse(value);
        }
      } catch {
        // fall through to the retry below
      }
      onStatus('lost');
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)) * Math.random() + 250));
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
