import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDashboard, type Dashboard } from './server.js';
import { createTestServices } from '../app/testing/fake-core.js';

const TOKEN = 'test-token-abcdef';

async function start(): Promise<{ dashboard: Dashboard; emit: ReturnType<typeof createTestServices> extends Promise<infer T> ? T : never }> {
  const staticDir = await mkdtemp(join(tmpdir(), 'silkworm-static-'));
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
