/**
 * What the three OpenAI request shapes (chat completions, responses, legacy completions) share:
 * the one generation request they all become, and the zod helpers that refuse what cannot be
 * honoured by name instead of ignoring it.
 */
import { z } from 'zod';
import type { ChatMessage } from '../chat.js';
import { jobParamsObject, checkJobParams, type JobParams, type ResponseFormat, type Tool } from '../job-schemas.js';
import { normalizeJsonSchema } from '../json-schema.js';

/** What every OpenAI-style request becomes: the job a worker runs, plus how to answer. */
export interface GenerationRequest {
  model: string;
  messages: ChatMessage[];
  /** Sampling and output settings (max tokens are sized later, against the worker's context). */
  params: Omit<JobParams, 'maxTokens'>;
  /** The client's max tokens, if it named one. */
  maxTokens?: number;
  stream: boolean;
  /** Streaming: end with a usage chunk. */
  includeUsage: boolean;
}

/** A request refused before any work: OpenAI's message and the offending parameter. */
export interface RequestProblem {
  message: string;
  param: string | null;
}

/** A parsed request: the client's own fields (to echo back) and the generation it asks for. */
export type Parsed<T> = { ok: true; request: T; generation: GenerationRequest } | { ok: false; problem: RequestProblem };

/** Values that ask for nothing: null, false, 0, '', [] and {}. */
export function asksNothing(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** A field accepted only when it asks for nothing; anything else is a 400 saying why. */
export function unsupported(why: string) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (!asksNothing(value)) ctx.addIssue({ code: 'custom', message: why });
    })
    .optional();
}

/** A field accepted and ignored: it changes nothing Silkworm does (metadata, caching hints). */
export function ignored<T extends z.ZodType>(schema: T) {
  return schema.nullish();
}

/** OpenAI's sampling fields, shared by every request shape. */
export const samplingFields = {
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
};

/** The job params of OpenAI's sampling fields (temperature 1 by default, as OpenAI). */
export function samplingParams(fields: { temperature?: number | null; top_p?: number | null; presence_penalty?: number | null; frequency_penalty?: number | null; seed?: number | null; stop?: string | string[] | null }): Omit<JobParams, 'maxTokens'> {
  const stop = typeof fields.stop === 'string' ? [fields.stop] : (fields.stop ?? undefined);
  return {
    temperature: fields.temperature ?? 1,
    ...(fields.top_p != null ? { topP: fields.top_p } : {}),
    ...(fields.seed != null ? { seed: fields.seed } : {}),
    ...(stop ? { stop } : {}),
    ...(fields.presence_penalty ? { presencePenalty: fields.presence_penalty } : {}),
    ...(fields.frequency_penalty ? { frequencyPenalty: fields.frequency_penalty } : {}),
  };
}

/** `stop`: one string or up to 4. */
export const stopField = z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(4)]).nullish();

/** A JSON schema a client sent, refused by name when a grammar cannot enforce it. */
export function clientSchema(where: string) {
  return z
    .record(z.string(), z.unknown())
    .transform((value, ctx) => {
      const checked = normalizeJsonSchema(value);
      if (checked.ok) return checked.schema;
      ctx.addIssue({ code: 'custom', message: `${checked.problem.message}${checked.problem.path ? ` (at '${checked.problem.path}' in ${where})` : ''}` });
      return z.NEVER;
    });
}

/** OpenAI's tool choice, as the job's (undefined for 'none': then tools are not offered at all). */
export type ToolChoiceInput = 'none' | 'auto' | 'required' | { name: string };

/** What outputParams checks: built once (zod compiles a schema on its first parse). */
const outputParamsSchema = jobParamsObject
  .omit({ maxTokens: true })
  .partial()
  .superRefine((p, ctx) => checkJobParams({ temperature: 1, ...p }, ctx));

/**
 * The tools, tool choice and response format of a request, as job params. With tool_choice
 * 'none' the tools are left out entirely (the prompt does not list them). JSON output and tools
 * together cannot be enforced by one grammar: refused.
 */
export function outputParams(input: { tools?: Tool[] | undefined; toolChoice?: ToolChoiceInput | undefined; parallelToolCalls?: boolean | null | undefined; responseFormat?: ResponseFormat | undefined }): { ok: true; params: Partial<JobParams> } | { ok: false; problem: RequestProblem } {
  const choice = input.toolChoice ?? 'auto';
  const tools = choice === 'none' ? undefined : input.tools?.length ? input.tools : undefined;
  if (choice !== 'none' && choice !== 'auto' && !tools) return { ok: false, problem: { message: `tool_choice ${typeof choice === 'string' ? `'${choice}'` : `'${choice.name}'`} needs tools.`, param: 'tool_choice' } };
  if (typeof choice === 'object' && !tools?.some((t) => t.name === choice.name)) return { ok: false, problem: { message: `tool_choice names the function '${choice.name}', which is not among the tools.`, param: 'tool_choice' } };
  if (tools && input.responseFormat) {
    return { ok: false, problem: { message: 'A JSON response format cannot be combined with tools here: Silkworm enforces each with a llama.cpp grammar, and one answer can follow only one. Send tools without response_format, or set tool_choice to none.', param: 'response_format' } };
  }
  const params: Partial<JobParams> = {
    ...(input.responseFormat ? { responseFormat: input.responseFormat } : {}),
    ...(tools ? { tools } : {}),
    ...(tools && choice !== 'auto' ? { toolChoice: choice as JobParams['toolChoice'] & object } : {}),
    ...(tools && input.parallelToolCalls === false ? { parallelToolCalls: false } : {}),
  };
  const checked = params.tools || params.responseFormat ? outputParamsSchema.safeParse(params) : undefined;
  if (checked && !checked.success) return { ok: false, problem: { message: checked.error.issues[0]?.message ?? 'Invalid tools.', param: 'tools' } };
  return { ok: true, params };
}

/**
 * A string, or an array read by `array`: dispatched on the value's shape, so an error inside the
 * array names its place instead of zod's generic "Invalid input" for a failed union.
 */
export function stringOrArray<T>(array: z.ZodType<T[]>, message: string): z.ZodType<string | T[], unknown> {
  return z.unknown().transform((value, ctx): string | T[] => {
    if (typeof value === 'string') return value;
    if (!Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    const parsed = array.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  });
}
