/**
 * The verifier side of the `verify` section, alone in a process of its own so its CPU time can
 * be read from /proc without the bench's (client, coordinators, workers) mixed in:
 *   - `score`: the coordinator's own Verifier (network/tokenizer/verifier.ts) re-scoring an answer;
 *   - `pass`: the same model and context settings evaluating the same tokens teacher-forced with no
 *     output at all — what any verifier that reads every token must at least spend.
 * Each request is timed here, so no IPC falls inside its clock.
 */
import type { ChatWrapper, LlamaContextSequence, LlamaModel } from 'node-llama-cpp';
import { resolveChatWrapper } from 'node-llama-cpp';
import { Verifier, type VerifyInput, type VerifyScore } from '../network/tokenizer/verifier.js';
import { cpuLlama } from '../network/tokenizer/token-counter.js';
import { promptTokens } from '../network/tokenizer/chat-history.js';

/** Bench → verifier process. */
export type ToVerifier =
  | { type: 'open'; modelPath: string; threads: number }
  | { type: 'score'; id: number; input: VerifyInput }
  | { type: 'pass'; id: number; input: VerifyInput };

/** Verifier process → bench. */
export type FromVerifier =
  | { type: 'opened' }
  | { type: 'scored'; id: number; score: VerifyScore | undefined; ms: number }
  | { type: 'passed'; id: number; tokens: number; ms: number }
  | { type: 'error'; id?: number; message: string };

let verifier: Verifier | undefined;
let plain: { model: LlamaModel; sequence: LlamaContextSequence; chatWrapper: ChatWrapper } | undefined;

function reply(message: FromVerifier): void {
  process.send?.(message);
}

async function handle(message: ToVerifier): Promise<void> {
  if (message.type === 'open') {
    verifier = await Verifier.open(message.modelPath, { threads: message.threads });
    // The pass uses a context like the Verifier's: same size cap, one sequence, same threads.
    const model = await (await cpuLlama()).loadModel({ modelPath: message.modelPath, gpuLayers: 0 });
    const context = await model.createContext({ contextSize: Math.min(4096, model.trainContextSize), sequences: 1, threads: message.threads });
    // Resolved once, as the Verifier does (resolving takes seconds on this model).
    plain = { model, sequence: context.getSequence(), chatWrapper: resolveChatWrapper(model) };
    reply({ type: 'opened' });
    return;
  }
  if (!verifier || !plain) throw new Error('Not opened.');
  const started = performance.now();
  if (message.type === 'score') {
    const score = await verifier.score(message.input);
    reply({ type: 'scored', id: message.id, score, ms: performance.now() - started });
    return;
  }
  const { model, sequence, chatWrapper } = plain;
  const tokens = [...promptTokens(model, chatWrapper, message.input.messages, message.input.before || undefined), ...model.tokenize(message.input.text, false)];
  await sequence.clearHistory();
  await sequence.controlledEvaluate(tokens.slice(0, -1));
  reply({ type: 'passed', id: message.id, tokens: tokens.length - 1, ms: performance.now() - started });
}

process.on('message', (message: ToVerifier) => {
  handle(message).catch((error: unknown) => reply({ type: 'error', ...(message.type !== 'open' ? { id: message.id } : {}), message: error instanceof Error ? error.message : String(error) }));
});
// Ends with the bench, however the bench ends.
process.once('disconnect', () => process.exit(0));
