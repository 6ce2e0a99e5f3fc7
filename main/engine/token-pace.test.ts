/** The shared Polite pace, on a scripted clock: the cap holds for the sum of all jobs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenPace } from './token-pace.js';

const never = new AbortController().signal;

test('one job generating faster than the cap waits out the rest of each slice, from its start', () => {
  let now = 1000;
  const pace = new TokenPace(() => now);
  pace.begin();
  now += 100; // 5 tokens in 100 ms; at 10 tok/s they are worth 500 ms
  void pace.take(5, 10, never);
  assert.equal(pace.backlogMs, 400);
  now += 500; // waited 400, then 5 more tokens in 100 ms
  void pace.take(5, 10, never);
  assert.equal(pace.backlogMs, 400);
});

test('a slice slower than the cap waits nothing, and the idle time is not banked', () => {
  let now = 0;
  const pace = new TokenPace(() => now);
  now = 10_000;
  void pace.take(5, 10, never);
  assert.equal(pace.backlogMs, 0);
  now += 100;
  void pace.take(5, 10, never);
  assert.equal(pace.backlogMs, 400);
});

test('four jobs share one cap: their tokens add up in one backlog', () => {
  let now = 0;
  const pace = new TokenPace(() => now);
  for (let job = 0; job < 4; job++) pace.begin();
  now = 100;
  for (let job = 0; job < 4; job++) void pace.take(5, 10, never);
  // 20 tokens at 10 tok/s are 2 s from the start, 0.1 s of which have passed.
  assert.equal(pace.backlogMs, 1900);
});

test('an abort ends the wait at once', async () => {
  const pace = new TokenPace();
  const abort = new AbortController();
  const waiting = pace.take(1000, 1, abort.signal);
  abort.abort();
  await waiting;
  assert.ok(pace.backlogMs > 0);
});
