/**
 * The worker ⇄ coordinator protocol over one WebSocket: every frame is one JSON object with a
 * `type`, validated by these schemas on receipt, on both sides.
 */
import { z } from 'zod';
import { chatMessageSchema } from './chat.js';
import { capabilitiesSchema, count, errorCode, finishReasonSchema, id, jobParamsSchema, usageSchema } from './job-schemas.js';
import { sealedEnvelopeSchema } from './sealed.js';
import { sealedChunkShape } from './sealed-stream.js';

/** The path on the coordinator where workers open their WebSocket. */
export const WORKER_SOCKET_PATH = '/v1/worker';

/** The largest frame either side sends or accepts, in bytes of UTF-8 JSON. */
export const MAX_FRAME_BYTES = 1024 * 1024;

export { capabilitiesSchema, finishReasonSchema, jobParamsSchema, tierSchema, usageSchema, workerModelSchema } from './job-schemas.js';
export type { Capabilities, FinishReason, JobParams, Tier, Usage, WorkerModel } from './job-schemas.js';

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
  /** A sealed answer chunk, relayed to the client byte for byte; `tokens` is for billing. */
  z.strictObject({ type: z.literal('job.sealed_chunk'), jobId: id, ...sealedChunkShape, tokens: count }),
  /** The worker's signed descriptor (descriptor.ts), sent after welcome and whenever it changes. */
  z.strictObject({ type: z.literal('descriptor'), signed: z.record(z.string(), z.unknown()) }),
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
  /** A job sealed by the client to this worker's job process: the coordinator cannot read it. */
  z.strictObject({ type: z.literal('job.sealed_offer'), jobId: id, envelope: sealedEnvelopeSchema }),
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
