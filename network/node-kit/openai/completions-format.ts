/** Legacy text completion answers (`text_completion` objects, streamed or whole), in OpenAI's shapes. */
import { randomUUID } from 'node:crypto';
import type { GenerationRequest } from '../../protocol/openai/common.js';
import { sendJson } from '../http-util.js';
import { unixSeconds, type Answer, type AnswerFormat } from './answer.js';
import { chatUsage, streamError } from './chat-format.js';

/** The text completion format for one request. */
export function completionsFormat(answer: Answer, request: GenerationRequest): AnswerFormat {
  const base = { id: `cmpl-${randomUUID()}`, object: 'text_completion', created: unixSeconds(), model: request.model, system_fingerprint: null };
  if (!answer.stream) {
    return {
      done(full, finishReason, usage) {
        sendJson(full.res, 200, { ...base, choices: [{ text: full.text, index: 0, logprobs: null, finish_reason: finishReason }], ...(usage ? { usage: chatUsage(usage) } : {}) }, full.responseHeaders);
      },
      failLate: () => undefined,
    };
  }
  return {
    text: (text) => answer.sse({ ...base, choices: [{ text, index: 0, logprobs: null, finish_reason: null }] }),
    done(full, finishReason, usage) {
      answer.sse({ ...base, choices: [{ text: '', index: 0, logprobs: null, finish_reason: finishReason }] });
      if (request.includeUsage && usage) answer.sse({ ...base, choices: [], usage: chatUsage(usage) });
      full.res.end('data: [DONE]\n\n');
    },
    failLate(error) {
      answer.sse(streamError(error));
      answer.res.end('data: [DONE]\n\n');
    },
  };
}
