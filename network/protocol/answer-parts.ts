/**
 * A piece of an answer as it streams: the model's reasoning (a thinking model's thoughts, before
 * its answer), text, then pieces of tool calls. In sealed mode each sealed chunk's plaintext is
 * one piece as JSON (`{"reasoning":…,"text":…,"toolCalls":[…]}`; the final chunk may be empty),
 * so only the client's gateway sees the thoughts, and which tools were called and with what.
 * `mergeParts` joins pieces that travel together (the job process batches them per event-loop
 * turn) without changing what a client assembles from them.
 */
import { z } from 'zod';
import { toolCallDeltasSchema, type ToolCallDelta } from './job-schemas.js';

/** One streamed piece of an answer. */
export interface AnswerPart {
  text: string;
  toolCalls?: ToolCallDelta[];
  /** Thoughts the model wrote before its answer (OpenAI-compatible servers' `reasoning_content`). */
  reasoning?: string;
}

const answerPartSchema = z.strictObject({ reasoning: z.string().optional(), text: z.string().optional(), toolCalls: toolCallDeltasSchema.optional() });

/** The plaintext of a sealed chunk carrying `part`. */
export function encodeAnswerPart(part: AnswerPart): string {
  return JSON.stringify({ ...(part.reasoning ? { reasoning: part.reasoning } : {}), ...(part.text ? { text: part.text } : {}), ...(part.toolCalls?.length ? { toolCalls: part.toolCalls } : {}) });
}

/** Reads a sealed chunk's plaintext; undefined when it is not a valid piece. */
export function decodeAnswerPart(plaintext: string): AnswerPart | undefined {
  if (plaintext === '') return { text: '' };
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    return undefined;
  }
  const parsed = answerPartSchema.safeParse(value);
  if (!parsed.success) return undefined;
  return { text: parsed.data.text ?? '', ...(parsed.data.toolCalls ? { toolCalls: parsed.data.toolCalls } : {}), ...(parsed.data.reasoning ? { reasoning: parsed.data.reasoning } : {}) };
}

/** Appends `next` to `into` (reasoning joined, text joined; a call's argument pieces joined in order). */
export function mergeParts(into: AnswerPart, next: AnswerPart): AnswerPart {
  const calls = [...(into.toolCalls ?? []).map((c) => ({ ...c }))];
  for (const delta of next.toolCalls ?? []) {
    const last = calls.at(-1);
    if (last && last.index === delta.index && (delta.name === undefined || last.name === undefined)) {
      if (delta.name !== undefined) last.name = delta.name;
      if (delta.arguments !== undefined) last.arguments = (last.arguments ?? '') + delta.arguments;
    } else calls.push({ ...delta });
  }
  // Text never follows a tool call within one answer, so joining texts keeps the order; a
  // model's thoughts come before its text.
  const reasoning = (into.reasoning ?? '') + (next.reasoning ?? '');
  return { text: into.text + next.text, ...(calls.length ? { toolCalls: calls } : {}), ...(reasoning ? { reasoning } : {}) };
}

/** UTF-8 bytes a part carries (for output bounds): reasoning, text, names and arguments. */
export function partBytes(part: AnswerPart): number {
  const encoder = new TextEncoder();
  let bytes = encoder.encode(part.text).length + encoder.encode(part.reasoning ?? '').length;
  for (const call of part.toolCalls ?? []) bytes += encoder.encode(call.name ?? '').length + encoder.encode(call.arguments ?? '').length;
  return bytes;
}
