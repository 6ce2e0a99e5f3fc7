import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { startDashboard, type Dashboard } from './server.js';
import { createTestServices } from '../app/testing/fake-core.js';
import { testTempDir } from '../app/testing/temp-dir.js';

const TOKEN = 'test-token-abcdef';

async function start(): Promise<{ dashboard: Dashboard; emit: ReturnType<typeof createTestServices> extends Promise<infer T> ? T : never }> {
  const staticDir = await testTempDir('silkworm-static-');
  await mkdir(join(staticDir, 'assets'));
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>ok</title>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  const made = await createTestServices();
  const dashboard = await startDashboard({ services: made.services, token: TOKEN, staticDir });
  return { dashboard, emit: made };
}

/** A raw request (fetch cannot send a forged Host header). */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };

test('the API needs the token; the page does not, and carries a strict CSP and no CORS', async (t) => {
  const { dashboard } = await start();
  t.after(() => dashboard.close());
  assert.match(dashboard.tokenUrl, /^http:\/\/127\.0\.0\.1:\d+\/#token=test-token-abcdef$/);
  assert.equal((await raw(`${dashboard.url}/api/invoke/getState`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 401);
  assert.equal((await raw(`${dashboard.url}/api/invoke/getState`, { method: 'POST', headers: { ...json, authorization: 'Bearer wrong' }, body: '{}' })).status, 401);
  assert.equal((await raw(`${dashboard.url}/api/events`)).status, 401);
  const ok = await raw(`${dashboard.url}/api/invoke/getState`, { method: 'POST', headers: json, body: '{}' });
  assert.equal(ok.status, 200);
  assert.equal((JSON.parse(ok.body) as { ok: boolean }).ok, true);
  const page = await raw(`${dashboard.url}/`);
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
  assert.equal(page.headers['access-control-allow-origin'], undefined);
  const preflight = await raw(`${dashboard.url}/api/invoke/getState`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  assert.notEqual(preflight.status, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], undefined);
});

test('requests for another host name (DNS rebinding) and path traversal are refused', async (t) => {
  const { dashboard } = await start();
  t.after(() => dashboard.close());
  assert.equal((await raw(`${dashboard.url}/`, { headers: { host: 'evil.example' } })).status, 403);
  assert.equal((await raw(`${dashboard.url}/api/invoke/getState`, { method: 'POST', headers: { ...json, host: 'attacker.example:80' }, body: '{}' })).status, 403);
  assert.equal((await raw(`${dashboard.url}/..%2f..%2fetc%2fpasswd`)).status, 404);
  assert.equal((await raw(`${dashboard.url}/assets/app.js`)).headers['content-type'], 'text/javascript; charset=utf-8');
});

test('unknown verbs, bad JSON and oversized bodies get typed errors', async (t) => {
  const { dashboard } = await start();
  t.after(() => dashboard.close());
  const unknown = await raw(`${dashboard.url}/api/invoke/readFile`, { method: 'POST', headers: json, body: '{}' });
  assert.equal(unknown.status, 404);
  assert.equal((JSON.parse(unknown.body) as { error: { code: string } }).error.code, 'unknown-verb');
  assert.equal((await raw(`${dashboard.url}/api/invoke/getState`, { method: 'POST', headers: json, body: '{' })).status, 400);
  assert.equal((await raw(`${dashboard.url}/api/invoke/getState`, { method: 'POST', headers: json, body: 'x'.repeat(70_000) })).status, 413);
  assert.equal((await raw(`${dashboard.url}/api/invoke/getState`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' }, body: '{}' })).status, 415);
});

test('pushes arrive on the event stream', async (t) => {
  const { dashboard, emit } = await start();
  t.after(() => dashboard.close());
  const response = await fetch(`${dashboard.url}/api/events`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  await reader.read(); // ": connected"
  emit.fake.worker.emit('job-started', { jobId: 'job-9', model: 'm' });
  let text = '';
  while (!text.includes('event: state')) text += (await reader.read()).value ?? '';
  assert.match(text, /event: job\ndata: \{"phase":"started","job":\{"jobId":"job-9"/);
  await reader.cancel();
});

test('responses are compressed as the browser allows; assets once, at best quality', async (t) => {
  const staticDir = await testTempDir('silkworm-static-');
  await mkdir(join(staticDir, 'assets'));
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>ok</title>');
  const script = `export const words = ${JSON.stringify(Array.from({ length: 2000 }, (_, i) => `word-${i % 50}`))};`;
  await writeFile(join(staticDir, 'assets', 'big.js'), script);
  const { services } = await createTestServices();
  const dashboard = await startDashboard({ services, token: TOKEN, staticDir });
  t.after(() => dashboard.close());
  const fetchRaw = (path: string, encoding: string) =>
    new Promise<{ headers: Record<string, string | string[] | undefined>; bytes: Buffer }>((resolve, reject) => {
      request(`${dashboard.url}${path}`, { headers: { 'accept-encoding': encoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ headers: res.headers, bytes: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });
  const brotli = await fetchRaw('/assets/big.js', 'gzip, deflate, br');
  assert.equal(brotli.headers['content-encoding'], 'br');
  assert.equal(brotli.headers.vary, 'accept-encoding');
  assert.equal(brotliDecompressSync(brotli.bytes).toString(), script);
  assert.ok(brotli.bytes.length < script.length / 5, `compressed to ${brotli.bytes.length} of ${script.length} bytes`);
  const gzip = await fetchRaw('/assets/big.js', 'gzip');
  assert.equal(gzip.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gzip.bytes).toString(), script);
  const plain = await fetchRaw('/assets/big.js', 'identity');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.bytes.toString(), script);
  assert.equal((await fetchRaw('/index.html', 'br')).headers['content-encoding'], undefined, 'tiny files are sent as they are');
});

test('the event stream beats every second, so a page knows within 3 s that the worker is gone', async (t) => {
  const { dashboard } = await start();
  t.after(() => dashboard.close());
  const controller = new AbortController();
  const response = await fetch(`${dashboard.url}/api/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: controller.signal });
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const started = Date.now();
  while ((text.match(/event: heartbeat/g) ?? []).length < 2) text += (await reader?.read())?.value ?? '';
  controller.abort();
  assert.ok(Date.now() - started < 2_900, 'two beats within 3 s');
});
