/** The registry's model index: what contextFor answers, and what it costs in a large fleet. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { WorkerRegistry, type RegisteredWorker } from './worker-registry.js';
import type { Tier } from '../protocol/worker-frames.js';

interface FakeOptions {
  contexts: Record<string, number>;
  available?: boolean;
  tier?: Tier;
  priceCoefficient?: number;
  reputation?: number;
}

/** A worker as the registry sees one; `reads` counts how often routing looked at it. */
class FakeRegistered extends EventEmitter implements Partial<RegisteredWorker> {
  readonly instance = undefined;
  models: Set<string>;
  contextSizes: Map<string, number>;
  available: boolean;
  tier: Tier;
  priceCoefficient: number;
  running = 0;
  maxConcurrentJobs = 1;
  lastAssignedAt = 0;
  ttftMs = 0;
  tokensPerSecond = 0;
  reads = 0;
  private readonly standing: number;

  constructor(
    readonly id: string,
    options: FakeOptions,
  ) {
    super();
    this.models = new Set(Object.keys(options.contexts));
    this.contextSizes = new Map(Object.entries(options.contexts));
    this.available = options.available ?? true;
    this.tier = options.tier ?? 'unsandboxed';
    this.priceCoefficient = options.priceCoefficient ?? 1;
    this.standing = options.reputation ?? 1;
  }

  get reputation(): number {
    this.reads++;
    return this.standing;
  }

  close(): void {
    this.emit('closed', 'closed by test');
  }
}

function join(registry: WorkerRegistry, id: string, options: FakeOptions): FakeRegistered {
  const worker = new FakeRegistered(id, options);
  registry.add(worker as unknown as RegisteredWorker);
  return worker;
}

test('contextFor: the largest context among workers that could take the job, sharing ones first', () => {
  const registry = new WorkerRegistry();
  assert.equal(registry.contextFor('m', 'unsandboxed', 1), undefined, 'no worker offers the model');
  join(registry, 'small', { contexts: { m: 2048 } });
  join(registry, 'paused-large', { contexts: { m: 32768 }, available: false });
  join(registry, 'ejected-larger', { contexts: { m: 65536 }, reputation: 0 });
  join(registry, 'pricey', { contexts: { m: 16384 }, priceCoefficient: 2 });
  join(registry, 'sandboxed', { contexts: { m: 8192, other: 4096 }, tier: 'sandboxed' });
  assert.equal(registry.contextFor('m', 'unsandboxed', 1), 8192, 'sharing, in standing, within the cap');
  assert.equal(registry.contextFor('m', 'unsandboxed', 2), 16384, 'a higher cap admits the pricier worker');
  assert.equal(registry.contextFor('m', 'sandboxed', 1), 8192, 'only the sandboxed worker meets the tier');
  assert.equal(registry.contextFor('m', 'tee', 1), undefined, 'nobody meets the tee tier');
  assert.equal(registry.contextFor('other', 'unsandboxed', 1), 4096);
});

test('contextFor falls back to workers not sharing now, and follows workers joining, leaving and re-announcing', () => {
  const registry = new WorkerRegistry();
  const paused = join(registry, 'paused', { contexts: { m: 4096 }, available: false });
  assert.equal(registry.contextFor('m', 'unsandboxed', 1), 4096, 'only a paused worker: its context still admits the job');
  const big = join(registry, 'big', { contexts: { m: 8192 } });
  assert.equal(registry.contextFor('m', 'unsandboxed', 1), 8192, 'a join clears the cached answer');
  big.close();
  assert.equal(registry.contextFor('m', 'unsandboxed', 1), 4096, 'a worker that left no longer counts');
  paused.contextSizes.set('m', 1024);
  registry.reindex(paused as unknown as RegisteredWorker);
  assert.equal(registry.contextFor('m', 'unsandboxed', 1), 1024, 'a re-announced context replaces the old one');
  paused.models.delete('m');
  registry.reindex(paused as unknown as RegisteredWorker);
  assert.equal(registry.contextFor('m', 'unsandboxed', 1), undefined);
});

test('contextFor in a fleet of 10,000 sharing workers looks at a handful, not all', () => {
  const registry = new WorkerRegistry();
  const fleet = Array.from({ length: 10_000 }, (_, i) => join(registry, `w${i}`, { contexts: { m: i % 2 === 0 ? 2048 : 4096 } }));
  const reads = () => fleet.reduce((n, w) => n + w.reads, 0);
  const before = reads();
  assert.equal(registry.contextFor('m', 'unsandboxed', 1), 4096);
  const looked = reads() - before;
  assert.ok(looked <= 10, `looked at ${looked} workers`);
  // With most of the fleet paused it walks further, and still answers right.
  for (const w of fleet) w.available = w.id === 'w9998';
  registry.reindex(fleet[0] as unknown as RegisteredWorker);
  assert.equal(registry.contextFor('m', 'unsandboxed', 1), 2048, 'the only sharing worker has 2048');
});
