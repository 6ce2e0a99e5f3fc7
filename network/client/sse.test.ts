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
