/**
 * Reading what a peer across a wire answers, bounded: a response body is read up to a size and
 * no further (its content-length is believed only to refuse early), so a coordinator, a bridge
 * or a price feed that answers with gigabytes cannot fill this process's memory.
 */

/** A response body was larger than the reader accepts. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`The response is larger than ${limit} bytes.`);
  }
}

/** The body's bytes, at most `maxBytes` of them; past that it stops reading and throws BodyTooLargeError. */
export async function readBodyBounded(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new BodyTooLargeError(maxBytes);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The body parsed as JSON, read as readBodyBounded reads it (a SyntaxError when it is not JSON). */
export async function readJsonBounded(res: Response, maxBytes: number): Promise<unknown> {
  return JSON.parse(new TextDecoder().decode(await readBodyBounded(res, maxBytes)));
}
