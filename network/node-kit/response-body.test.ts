import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BodyTooLargeError, readBodyBounded, readJsonBounded } from './response-body.js';

/** A server answering each path its own way; counts the bytes it managed to write. */
async function withServer(run: (url: string, written: () => number) => Promise<void>): Promise<void> {
  let written = 0;
  const server = createServer((req, res) => {
    const send = (res: ServerResponse, chunk: Buffer) => {
      written += chunk.length;
      return res.write(chunk);
    };
    if (req.url === '/small') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    if (req.url === '/declared') return void res.writeHead(200, { 'content-length': String(1 << 30) }).end();
    // Chunked, no length, without end: 1 MB at a time, as long as the client keeps reading.
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const pump = () => {
      while (!res.destroyed && send(res, chunk)) if (written > 256 << 20) return void res.end();
    };
    res.on('drain', pump);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, () => written);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('a body within the bound is read whole; one beyond it is refused without reading it all', async () => {
  await withServer(async (url, written) => {
    assert.deepEqual(await readJsonBounded(await fetch(`${url}/small`), 1024), { ok: true });
    await assert.rejects(readBodyBounded(await fetch(`${url}/declared`), 1024), BodyTooLargeError, 'a declared length beyond the bound is refused before reading');
    await assert.rejects(readBodyBounded(await fetch(`${url}/endless`), 4 << 20), (error: unknown) => error instanceof BodyTooLargeError && error.limit === 4 << 20);
    assert.ok(written() < 64 << 20, `the endless body was not read on (${written()} bytes written)`);
    await assert.rejects(readJsonBounded(new Response('not json'), 1024), SyntaxError);
  });
});
