/**
 * The seam between the OpenAI-compatible HTTP surface (one implementation, in this folder) and
 * whatever runs the generation: the coordinator's job manager (transport mode) or the gateway's
 * sealed-mode SDK. Both serve the same requests and answer in the same shapes through it.
 */
import type { IncomingMessage } from 'node:http';
import type { GenerationRequest } from '../../protocol/openai/common.js';
import type { AnswerUsage, FinishReason, Tier, ToolCallDelta } from '../../protocol/job-schemas.js';

/** A request refused or failed, as OpenAI's error body and status say it. */
export interface ApiError {
  status: number;
  code: string;
  message: string;
  param?: string | null;
  /** OpenAI's error type when not derived from the status (insufficient_quota). */
  type?: string;
}

/** Where a running generation reports: the answer as it streams, then one ending. */
export interface GenerationSink {
  /** Headers to send with the answer (the sealed worker's tier and id), before any output. */
  onHeaders(headers: Record<string, string>): void;
  /** A thinking model's thoughts, before its text (OpenAI-compatible servers' `reasoning_content`). */
  onReasoning(text: string): void;
  onText(text: string): void;
  onToolCalls(deltas: readonly ToolCallDelta[]): void;
  onDone(result: { finishReason: FinishReason; usage?: AnswerUsage | undefined }): void;
  onError(error: ApiError): void;
}

/** A generation under way. */
export interface RunningGeneration {
  /** The client went away: stop (no ending is reported after this). */
  cancel(): void;
}

/** A model as the models endpoints list it. */
export interface ModelEntry {
  id: string;
  contextLength: number;
  workers: number;
  tiers: Tier[];
}

/** What runs generations for the HTTP surface. */
export interface GenerationBackend {
  /** How requests travel: 'transport' (the coordinator reads them) or 'sealed'. */
  readonly confidentiality: 'transport' | 'sealed';
  /** Unix seconds reported as models' `created`. */
  readonly createdAt: number;
  models(): Promise<ModelEntry[] | ApiError>;
  /** Starts a generation, or refuses it before any work (sizing, balance, no such model…). */
  start(req: IncomingMessage, request: GenerationRequest, sink: GenerationSink): Promise<RunningGeneration | ApiError>;
}

/** True for a refusal. */
export function isApiError(value: unknown): value is ApiError {
  return typeof value === 'object' && value !== null && 'status' in value && 'code' in value && 'message' in value;
}
