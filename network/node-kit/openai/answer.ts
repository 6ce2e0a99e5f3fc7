/**
 * One answer to one HTTP request, for every endpoint's writer: headers are held back until the
 * first output (so a refusal or an early failure is a proper HTTP status with OpenAI's error
 * body, which SDKs map to typed errors and do not retry as 5xx), the answer is assembled as it
 * streams (text, tool calls with the ids clients echo back), and a client that goes away stops
 * the generation.
 */
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { HEADERS } from '../../protocol/http-contract.js';
import type { AnswerUsage, FinishReason, ToolCallDelta } from '../../protocol/job-schemas.js';
import { sendError } from '../http-util.js';
import type { ApiError, GenerationSink } from './backend.js';

/** A tool call as the answer holds it. */
export interface AssembledCall {
  id: string;
  name: string;
  arguments: string;
}

/** What an endpoint's writer does with the pieces of an answer. */
export interface AnswerFormat {
  /** Streaming: the headers were just sent. */
  begin?(): void;
  /** A thinking model's thoughts (formats without a place for them leave this out). */
  reasoning?(text: string): void;
  text?(text: string): void;
  /** A call started (`first`) or grew (its `argumentsDelta`). */
  toolCall?(index: number, call: AssembledCall, first: boolean, argumentsDelta: string): void;
  /** The ending; `usage` is the job's. Streaming: write the last events. */
  done(answer: Answer, finishReason: FinishReason, usage: AnswerUsage | undefined): void;
  /** Streaming, after output began: write the failure as an event. */
  failLate(error: ApiError): void;
}

/** Collects an answer and drives one endpoint's format. */
export class Answer implements GenerationSink {
  text = '';
  reasoning = '';
  readonly calls: AssembledCall[] = [];
  private headers: Record<string, string>;
  private began = false;
  private endedFlag = false;

  constructor(
    readonly res: ServerResponse,
    readonly stream: boolean,
    confidentiality: 'transport' | 'sealed',
    private format: AnswerFormat | undefined = undefined,
  ) {
    this.headers = { [HEADERS.confidentiality]: confidentiality };
  }

  /** Sets the endpoint's format (once, before any event). */
  use(format: AnswerFormat): this {
    this.format = format;
    return this;
  }

  /** True once the answer (or its error) has been written in full. */
  get ended(): boolean {
    return this.endedFlag;
  }

  /** Headers of the answer (confidentiality, sealed worker). */
  get responseHeaders(): Record<string, string> {
    return this.headers;
  }

  onHeaders(headers: Record<string, string>): void {
    this.headers = { ...this.headers, ...headers };
  }

  onReasoning(text: string): void {
    if (this.endedFlag || text === '') return;
    this.ensureBegun();
    this.reasoning += text;
    this.format?.reasoning?.(text);
  }

  onText(text: string): void {
    if (this.endedFlag || text === '') return;
    this.ensureBegun();
    this.text += text;
    this.format?.text?.(text);
  }

  onToolCalls(deltas: readonly ToolCallDelta[]): void {
    if (this.endedFlag) return;
    this.ensureBegun();
    for (const delta of deltas) {
      let call = this.calls[delta.index];
      const first = call === undefined;
      if (!call) {
        call = { id: `call_${randomUUID().replaceAll('-', '')}`, name: delta.name ?? '', arguments: '' };
        this.calls[delta.index] = call;
      }
      call.arguments += delta.arguments ?? '';
      this.format?.toolCall?.(delta.index, call, first, delta.arguments ?? '');
    }
  }

  onDone(result: { finishReason: FinishReason; usage?: AnswerUsage | undefined }): void {
    if (this.endedFlag) return;
    this.ensureBegun();
    this.endedFlag = true;
    this.format?.done(this, result.finishReason, result.usage);
  }

  onError(error: ApiError): void {
    if (this.endedFlag) return;
    this.endedFlag = true;
    if (!this.began || !this.stream) {
      if (!this.res.headersSent) sendError(this.res, error.status, error.message, error.code, error.param ?? null, this.headers);
      else this.res.end();
      return;
    }
    this.format?.failLate(error);
  }

  /** Streaming: sends the headers at the first output. */
  private ensureBegun(): void {
    if (this.began) return;
    this.began = true;
    if (!this.stream) return;
    this.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...this.headers });
    this.res.flushHeaders();
    this.format?.begin?.();
  }

  /** Writes one SSE event (`event:` line only when named, as the Responses API does). */
  sse(data: unknown, event?: string): void {
    this.res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }
}

/** Seconds since the epoch, as OpenAI's `created` fields. */
export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
