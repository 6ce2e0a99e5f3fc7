/**
 * Browser pages and the coordinator's API: no CORS header unless the operator names an origin
 * (`--cors-origin`); a named origin gets its own origin back (never `*`), a preflight naming what
 * the OpenAI SDKs send, and Silkworm's answer headers; any other origin gets nothing it can use.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from './server.js';
import { createLogger } from './log.js';
import { normalizeOrigin, parseCorsOrigins } from '../node-kit/cors.js';

const APP = 'https://app.example';
const silent = createLogger('coordinator', { level: 'silent' });

/** A preflight as a browser sends it before a page's POST with the openai client. */
function preflight(url: string, origin: string, headers = 'authorization,content-type,x-stainless-os') {
  return fetch(`${url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers } });
}

describe('CORS on the coordinator', () => {
  let dir = '';
  let closed: Coordinator;
  let open: Coordinator;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'silkworm-cors-'));
    closed = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'closed'), apiKeys: ['sk-test'], logger: silent });
    open = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: join(dir, 'open'), apiKeys: ['sk-test'], corsOrigins: parseCorsOrigins([`${APP}/`]), logger: silent });
  });
  after(async () => {
    await closed.close();
    await open.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('off by default: no CORS header on answers or preflights, whatever the origin', async () => {
    const models = await fetch(`${closed.url}/v1/models`, { headers: { origin: APP, authorization: 'Bearer sk-test' } });
    assert.equal(models.status, 200);
    assert.equal(models.headers.get('access-control-allow-origin'), null);
    const options = await preflight(closed.url, APP);
    assert.notEqual(options.status, 204);
    assert.equal(options.headers.get('access-control-allow-origin'), null);
    assert.equal(options.headers.get('access-control-allow-methods'), null);
  });

  test('a named origin: the preflight allows its method and headers, answers name it and expose Silkworm’s headers', async () => {
    const options = await preflight(open.url, APP);
    assert.equal(options.status, 204);
    assert.equal(options.headers.get('access-control-allow-origin'), APP);
    assert.match(options.headers.get('access-control-allow-methods') ?? '', /\bPOST\b/);
    assert.equal(options.headers.get('access-control-allow-headers'), 'authorization, content-type, x-stainless-os');
    const models = await fetch(`${open.url}/v1/models`, { headers: { origin: APP, authorization: 'Bearer sk-test' } });
    assert.equal(models.status, 200);
    assert.equal(models.headers.get('access-control-allow-origin'), APP);
    assert.match(models.headers.get('access-control-expose-headers') ?? '', /x-silkworm-confidentiality/);
    assert.match(models.headers.get('vary') ?? '', /Origin/);
    // The API key still applies: CORS lets a page read the answer, not skip authentication.
    const anonymous = await fetch(`${open.url}/v1/models`, { headers: { origin: APP } });
    assert.equal(anonymous.status, 401);
  });

  test('any other origin: its preflight is refused in OpenAI’s error shape, and its answers carry no CORS header', async () => {
    const options = await preflight(open.url, 'https://evil.example');
    assert.equal(options.status, 403);
    assert.equal(options.headers.get('access-control-allow-origin'), null);
    const body = (await options.json()) as { error: { code: string; message: string; type: string } };
    assert.equal(body.error.code, 'forbidden_origin');
    assert.match(body.error.message, /evil\.example/);
    const models = await fetch(`${open.url}/v1/models`, { headers: { origin: 'https://evil.example', authorization: 'Bearer sk-test' } });
    assert.equal(models.headers.get('access-control-allow-origin'), null);
    assert.match(models.headers.get('vary') ?? '', /Origin/, 'a cache must not hand this answer to the allowed origin, or back');
    const header = await preflight(open.url, APP, 'authorization,cookie');
    assert.equal(header.status, 403);
    assert.match(((await header.json()) as { error: { message: string } }).error.message, /'cookie'/);
  });
});

test('--cors-origin takes web origins only, normalized as browsers send them', () => {
  assert.deepEqual(parseCorsOrigins(['https://App.Example:443/', 'http://localhost:5173']), ['https://app.example', 'http://localhost:5173']);
  assert.throws(() => parseCorsOrigins(['https://app.example/path']), /--cors-origin 'https:\/\/app\.example\/path' is not a web origin/);
  assert.throws(() => parseCorsOrigins(['*']), /is not a web origin/);
  assert.equal(normalizeOrigin('file:///index.html'), undefined);
  assert.equal(normalizeOrigin('https://user@app.example'), undefined);
});
