/**
 * A child process of the coordinator load bench holding many concurrent client streams: plain
 * HTTP POSTs to /v1/chat/completions with `stream: true`, read as server-sent events. Each chunk
 * a simulated worker sends carries its send time ("<ms>|"); the latency of a chunk is when this
 * process read it minus that. Driven over IPC by coordinator-load.ts.
 */
import { request, Agent } from 'node:http';

/** What the parent asks of this process. */
export type LoadClientsCommand =
  /** `spreadMs`: each stream starts at a uniformly random moment within this window (0: all at once). */
  | { type: 'run'; url: string; apiKey: string; model: string; streams: number; maxTokens: number; spreadMs: number }
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
}

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

function stream(command: Extract<LoadClientsCommand, { type: 'run' }>, latencies: number[], steady: number[]): Promise<string | undefined> {
  let chunkIndex = 0;
  const body = JSON.stringify({ model: command.model, messages: [{ role: 'user', content: 'load' }], max_tokens: command.maxTokens, stream: true });
  return new Promise((resolve) => {
    const req = request(`${command.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${command.apiKey}` } }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString('utf8')));
        res.on('end', () => resolve(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
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
            latencies.push(readAt - Number(stamp));
            if (chunkIndex++ >= STEADY_AFTER) steady.push(readAt - Number(stamp));
          }
        }
      });
      res.on('end', () => resolve(error));
      res.on('error', (e) => resolve(e.message));
    });
    req.on('error', (e) => resolve(e.message));
    req.end(body);
  });
}

async function run(command: Extract<LoadClientsCommand, { type: 'run' }>): Promise<LoadClientsReport> {
  const latencies: number[] = [];
  const steady: number[] = [];
  const errors = await Promise.all(
    Array.from({ length: command.streams }, async () => {
      if (command.spreadMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * command.spreadMs));
      return stream(command, latencies, steady);
    }),
  );
  const failures = errors.filter((e): e is string => e !== undefined);
  return { type: 'done', completed: errors.length - failures.length, failed: failures.length, ...(failures[0] ? { firstError: failures[0] } : {}), latenciesMs: latencies.sort((a, b) => a - b), steadyLatenciesMs: steady.sort((a, b) => a - b) };
}

process.on('message', (message: LoadClientsCommand) => {
  if (message.type === 'run') void run(message).then((report) => process.send?.(report));
  else process.disconnect();
});
