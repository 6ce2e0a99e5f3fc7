/**
 * The building blocks of jobs shared by the worker protocol, sealed envelopes and descriptors:
 * ids, models, tiers, sampling parameters, usage. Kept apart so those modules do not import
 * each other.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { normalizeJsonSchema, type GrammarSchema } from './json-schema.js';

/** A wire-safe identifier (job, worker, model). */
export const id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
/** One of ERROR_CODES. */
export const errorCode = z.enum(ERROR_CODES);
/** A non-negative whole number. */
export const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** The largest context a model may announce, in tokens: also the bound on any job's token counts. */
export const MAX_CONTEXT_TOKENS = 1 << 20;
/** A token count of one job: never more than the largest context. */
export const tokenCount = z.number().int().nonnegative().max(MAX_CONTEXT_TOKENS);

/** Confidentiality tier of a worker (docs/design.md, Confidentiality tiers). */
export const tierSchema = z.enum(['unsandboxed', 'sandboxed', 'tee']);
export type Tier = z.infer<typeof tierSchema>;

/** A model a worker can serve. */
export const workerModelSchema = z.strictObject({
  id,
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 as 64 lower-case hex digits'),
  contextSize: z.number().int().min(16).max(MAX_CONTEXT_TOKENS),
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

/** Most tools one job may offer the model. */
export const MAX_TOOLS = 64;
/** Most bytes of JSON all of a job's tool definitions may take together. */
export const MAX_TOOLS_BYTES = 128 * 1024;
/** Most bytes of a tool call's arguments (JSON text). */
export const MAX_TOOL_ARGUMENTS_BYTES = 64 * 1024;

/** A tool (function) name, as OpenAI allows them: also what node-llama-cpp's call grammar needs. */
export const toolName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a tool name is 1 to 64 letters, digits, _ or -');

/** A JSON schema the engine can enforce with a grammar (json-schema.ts); checked again on receipt. */
export const grammarSchema = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const checked = normalizeJsonSchema(value);
  if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.problem.path ? `at '${checked.problem.path}': ${checked.problem.message}` : checked.problem.message });
}) as unknown as z.ZodType<GrammarSchema>;

/** A function the model may call. */
export const toolSchema = z.strictObject({
  name: toolName,
  description: z.string().max(8192).optional(),
  parameters: grammarSchema.optional(),
});
export type Tool = z.infer<typeof toolSchema>;

/** Output constrained to JSON: any JSON object, or JSON of one schema. */
export const responseFormatSchema = z.discriminatedUnion('type', [z.strictObject({ type: z.literal('json_object') }), z.strictObject({ type: z.literal('json_schema'), schema: grammarSchema })]);
export type ResponseFormat = z.infer<typeof responseFormatSchema>;

/** Sampling, length and output settings of one job, before the checks across fields. */
export const jobParamsObject = z.strictObject({
  maxTokens: z.number().int().min(1).max(MAX_CONTEXT_TOKENS),
  temperature: z.number().min(0).max(2),
  topP: z.number().gt(0).max(1).optional(),
  seed: z.number().int().optional(),
  stop: z.array(z.string().min(1).max(256)).max(4).optional(),
  /** OpenAI's penalties, applied by llama.cpp's sampler over the tokens generated so far. */
  presencePenalty: z.number().min(-2).max(2).optional(),
  frequencyPenalty: z.number().min(-2).max(2).optional(),
  /** The output is JSON, enforced by a grammar (never combined with tools). */
  responseFormat: responseFormatSchema.optional(),
  /** Functions the model may call (rendered into the prompt by the model's chat wrapper). */
  tools: z.array(toolSchema).min(1).max(MAX_TOOLS).optional(),
  /** 'auto': the model decides; 'required': it must call one; { name }: it must call that one. */
  toolChoice: z.union([z.enum(['auto', 'required']), z.strictObject({ name: toolName })]).optional(),
  /** false: at most one call per answer. */
  parallelToolCalls: z.boolean().optional(),
});

/** The checks across a job's fields (tools against toolChoice and responseFormat, sizes). */
export function checkJobParams(params: Omit<z.infer<typeof jobParamsObject>, 'maxTokens'>, ctx: z.RefinementCtx): void {
  if (params.tools && params.responseFormat) ctx.addIssue({ code: 'custom', path: ['responseFormat'], message: 'a JSON response format cannot be combined with tools' });
  if (params.toolChoice && !params.tools) ctx.addIssue({ code: 'custom', path: ['toolChoice'], message: 'toolChoice needs tools' });
  const names = new Set(params.tools?.map((t) => t.name));
  if (params.tools && names.size !== params.tools.length) ctx.addIssue({ code: 'custom', path: ['tools'], message: 'tool names must be unique' });
  if (typeof params.toolChoice === 'object' && !names.has(params.toolChoice.name)) ctx.addIssue({ code: 'custom', path: ['toolChoice'], message: `toolChoice names '${params.toolChoice.name}', which is not among the tools` });
  if (params.tools && new TextEncoder().encode(JSON.stringify(params.tools)).length > MAX_TOOLS_BYTES) ctx.addIssue({ code: 'custom', path: ['tools'], message: `tool definitions may take at most ${MAX_TOOLS_BYTES} bytes of JSON` });
}

/** Sampling, length and output settings of one job. */
export const jobParamsSchema = jobParamsObject.superRefine(checkJobParams);
export type JobParams = z.infer<typeof jobParamsSchema>;

/** Whether a job's output is shaped by a grammar or tool calling (not free text). */
export function isConstrained(params: Pick<JobParams, 'responseFormat' | 'tools'>): boolean {
  return params.responseFormat !== undefined || params.tools !== undefined;
}

/** Whether the model must call a function (it cannot answer in text): `tool_choice` 'required' or a named function. */
export function forcesCall(params: Pick<JobParams, 'tools' | 'toolChoice'> | undefined): boolean {
  return params?.tools !== undefined && params.toolChoice !== undefined && params.toolChoice !== 'auto';
}

/**
 * What earlier workers already streamed of a job's answer, for the next one to go on from: a
 * thinking model's thought so far, then text. On the wire it travels as `continuation` (the text)
 * and `continuationReasoning` (the thought).
 */
export interface Continuation {
  text: string;
  reasoning: string;
}

/** The continuation a job's wire fields carry, if any. */
export function continuationOf(fields: { continuation?: string | undefined; continuationReasoning?: string | undefined }): Continuation | undefined {
  const text = fields.continuation ?? '';
  const reasoning = fields.continuationReasoning ?? '';
  return text === '' && reasoning === '' ? undefined : { text, reasoning };
}

/** A continuation as wire fields: none, the text, the thought, or both. */
export function continuationFields(continuation: Continuation | undefined): { continuation?: string; continuationReasoning?: string } {
  return { ...(continuation?.text ? { continuation: continuation.text } : {}), ...(continuation?.reasoning ? { continuationReasoning: continuation.reasoning } : {}) };
}

/**
 * A piece of a tool call as it streams: the first piece of a call names it, later ones add to
 * its arguments (JSON text). Calls are numbered from 0 in the order the model makes them.
 */
export const toolCallDeltaSchema = z.strictObject({
  index: z.number().int().min(0).max(MAX_TOOLS - 1),
  name: toolName.optional(),
  arguments: z.string().max(MAX_TOOL_ARGUMENTS_BYTES).optional(),
});
export type ToolCallDelta = z.infer<typeof toolCallDeltaSchema>;
/** The tool-call pieces of one streamed chunk. */
export const toolCallDeltasSchema = z.array(toolCallDeltaSchema).min(1).max(MAX_TOOLS);

/** Token counts of one job (each bounded by the largest context). */
export const usageSchema = z.strictObject({ promptTokens: tokenCount, completionTokens: tokenCount });
export type Usage = z.infer<typeof usageSchema>;
/** A job's usage as a client is told it: `reasoningTokens` is the part of the completion that was a thinking model's thoughts, when counted. */
export type AnswerUsage = Usage & { reasoningTokens?: number };

/** Why generation ended: a stop, max_tokens, or the model called tools. */
export const finishReasonSchema = z.enum(['stop', 'length', 'tool_calls']);
export type FinishReason = z.infer<typeof finishReasonSchema>;
