/** The shared Polite pace, on a scripted clock: the cap holds for the sum of all jobs. */
import { test } from 'node:test';
import { getEventListeners } from 'node:events';
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

test('each wait takes its abort listener with it: a long paced job waits many times on one signal', async () => {
  const pace = new TokenPace(() => 0); // the clock stands still: each wait is 1 ms longer than the last
  const job = new AbortController();
  for (let i = 0; i < 12; i++) {
    const waited = pace.take(1, 1000, job.signal);
    assert.equal(getEventListeners(job.signal, 'abort').length, 1, 'listening while it waits');
    await waited;
  }
  assert.equal(getEventListeners(job.signal, 'abort').length, 0);
  const last = pace.take(1, 1, job.signal); // a second's wait, cut short
  job.abort();
  await last;
  assert.equal(getEventListeners(job.signal, 'abort').length, 0);
});
