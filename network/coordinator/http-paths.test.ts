/**
 * Malformed percent-encoding in a path is bad input: a 4xx in OpenAI's error shape, never a 500
 * (decodeURIComponent throws on it). One case per route that decodes a part of its path.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from './server.js';
import { createLogger } from './log.js';

const BAD = '%E0%A4%A';
let dir = '';
let coordinator: Coordinator;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'silkworm-paths-'));
  coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: dir, apiKeys: ['sk-test'], adminKey: 'admin', logger: createLogger('c', { level: 'silent' }) });
});
after(async () => {
  await coordinator.close();
  await rm(dir, { recursive: true, force: true });
});

test('a path part with malformed percent-encoding gets a clear 4xx on every route that decodes one', async () => {
  const cases: [method: string, path: string, key: string, status: number][] = [
    ['GET', `/v1/models/${BAD}`, 'sk-test', 404],
    ['GET', `/v1/vocab/${BAD}`, 'sk-test', 404],
    ['POST', `/v1/sealed/jobs/${BAD}/receipt`, 'sk-test', 404],
    ['GET', `/v1/files/${BAD}`, 'sk-test', 400],
    ['DELETE', `/v1/admin/receipt-pauses/${BAD}`, 'admin', 400],
    ['POST', `/v1/admin/instances/${BAD}/retire`, 'admin', 400],
    ['GET', `/v1/admin/workers/${BAD}`, 'admin', 400],
    ['POST', `/v1/admin/workers/${BAD}/reinstate`, 'admin', 400],
  ];
  for (const [method, path, key, status] of cases) {
    const res = await fetch(`${coordinator.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
    assert.equal(res.status, status, `${method} ${path}`);
    const body = (await res.json()) as { error?: { message?: string } };
    assert.ok(body.error?.message, `${method} ${path} says why`);
  }
  assert.equal((await fetch(`${coordinator.url}/healthz`)).status, 200);
});

test('the receipt-pause endpoints are the operator’s: a client key gets 401', async () => {
  for (const method of ['GET', 'DELETE']) {
    const res = await fetch(`${coordinator.url}/v1/admin/receipt-pauses${method === 'DELETE' ? '/client-x' : ''}`, { method, headers: { authorization: 'Bearer sk-test' } });
    assert.equal(res.status, 401, method);
  }
  const listed = await fetch(`${coordinator.url}/v1/admin/receipt-pauses`, { headers: { authorization: 'Bearer admin' } });
  assert.deepEqual(await listed.json(), { object: 'list', data: [] });
});

test('one coordinator on SQLite lists no other instance, and has none to retire', async () => {
  const listed = await fetch(`${coordinator.url}/v1/admin/instances`, { headers: { authorization: 'Bearer admin' } });
  assert.deepEqual(await listed.json(), { object: 'list', self: coordinator.id, shared: false, data: [] });
  const retire = await fetch(`${coordinator.url}/v1/admin/instances/other/retire`, { method: 'POST', headers: { authorization: 'Bearer admin' } });
  assert.equal(retire.status, 400);
  assert.match(((await retire.json()) as { error: { message: string } }).error.message, /SQLite, alone/);
  assert.equal((await fetch(`${coordinator.url}/v1/admin/instances`, { headers: { authorization: 'Bearer sk-test' } })).status, 401, 'the operator’s, not a client’s');
});

test('the worker endpoints are the operator’s, and say plainly what they do not know', async () => {
  assert.equal((await fetch(`${coordinator.url}/v1/admin/workers/w-1`, { headers: { authorization: 'Bearer sk-test' } })).status, 401, 'the operator’s, not a client’s');
  const unknown = await fetch(`${coordinator.url}/v1/admin/workers/w-1`, { headers: { authorization: 'Bearer admin' } });
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'unknown_worker');
  const reinstate = await fetch(`${coordinator.url}/v1/admin/workers/w-1/reinstate`, { method: 'POST', headers: { authorization: 'Bearer admin' } });
  assert.equal(reinstate.status, 404);
  assert.equal((await fetch(`${coordinator.url}/v1/admin/workers/w-1/other`, { method: 'POST', headers: { authorization: 'Bearer admin' } })).status, 404);
});
