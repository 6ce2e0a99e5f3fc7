import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSseData } from './sse.js';

async function collect(parts: string[], max?: number): Promise<string[]> {
  async function* body() {
    for (const part of parts) yield new TextEncoder().encode(part);
  }
  const out: string[] = [];
  for await (const data of readSseData(body(), max)) out.push(data);
  return out;
}

test('events split across reads, CRLF, comments, multi-line data and other fields', async () => {
  const events = await collect([': keepalive\n\nda', 'ta: {"a":1}\r\n\r\nevent: x\nid: 3\ndata: line1\ndata:line2\n', '\ndata: é', '\n\ndata: cut off']);
  assert.deepEqual(events, ['{"a":1}', 'line1\nline2', 'é']);
});

test('an oversized event is refused', async () => {
  await assert.rejects(collect([`data: ${'x'.repeat(100)}\n\n`], 50), /exceeds/);
  await assert.rejects(collect(['x'.repeat(100)], 50), /exceeds/);
});

test('empty data lines count toward the bound: the newlines that join them are part of the event', async () => {
  // 100 empty `data:` lines join to 99 newlines, which must be refused at 50 like any 99 characters.
  await assert.rejects(collect(['data:\n'.repeat(100)], 50), /exceeds/);
  assert.deepEqual(await collect(['data:\n'.repeat(3) + '\n'], 50), ['\n\n'], 'a few are still one event of newlines');
});
