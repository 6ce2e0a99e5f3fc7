/**
 * The worker ⇄ coordinator protocol over one WebSocket: every frame is one JSON object with a
 * `type`, validated by these schemas on receipt, on both sides.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { chatMessageSchema } from './chat.js';

/** The path on the coordinator where workers open their WebSocket. */
export const WORKER_SOCKET_PATH = '/v1/worker';

/** The largest frame either side sends or accepts, in bytes of UTF-8 JSON. */
export const MAX_FRAME_BYTES = 1024 * 1024;

const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const errorCode = z.enum(ERROR_CODES);
const count = z.number().int().nonnegative();

/** Confidentiality tier of a worker (DESIGN.md §3). */
export const tierSchema = z.enum(['unsandboxed', 'sandboxed', 'tee']);
export type Tier = z.infer<typeof tierSchema>;

/** A model a worker can serve. */
export const workerModelSchema = z.strictObject({
  id,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 as 64 lower-case hex digits'),
  contextSize: z.number().int().min(16).max(1 << 20),
});
export type WorkerModel = z.infer<typeof workerModelSchema>;

/** What a worker can do, announced in hello. */
export const capabilitiesSchema = z.strictObject({
  models: z.array(workerModelSchema).max(64),
  maxConcurrentJobs: z.number().int().min(1).max(64),
  tokensPerSecond: z.number().nonnegative().finite(),
  priceCoefficient: z.number().min(0.1).max(10),
  tier: tierSchema,
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;

/** Sampling and length settings of one job. */
export const jobParamsSchema = z.strictObject({
  maxTokens: z.number().int().min(1).max(1 << 20),
  temperature: z.number().min(0).max(2),
  topP: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
  stop: z.array(z.string().min(1).max(256)).max(4).optional(),
});
export type JobParams = z.infer<typeof jobParamsSchema>;

/** Token counts reported by the engine. */
export const usageSchema = z.strictObject({ promptTokens: count, completionTokens: count });
export type Usage = z.infer<typeof usageSchema>;

/** Why generation ended. */
export const finishReasonSchema = z.enum(['stop', 'length']);
export type FinishReason = z.infer<typeof finishReasonSchema>;

const ping = z.strictObject({ type: z.literal('ping'), seq: count, sentAt: z.number() });
const pong = z.strictObject({ type: z.literal('pong'), seq: count, sentAt: z.number() });
const protocolError = z.strictObject({ type: z.literal('error'), code: errorCode, message: z.string().max(2000) });

/** Frames a worker sends. */
export const workerFrameSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('hello'),
    protocol: z.strictObject({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative() }),
    workerId: id,
    appVersion: z.string().max(64),
    capabilities: capabilitiesSchema,
    available: z.boolean(),
    /** Where the owner wants earnings paid (friendly TON address); earnings wait without one. */
    payoutAddress: z.string().max(64).optional(),
  }),
  z.strictObject({ type: z.literal('capacity'), available: z.boolean() }),
  z.strictObject({ type: z.literal('job.accept'), jobId: id }),
  z.strictObject({ type: z.literal('job.reject'), jobId: id, code: errorCode, message: z.string().max(2000) }),
  /** `tokens`: how many generated tokens this text holds (chunks may batch several). */
  z.strictObject({ type: z.literal('job.chunk'), jobId: id, seq: count, text: z.string(), tokens: count }),
  z.strictObject({ type: z.literal('job.done'), jobId: id, finishReason: finishReasonSchema, usage: usageSchema }),
  z.strictObject({ type: z.literal('job.error'), jobId: id, code: errorCode, message: z.string().max(2000) }),
  ping,
  pong,
  protocolError,
]);
export type WorkerFrame = z.infer<typeof workerFrameSchema>;

/** Frames a coordinator sends. */
export const coordinatorFrameSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('welcome'),
    protocol: z.number().int().min(1),
    coordinatorId: id,
    heartbeatIntervalMs: z.number().int().min(100).max(600_000),
    maxFrameBytes: z.number().int().min(1024),
  }),
  z.strictObject({
    type: z.literal('incompatible'),
    code: z.enum(['client_too_old', 'server_too_old']),
    supported: z.strictObject({ min: z.number().int(), max: z.number().int() }),
    message: z.string().max(2000),
  }),
  z.strictObject({
    type: z.literal('job.offer'),
    jobId: id,
    model: id,
    messages: z.array(chatMessageSchema).min(1).max(1024),
    params: jobParamsSchema,
    /** Text already streamed to the client by an earlier worker: continue after it. */
    continuation: z.string().optional(),
  }),
  z.strictObject({ type: z.literal('job.cancel'), jobId: id, reason: z.string().max(500) }),
  /** What the worker earned for a job, with a new cumulative voucher when payouts are on chain. */
  z.strictObject({
    type: z.literal('job.receipt'),
    jobId: id,
    model: id,
    usage: usageSchema,
    earnedNanotons: z.string().regex(/^\d+$/),
    /** The earnings account: the payout address, or `worker:<id>` while there is none. */
    account: z.string().max(140),
    cumulativeNanotons: z.string().regex(/^\d+$/),
    voucher: z.record(z.string(), z.unknown()).optional(),
  }),
  ping,
  pong,
  protocolError,
]);
export type CoordinatorFrame = z.infer<typeof coordinatorFrameSchema>;
