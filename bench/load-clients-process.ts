/**
 * A child process of the coordinator load bench holding many concurrent client streams: plain
 * HTTP POSTs to /v1/chat/completions with `stream: true`, read as server-sent events. Each chunk
 * a simulated worker sends carries its send time ("<ms>|"); the latency of a chunk is when this
 * process read it minus that. Driven over IPC by coordinator-load.ts.
 */
import { request, Agent } from 'node:http';

/** What the parent asks of this process. */
export type LoadClientsCommand =
  /**
   * `spreadMs`: each stream starts at a uniformly random moment within this window (0: all at
   * once). `oneAtATime`: each stream starts when the one before it ended (spreadMs is ignored).
   */
  | { type: 'run'; url: string; apiKey: string; model: string; streams: number; maxTokens: number; spreadMs: number; oneAtATime?: boolean }
  | { type: 'stop' };

/** What this process tells the parent once every stream of a run ended. */
export interface LoadClientsReport {
  type: 'done';
  completed: number;
  failed: number;
  firstError?: string;
  /** Every chunk's worker-send → client-read time, ms (sorted ascending). */
  latenciesMs: number[];
  /** The same for chunks after each stream's first STEADY_AFTER (once the opening burst is over). */
  steadyLatenciesMs: number[];
  /** Each completed stream's time from sending the request to reading its end, ms (sorted ascending). */
  requestMs: number[];
  /** Each completed stream's time from sending the request to reading its first chunk, ms (sorted ascending). */
  firstChunkMs: number[];
}

/** How one stream went: an error, or its times. */
type StreamResult = { error: string } | { requestMs: number; firstChunkMs: number };

/** Chunks of a stream counted as its opening; the rest are its steady state. */
const STEADY_AFTER = 5;

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

interface StreamedChunk {
  choices?: { delta?: { content?: string } }[];
  error?: { message: string };
}

const agent = new Agent({ keepAlive: false, maxSockets: Infinity });

function stream(command: Extract<LoadClientsCommand, { type: 'run' }>, latencies: number[], steady: number[]): Promise<StreamResult> {
  let chunkIndex = 0;
  const sentAt = performance.now();
  let firstChunkAt: number | undefined;
  const body = JSON.stringify({ model: command.model, messages: [{ role: 'user', content: 'load' }], max_tokens: command.maxTokens, stream: true });
  return new Promise((resolve) => {
    const req = request(`${command.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${command.apiKey}` } }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString('utf8')));
        res.on('end', () => resolve({ error: `HTTP ${res.statusCode}: ${text.slice(0, 300)}` }));
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      let error: string | undefined;
      res.on('data', (piece: string) => {
        const readAt = nowMs();
        buffer += piece;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.startsWith('data: ') ? event.slice(6) : '';
          if (data === '' || data === '[DONE]') continue;
          const chunk = JSON.parse(data) as StreamedChunk;
          if (chunk.error) error ??= chunk.error.message;
          const content = chunk.choices?.[0]?.delta?.content ?? '';
          for (const stamp of content.split('|')) {
            if (stamp === '') continue;
            firstChunkAt ??= performance.now();
            latencies.push(readAt - Number(stamp));
            if (chunkIndex++ >= STEADY_AFTER) steady.push(readAt - Number(stamp));
          }
        }
      });
      res.on('end', () => {
        const endedAt = performance.now();
        if (error !== undefined) resolve({ error });
        else if (firstChunkAt === undefined) resolve({ error: 'the stream ended without a chunk' });
        else resolve({ requestMs: endedAt - sentAt, firstChunkMs: firstChunkAt - sentAt });
      });
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('error', (e) => resolve({ error: e.message }));
    req.end(body);
  });
}

async function run(command: Extract<LoadClientsCommand, { type: 'run' }>): Promise<LoadClientsReport> {
  const latencies: number[] = [];
  const steady: number[] = [];
  let results: StreamResult[];
  if (command.oneAtATime) {
    results = [];
    for (let i = 0; i < command.streams; i++) results.push(await stream(command, latencies, steady));
  } else {
    results = await Promise.all(
      Array.from({ length: command.streams }, async () => {
        if (command.spreadMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * command.spreadMs));
        return stream(command, latencies, steady);
      }),
    );
  }
  const failures = results.flatMap((r) => ('error' in r ? [r.error] : []));
  const timed = results.flatMap((r) => ('error' in r ? [] : [r]));
  const sorted = (values: number[]) => values.sort((a, b) => a - b);
  return {
    type: 'done',
    completed: timed.length,
    failed: failures.length,
    ...(failures[0] ? { firstError: failures[0] } : {}),
    latenciesMs: sorted(latencies),
    steadyLatenciesMs: sorted(steady),
    requestMs: sorted(timed.map((t) => t.requestMs)),
    firstChunkMs: sorted(timed.map((t) => t.firstChunkMs)),
  };
}

process.on('message', (message: LoadClientsCommand) => {
  if (message.type === 'run') void run(message).then((report) => process.send?.(report));
  else process.disconnect();
});
