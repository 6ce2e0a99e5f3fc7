/**
 * Messages between the worker's main process and its job process, as `{ type, seq }` unions.
 * Each side validates what it receives: the job process runs model code we do not trust.
 */
import { z } from 'zod';
import { chatMessageSchema } from '../../network/protocol/chat.js';
import { finishReasonSchema, jobParamsSchema, usageSchema } from '../../network/protocol/worker-frames.js';
import { toolCallDeltasSchema } from '../../network/protocol/job-schemas.js';
import { ERROR_CODES } from '../../network/protocol/errors.js';
import { sealedEnvelopeSchema } from '../../network/protocol/sealed.js';
import { sealedChunkSchema } from '../../network/protocol/sealed-stream.js';

const jobId = z.string().min(1).max(128);
const seq = z.number().int().nonnegative();

/** Engine settings sent with `load`. */
export const engineConfigSchema = z.strictObject({
  modelPath: z.string().min(1),
  threads: z.number().int().min(1).max(256),
  contextSize: z.number().int().min(64),
  /** Jobs served at once, each on a context sequence of its own; absent = as many as memory fits. */
  sequences: z.number().int().min(1).max(64).optional(),
  gpu: z.enum(['auto', 'cpu']),
  /** Tokens generated once after loading to measure speed (0 = skip). */
  warmupTokens: z.number().int().min(0).max(512),
  /** Lock the job process down with the OS sandbox once the model is loaded. */
  sandbox: z.boolean(),
  /** Most model layers offloaded to the GPU (the owner's Polite cap); absent = as many as fit. */
  gpuLayers: z.number().int().min(0).optional(),
  /** Most VRAM the model and its context may use (the owner's Polite cap), in bytes. */
  maxVramBytes: z.number().int().positive().optional(),
});
export type EngineConfig = z.infer<typeof engineConfigSchema>;

/** What the engine reports after loading. */
export const engineInfoSchema = z.strictObject({
  gpu: z.string(),
  contextSize: z.number().int(),
  trainContextSize: z.number().int(),
  /** Context sequences, i.e. jobs the engine serves at once, and what chose that number. */
  sequences: z.number().int().min(1),
  sequencesReason: z.string(),
  tokensPerSecond: z.number().nonnegative(),
  loadMs: z.number().nonnegative(),
  pid: z.number().int(),
  /** 'sandboxed' once the OS sandbox is in force; otherwise why not. */
  tier: z.enum(['sandboxed', 'unsandboxed']),
  sandboxReason: z.string().optional(),
  /** The HPKE public key generated in this job process (raw X25519, base64url). */
  hpkePublicKey: z.string(),
});
export type EngineInfo = z.infer<typeof engineInfoSchema>;

/** Main process → job process. */
export const toJobProcessSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('load'), seq, config: engineConfigSchema }),
  z.strictObject({
    type: z.literal('generate'),
    seq,
    jobId,
    messages: z.array(chatMessageSchema).min(1),
    params: jobParamsSchema,
    continuation: z.string().optional(),
    continuationReasoning: z.string().optional(),
    /** The owner's Polite cap on generation speed, if any. */
    maxTokensPerSecond: z.number().positive().optional(),
  }),
  z.strictObject({
    type: z.literal('generate_sealed'),
    seq,
    jobId,
    envelope: sealedEnvelopeSchema,
    /** What the envelope must be bound to: this worker, its coordinator, its model. */
    workerId: z.string(),
    coordinatorId: z.string(),
    model: z.string(),
    maxTokensPerSecond: z.number().positive().optional(),
  }),
  z.strictObject({ type: z.literal('cancel'), seq, jobId }),
  z.strictObject({ type: z.literal('unload'), seq }),
]);
export type ToJobProcess = z.infer<typeof toJobProcessSchema>;

/** Generated text of one job. */
const chunkMessageSchema = z.strictObject({ type: z.literal('chunk'), jobId, text: z.string(), tokens: z.number().int().nonnegative(), toolCalls: toolCallDeltasSchema.optional(), reasoning: z.string().optional() });

/** The most chunks one `chunks` message carries (one per job running at once). */
export const MAX_CHUNKS_PER_MESSAGE = 256;

/** Job process → main process. `replyTo` names the request a reply answers. */
export const fromJobProcessSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('loaded'), replyTo: seq, info: engineInfoSchema }),
  z.strictObject({ type: z.literal('unloaded'), replyTo: seq, rssBytes: z.number().int() }),
  chunkMessageSchema,
  /** The chunks of several jobs generated in one turn: one message, so one wake-up of the worker. */
  z.strictObject({ type: z.literal('chunks'), chunks: z.array(chunkMessageSchema).min(1).max(MAX_CHUNKS_PER_MESSAGE) }),
  z.strictObject({ type: z.literal('sealed_chunk'), jobId, chunk: sealedChunkSchema, tokens: z.number().int().nonnegative() }),
  /** The prompt's token count, once the job is taken (before its first chunk). */
  z.strictObject({ type: z.literal('prompt'), jobId, promptTokens: z.number().int().nonnegative() }),
  z.strictObject({ type: z.literal('done'), jobId, finishReason: finishReasonSchema, usage: usageSchema, countedCompletionTokens: z.number().int().nonnegative() }),
  z.strictObject({ type: z.literal('failed'), replyTo: seq.optional(), jobId: jobId.optional(), code: z.enum(ERROR_CODES), message: z.string() }),
  z.strictObject({ type: z.literal('log'), level: z.enum(['debug', 'info', 'warn', 'error']), msg: z.string(), fields: z.record(z.string(), z.unknown()).optional() }),
]);
export type FromJobProcess = z.infer<typeof fromJobProcessSchema>;
