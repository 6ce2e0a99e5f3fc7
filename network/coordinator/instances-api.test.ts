/**
 * When the operator may retire an instance: only another one, that the bus does not hear, that
 * left checkpoints, and that has written none for the quiet period. The store's answer is given
 * here; the whole path against real PostgreSQL is in e2e/coordinator-crash.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { handleRetireInstance, type InstancesContext } from './instances-api.js';
import { createLogger } from './log.js';
import type { Billing } from './billing.js';
import type { CoordinatorStore, InstanceWork } from './store.js';

function response() {
  const sent: { status: number; body: { error?: { code: string }; settled?: number } } = { status: 0, body: {} };
  const res = {
    writeHead(status: number) {
      sent.status = status;
      return res;
    },
    setHeader() {},
    end(text: string) {
      sent.body = JSON.parse(text) as typeof sent.body;
    },
  };
  return { res: res as unknown as ServerResponse, sent };
}

const now = Date.now();
const work = (instance: string, checkpoints: number, lastCheckpointAt: number | null): InstanceWork => ({ instance, checkpoints, lastCheckpointAt, holds: 1, holdsExpireAt: now + 60_000 });

function context(over: Partial<InstancesContext> = {}) {
  const retired: string[] = [];
  const ctx: InstancesContext = {
    self: 'me',
    shared: true,
    peers: () => ['peer'],
    store: { instanceWork: () => [work('quiet', 2, now - 120_000), work('fresh', 1, now - 3_000), work('holds-only', 0, null)] } as unknown as CoordinatorStore,
    billing: { retireInstance: (id: string) => (retired.push(id), Promise.resolve({ settled: 2, refused: [], unreadable: [] })) } as unknown as Billing,
    logger: createLogger('test', { level: 'silent' }),
    quietMs: 60_000,
    ...over,
  };
  return { ctx, retired };
}

test('an instance is retired only when nothing says it still runs', async () => {
  const cases: [id: string, status: number, code?: string][] = [
    ['me', 409, 'instance_running'],
    ['peer', 409, 'instance_running'],
    ['fresh', 409, 'instance_running'],
    ['holds-only', 404, 'unknown_instance'],
    ['nobody', 404, 'unknown_instance'],
    ['%E0%A4%A', 400, 'invalid_request'],
    ['quiet', 200],
  ];
  for (const [id, status, code] of cases) {
    const { ctx, retired } = context();
    const { res, sent } = response();
    await handleRetireInstance(res, ctx, id);
    assert.equal(sent.status, status, id);
    assert.equal(sent.body.error?.code, code, id);
    assert.deepEqual(retired, status === 200 ? [id] : [], `${id}: billed only when allowed`);
  }
});

test('on SQLite there is no other instance: refused before the store is asked', async () => {
  const { ctx, retired } = context({ shared: false });
  const { res, sent } = response();
  await handleRetireInstance(res, ctx, 'quiet');
  assert.equal(sent.status, 400);
  assert.deepEqual(retired, []);
});
