/**
 * Encoding and decoding of wire frames: size limit first, then JSON, then the schema.
 * Bad input becomes a typed error value; nothing here throws on what a peer sends.
 */
import type { z } from 'zod';
import type { Result } from './errors.js';
import { MAX_FRAME_BYTES } from './worker-frames.js';
import { describeIssues } from './chat.js';

/** Number of bytes `text` takes as UTF-8 (no TextEncoder: this layer has no platform APIs). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Parses one received frame. `byteLength` is the size the transport saw, checked before any
 * parsing so an oversized frame costs nothing.
 */
export function decodeFrame<S extends z.ZodType>(schema: S, text: string, byteLength: number, maxBytes = MAX_FRAME_BYTES): Result<z.infer<S>> {
  if (byteLength > maxBytes) {
    return { ok: false, error: { code: 'frame_too_large', message: `Frame of ${byteLength} bytes exceeds the ${maxBytes}-byte limit.` } };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: { code: 'bad_frame', message: 'Frame is not valid JSON.' } };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, error: { code: 'bad_frame', message: `Malformed frame: ${describeIssues(parsed.error.issues).message}` } };
  }
  return { ok: true, value: parsed.data };
}

/** Serialises a frame, refusing one that the peer would reject as too large. */
export function encodeFrame(frame: object, maxBytes = MAX_FRAME_BYTES): Result<string> {
  const text = JSON.stringify(frame);
  const size = utf8Length(text);
  if (size > maxBytes) {
    return { ok: false, error: { code: 'frame_too_large', message: `Frame of ${size} bytes exceeds the ${maxBytes}-byte limit.` } };
  }
  return { ok: true, value: text };
}
