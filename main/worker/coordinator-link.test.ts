/** The worker finds the coordinator's WebSocket endpoint from whatever URL the owner typed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coordinatorUrls, workerSocketUrl } from './coordinator-link.js';
import { defaultThreads } from '../engine/threads.js';

test('http, https, ws and wss URLs all lead to the worker socket', () => {
  assert.equal(workerSocketUrl('http://127.0.0.1:8787'), 'ws://127.0.0.1:8787/v1/worker');
  assert.equal(workerSocketUrl('https://coord.example/'), 'wss://coord.example/v1/worker');
  assert.equal(workerSocketUrl('ws://h:1/custom/path'), 'ws://h:1/custom/path');
  assert.throws(() => workerSocketUrl('ftp://h'), /must start with http/);
  assert.throws(() => workerSocketUrl('not a url'));
});

test('several coordinator instances: repeated options and comma-separated lists', () => {
  assert.deepEqual(coordinatorUrls('http://a:1, http://b:2,,'), ['http://a:1', 'http://b:2']);
  assert.deepEqual(coordinatorUrls(['http://a:1', 'http://b:2,http://c:3']), ['http://a:1', 'http://b:2', 'http://c:3']);
  assert.throws(() => coordinatorUrls([' ', '']), /No coordinator URL/);
});

test('engine threads: half the cores, at least one (never llama.cpp’s max(4, cores))', () => {
  assert.equal(defaultThreads(1), 1);
  assert.equal(defaultThreads(2), 1);
  assert.equal(defaultThreads(16), 8);
});
