/** The batched-sampling guard: after each decode, the first sample runs alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gateFirstSample, guardBatchedSampling, type NativeContext } from './sample-gate.js';
import type { LlamaContext } from 'node-llama-cpp';

/** A native context whose samples finish only when the test says so; records start order. */
function fakeNative() {
  const started: number[] = [];
  const finish = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  class Native {
    decodeBatch(): Promise<void> {
      return Promise.resolve();
    }
    sampleToken(...args: unknown[]): Promise<unknown> {
      const index = args[0] as number;
      started.push(index);
      return new Promise((resolve, reject) => finish.set(index, { resolve, reject }));
    }
  }
  // As in the addon: the methods are read-only on the prototype.
  for (const key of ['decodeBatch', 'sampleToken'] as const) Object.defineProperty(Native.prototype, key, { writable: false });
  return { native: new Native() as NativeContext, started, finish };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('after a decode the first sample runs alone; the rest start together once it is done', async () => {
  const { native, started, finish } = fakeNative();
  gateFirstSample(native);
  await native.decodeBatch();
  const results = [0, 1, 2].map((i) => native.sampleToken(i));
  await tick();
  assert.deepEqual(started, [0]);
  finish.get(0)?.resolve('a');
  await tick();
  assert.deepEqual(started, [0, 1, 2]);
  finish.get(2)?.resolve('c');
  finish.get(1)?.resolve('b');
  assert.deepEqual(await Promise.all(results), ['a', 'b', 'c']);
});

test('every decode gates its own first sample again', async () => {
  const { native, started, finish } = fakeNative();
  gateFirstSample(native);
  for (const base of [0, 10]) {
    await native.decodeBatch();
    const results = [base, base + 1].map((i) => native.sampleToken(i));
    await tick();
    assert.deepEqual(started.slice(-1), [base]);
    finish.get(base)?.resolve(base);
    await tick();
    finish.get(base + 1)?.resolve(base + 1);
    assert.deepEqual(await Promise.all(results), [base, base + 1]);
  }
  assert.deepEqual(started, [0, 1, 10, 11]);
});

test('a failed first sample rejects its own caller and does not hold the others back', async () => {
  const { native, started, finish } = fakeNative();
  gateFirstSample(native);
  await native.decodeBatch();
  const failing = native.sampleToken(0);
  const other = native.sampleToken(1);
  finish.get(0)?.reject(new Error('no'));
  await assert.rejects(failing, /no/);
  await tick();
  assert.deepEqual(started, [0, 1]);
  finish.get(1)?.resolve('ok');
  assert.equal(await other, 'ok');
});

test('a context without the expected internals is refused, not left unguarded', () => {
  assert.throws(() => guardBatchedSampling({} as LlamaContext), /Cannot guard batched sampling/);
});
