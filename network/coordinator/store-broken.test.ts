/**
 * A coordinator whose PostgreSQL store's thread stops (an error nothing caught there, or its
 * exit) says so at once: its log and `onStoreBroken` (the command line then exits 1, for a
 * supervisor to start it again), /healthz answers 503 so that a balancer takes this instance out,
 * requests that need the store get a 503 instead of hanging, and it still closes. Needs
 * `postgres` (skipped, with the reason, only where its binaries are missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { testPostgres } from '../node-kit/test-postgres.js';
import { createLogger } from './log.js';
import { startCoordinator } from './server.js';

const { skip, database } = testPostgres('a coordinator whose store thread stops');

test('the store thread stops: logged, onStoreBroken called once, /healthz 503, store calls refused at once, and the instance still closes', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-store-broken-'));
  const lines: { msg?: string; err?: string }[] = [];
  const logger = createLogger('c', { level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as { msg?: string; err?: string }) } });
  const broken: Error[] = [];
  const coordinator = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: dir, apiKeys: ['sk-b'], store: await database('broken'), onStoreBroken: (error) => void broken.push(error), logger });
  try {
    const health = async () => {
      const response = await fetch(`${coordinator.url}/healthz`);
      return { status: response.status, body: (await response.json()) as { ok: boolean; store?: string } };
    };
    assert.deepEqual(await health().then((h) => [h.status, h.body.ok, h.body.store]), [200, true, 'reachable']);
    await (coordinator.store as unknown as { worker: Worker }).worker.terminate();
    await coordinator.store.whenBroken;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(broken.length, 1);
    assert.match(broken[0]?.message ?? '', /thread stopped \(it exited with code 1\)/);
    assert.ok(lines.some((l) => l.msg === 'the store is broken: this instance can record nothing more, and must be restarted' && /thread stopped/.test(l.err ?? '')), 'said in the log');
    assert.deepEqual(await health().then((h) => [h.status, h.body.ok, h.body.store]), [503, false, 'broken']);
    const balance = await fetch(`${coordinator.url}/v1/balance`, { headers: { authorization: 'Bearer sk-b' } });
    assert.equal(balance.status, 503, 'a request that needs the store is told to come back, at once');
  } finally {
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  }
});
