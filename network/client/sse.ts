/** A small reader for `text/event-stream` bodies: yields the `data` of each complete event. */

/** Largest event accepted, in characters (a sealed chunk is far smaller). */
export const MAX_SSE_EVENT_CHARS = 1024 * 1024;

/**
 * Yields each event's data (its `data:` lines joined by "\n"). Comment lines and other fields
 * are skipped; an event cut off by the end of the stream is dropped, as the SSE spec says.
 * Throws when one event grows past `maxEventChars`.
 */
export async function* readSseData(body: AsyncIterable<Uint8Array>, maxEventChars = MAX_SSE_EVENT_CHARS): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let dataChars = 0;
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
        dataChars = 0;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      if (field !== 'data') continue;
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      // The "\n" that will join this line to the previous one counts too: empty lines are not free.
      dataChars += value.length + (data.length > 0 ? 1 : 0);
      if (dataChars > maxEventChars) throw new Error(`An event of the stream exceeds ${maxEventChars} characters.`);
      data.push(value);
    }
    if (buffer.length > maxEventChars) throw new Error(`A line of the stream exceeds ${maxEventChars} characters.`);
  }
}
