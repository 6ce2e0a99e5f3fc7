/** Small HTTP helpers for the network's servers: bounded JSON bodies and OpenAI-shaped errors. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { openAiError } from '../protocol/chat.js';
import { RETRY_AFTER_SECONDS } from '../protocol/http-contract.js';

/** Largest request body read, in bytes. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Reads a JSON body, refusing one over the limit without buffering it. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return { ok: false, status: 413, message: `Request body of ${declared} bytes exceeds the ${limit}-byte limit.` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return { ok: false, status: 413, message: `Request body exceeds the ${limit}-byte limit.` };
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, message: 'We could not parse the JSON body of your request.' };
  }
}

/** Sends a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** OpenAI's error `type` for a status. */
export function errorType(status: number): string {
  return status === 402 ? 'insufficient_quota' : status >= 500 ? 'server_error' : 'invalid_request_error';
}

/**
 * Sends an error in OpenAI's shape, which the openai SDK maps to its typed errors. A 503 (every
 * worker busy, or none sharing) says when to try again: clients' retries then wait that long.
 */
export function sendError(res: ServerResponse, status: number, message: string, code: string | null = null, param: string | null = null, headers: Record<string, string> = {}): void {
  const retry: Record<string, string> = status === 503 || status === 429 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {};
  sendJson(res, status, openAiError(message, errorType(status), code, param), { ...retry, ...headers });
}

/** A percent-encoded part of a URL path, decoded; undefined when its encoding is malformed (a 400, not a 500). */
export function decodePathPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
