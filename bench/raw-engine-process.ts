/**
 * The process of baseline (a): LlamaEngine — the job process's own engine class — alone in a
 * process of its own, timing every job itself, so no IPC falls inside its clock. Its own
 * process, not the bench's: the bench process also hosts the worker, whose sharing probes fork
 * helper programs, and a fork stalls every thread of the process that makes it.
 */
import { LlamaEngine } from '../main/engine/llama-engine.js';
import type { EngineConfig } from '../main/engine/job-messages.js';
import type { ResponseFormat, Tool } from '../network/protocol/job-schemas.js';
/** A benchmark chat: system and user messages. */
type ChatMessage = { role: 'system' | 'user'; content: string };
import { StreamClock, type Timing } from './stream-clock.js';

/** Bench → raw engine process. */
export type ToRawEngine = { type: 'load'; config: EngineConfig } | { type: 'run'; id: number; messages: ChatMessage[]; maxTokens: number; seed: number; responseFormat?: ResponseFormat; forcedCall?: Tool };

/** Raw engine process → bench. */
export type FromRawEngine = { type: 'loaded'; backend: string } | { type: 'result'; id: number; timing: Timing } | { type: 'error'; id?: number; message: string };

let engine: LlamaEngine | undefined;

function reply(message: FromRawEngine): void {
  process.send?.(message);
}

async function handle(message: ToRawEngine): Promise<void> {
  if (message.type === 'load') {
    const loaded = await LlamaEngine.load(message.config, () => {});
    engine = loaded.engine;
    reply({ type: 'loaded', backend: loaded.info.gpu });
    return;
  }
  if (!engine) throw new Error('No model is loaded.');
  const clock = new StreamClock();
  const params = { maxTokens: message.maxTokens, temperature: 0, seed: message.seed, ...(message.responseFormat ? { responseFormat: message.responseFormat } : {}), ...(message.forcedCall ? { tools: [message.forcedCall], toolChoice: 'required' as const } : {}) };
  // A forced call's arguments are what it writes: they stream as its text, for the clock.
  const result = await engine.generate(message.messages, params, undefined, new AbortController().signal, (text, _tokens, toolCalls) => clock.onText(text + (toolCalls ?? []).map((call) => call.arguments ?? '').join('')));
  reply({ type: 'result', id: message.id, timing: clock.finish(result.usage.completionTokens) });
}

process.on('message', (message: ToRawEngine) => {
  handle(message).catch((error: unknown) => reply({ type: 'error', ...(message.type === 'run' ? { id: message.id } : {}), message: error instanceof Error ? error.message : String(error) }));
});
// Ends with the bench, however the bench ends.
process.once('disconnect', () => process.exit(0));
