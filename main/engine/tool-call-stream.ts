/**
 * Turns node-llama-cpp's function calling into OpenAI-style tool-call pieces as they are
 * generated: the first piece of a call names it, later ones add its arguments (JSON text, as
 * the parameters grammar let the model write it). Whitespace at the end of a call's arguments
 * (the grammar's way of finishing) is held back and dropped once the call is done, so the
 * streamed arguments and the final ones are the same text.
 */
import type { LlamaChatResponseFunctionCallParamsChunk } from 'node-llama-cpp';
import type { ToolCallDelta } from '../../network/protocol/job-schemas.js';

interface CallState {
  name: string;
  arguments: string;
  /** Trailing whitespace not streamed yet. */
  pending: string;
}

/** Collects one answer's tool calls and streams them as deltas. */
export class ToolCallStream {
  private readonly calls = new Map<number, CallState>();

  constructor(private readonly emit: (deltas: ToolCallDelta[]) => void) {}

  /** node-llama-cpp's `onFunctionCallParamsChunk`. */
  readonly onParamsChunk = (chunk: LlamaChatResponseFunctionCallParamsChunk): void => {
    let call = this.calls.get(chunk.callIndex);
    const starts = call === undefined;
    if (!call) {
      call = { name: chunk.functionName, arguments: '', pending: '' };
      this.calls.set(chunk.callIndex, call);
    }
    const piece = call.pending + chunk.paramsChunk;
    const kept = piece.replace(/\s+$/, '');
    call.pending = chunk.done ? '' : piece.slice(kept.length);
    call.arguments += kept;
    if (starts || kept !== '') this.emit([{ index: chunk.callIndex, ...(starts ? { name: call.name } : {}), ...(kept !== '' ? { arguments: kept } : {}) }]);
  };

  /**
   * Announces the calls the answer ended with that streamed no parameters (functions without
   * any): their arguments are `{}`, as OpenAI writes them.
   */
  finish(functionCalls: readonly { functionName: string; params?: unknown }[] | undefined): void {
    for (const [index, call] of (functionCalls ?? []).entries()) {
      if (this.calls.has(index)) continue;
      const args = call.params === undefined ? '{}' : JSON.stringify(call.params);
      this.calls.set(index, { name: call.functionName, arguments: args, pending: '' });
      this.emit([{ index, name: call.functionName, arguments: args }]);
    }
  }

  /** Every call as streamed so far, assembled (one entry per call, in order). */
  assembled(): ToolCallDelta[] {
    return [...this.calls].sort(([a], [b]) => a - b).map(([index, c]) => ({ index, name: c.name, arguments: c.arguments }));
  }
}
