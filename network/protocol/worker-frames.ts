/**
 * The worker ⇄ coordinator protocol over one WebSocket: every frame is one JSON object with a
 * `type`, validated by these schemas on receipt, on both sides.
 */
import { Address } from '@ton/core';
import { z } from 'zod';
import { chatMessageSchema } from './chat.js';
import { capabilitiesSchema, count, errorCode, finishReasonSchema, id, jobParamsSchema, tokenCount, toolCallDeltasSchema, usageSchema } from './job-schemas.js';
import { isBase64UrlOfLength } from './encoding.js';
import { CHALLENGE_BYTES } from './worker-hello.js';
import { sealedEnvelopeSchema } from './sealed.js';
import { sealedChunkShape } from './sealed-stream.js';
import { MAX_PRICE_PER_MILLION, modelPriceSchema } from './pricing.js';

/** The path on the coordinator where workers open their WebSocket. */
export const WORKER_SOCKET_PATH = '/v1/worker';

/** The largest frame either side sends or accepts, in bytes of UTF-8 JSON. */
export const MAX_FRAME_BYTES = 1024 * 1024;

export { capabilitiesSchema, finishReasonSchema, jobParamsSchema, tierSchema, usageSchema, workerModelSchema } from './job-schemas.js';
export type { Capabilities, FinishReason, JobParams, Tier, ToolCallDelta, Usage, WorkerModel } from './job-schemas.js';

const key32 = z.string().refine((text) => isBase64UrlOfLength(text, 32), 'expected 32 bytes as unpadded base64url');
const signature64 = z.string().refine((text) => isBase64UrlOfLength(text, 64), 'expected a 64-byte Ed25519 signature as unpadded base64url');
const nanotonString = z.string().regex(/^(0|[1-9]\d{0,30})$/, 'a whole number of nanotons as a decimal string');
// Welcome's terms are refused here when the worker could not use them: a price beyond what any
// price list holds, a vault that is no TON address. Taken, they would fail every receipt later.
const priceString = z.string().refine((text) => modelPriceSchema.shape.promptPerMillion.safeParse(text).success, `nanotons per million tokens as a decimal string, at most ${MAX_PRICE_PER_MILLION}`);
const wirePrice = z.strictObject({ promptPerMillion: priceString, completionPerMillion: priceString });
const tonAddress = z.string().max(80).refine(isTonAddress, 'expected a TON address');

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
    /** The worker's Ed25519 identity key (base64url): its id belongs to this key for good. */
    identityKey: key32,
    /** The identity key's signature over the challenge, id and payout address (worker-hello.ts). */
    signature: signature64,
  }),
  z.strictObject({ type: z.literal('capacity'), available: z.boolean() }),
  z.strictObject({ type: z.literal('job.accept'), jobId: id }),
  z.strictObject({ type: z.literal('job.reject'), jobId: id, code: errorCode, message: z.string().max(2000) }),
  /**
   * `tokens`: how many generated tokens the worker says this text holds (chunks may batch
   * several). A claim only: the coordinator bills what it counts or bounds itself.
   * `toolCalls`: pieces of tool calls the model made, after any text of the same chunk.
   * `promptTokens` (first chunk only): the worker's claim for the prompt it evaluated, as in
   * `job.done`, made early so that a job ending before `job.done` still has it.
   */
  /** A piece of a transport job's answer: text, or tool-call pieces, or a thinking model's `reasoning` (before its text). */
  z.strictObject({ type: z.literal('job.chunk'), jobId: id, seq: count, text: z.string(), tokens: tokenCount, toolCalls: toolCallDeltasSchema.optional(), reasoning: z.string().optional(), promptTokens: tokenCount.optional() }),
  z.strictObject({ type: z.literal('job.done'), jobId: id, finishReason: finishReasonSchema, usage: usageSchema }),
  z.strictObject({ type: z.literal('job.error'), jobId: id, code: errorCode, message: z.string().max(2000) }),
  /** A sealed answer chunk, relayed to the client byte for byte; `tokens` is for billing. */
  z.strictObject({ type: z.literal('job.sealed_chunk'), jobId: id, ...sealedChunkShape, tokens: tokenCount, promptTokens: tokenCount.optional() }),
  /** The worker has durably recorded every receipt up to and including `upTo`. */
  z.strictObject({ type: z.literal('receipt.ack'), upTo: count }),
  /** Asks the coordinator to send again every receipt numbered above `after`. */
  z.strictObject({ type: z.literal('receipts.request'), after: count }),
  /** The worker's signed descriptor (descriptor.ts), sent after welcome and whenever it changes. */
  z.strictObject({ type: z.literal('descriptor'), signed: z.record(z.string(), z.unknown()) }),
  ping,
  pong,
  protocolError,
]);
export type WorkerFrame = z.infer<typeof workerFrameSchema>;

/** How a job ended on the coordinator's side (its settlement's outcome). */
export const jobOutcomeSchema = z.enum(['done', 'cancelled', 'timeout', 'failed', 'cut_off', 'verify_failed']);
export type JobOutcome = z.infer<typeof jobOutcomeSchema>;

/** Frames a coordinator sends. */
export const coordinatorFrameSchema = z.discriminatedUnion('type', [
  /** The first frame on every connection: hello must sign this nonce (worker-hello.ts). */
  z.strictObject({ type: z.literal('challenge'), coordinatorId: id, nonce: z.string().refine((text) => isBase64UrlOfLength(text, CHALLENGE_BYTES), 'expected 32 random bytes as base64url') }),
  z.strictObject({
    type: z.literal('welcome'),
    protocol: z.number().int().min(1),
    coordinatorId: id,
    heartbeatIntervalMs: z.number().int().min(100).max(600_000),
    maxFrameBytes: z.number().int().min(1024),
    /**
     * Who pays: the vault vouchers are issued for, the key that signs them (hex) and the chain's
     * global id (-239 mainnet, -3 testnet). Null when this coordinator does not settle on chain.
     */
    settlement: z.strictObject({ vault: tonAddress, voucherPublicKey: z.string().regex(/^[0-9a-f]{64}$/), chainGlobalId: z.number().int() }).nullable(),
    /** The published prices every receipt is computed from (pricing.ts; nanotons as strings). */
    pricing: z.strictObject({ default: wirePrice, models: z.record(z.string(), wirePrice), commissionBps: z.number().int().min(0).max(10_000) }),
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
    /** A thinking model's thought already streamed by an earlier worker: go on thinking after it (or, with text, answer after it). */
    continuationReasoning: z.string().optional(),
  }),
  z.strictObject({ type: z.literal('job.cancel'), jobId: id, reason: z.string().max(500) }),
  /** A job sealed by the client to this worker's job process: the coordinator cannot read it. */
  z.strictObject({ type: z.literal('job.sealed_offer'), jobId: id, envelope: sealedEnvelopeSchema }),
  /**
   * What the worker earned for its part in a job. Receipts are numbered per worker (`seq` 1, 2,
   * 3…) and kept by the coordinator until the worker acknowledges them (`receipt.ack`); they are
   * sent again on every reconnect until then. `usage` is what the coordinator billed for this
   * worker's part (its own count or bound); `claimed`, when present, is what the worker reported
   * and was cut from. cost = price(model) × usage × coefficient (rounded up), earned = cost less
   * the commission (rounded down): the worker can recompute both from welcome's pricing.
   */
  z.strictObject({
    type: z.literal('job.receipt'),
    seq: count.min(1),
    jobId: id,
    model: id,
    usage: usageSchema,
    claimed: usageSchema.optional(),
    /**
     * How the job ended on the coordinator's side. 'cancelled' and 'timeout' bill what reached
     * the client, which can be less than the worker sent: the worker does not compare those.
     */
    outcome: jobOutcomeSchema.optional(),
    /** The price coefficient this part was billed at, in thousandths (1000 = list price). */
    coefficientMilli: z.number().int().min(100).max(10_000),
    costNanotons: nanotonString,
    earnedNanotons: nanotonString,
    /** The earnings account: the payout address, or `worker:<id>` while there is none. */
    account: z.string().max(140),
    cumulativeNanotons: nanotonString,
    voucher: z.record(z.string(), z.unknown()).optional(),
  }),
  /**
   * One of this worker's answers failed a check (a spot check or a probe re-scored it: it is not
   * what the model gives): that job is not paid, and the identity has `strikes` of the `ejectAt`
   * that eject it. Protocol 3 and later.
   */
  z.strictObject({ type: z.literal('check_failed'), strikes: z.number().int().min(1).max(1000), ejectAt: z.number().int().min(1).max(1000), message: z.string().max(2000) }),
  ping,
  pong,
  protocolError,
]);
export type CoordinatorFrame = z.infer<typeof coordinatorFrameSchema>;

function isTonAddress(text: string): boolean {
  try {
    Address.parse(text);
    return true;
  } catch {
    return false;
  }
}
