import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogRing, parseLogLine } from './log-ring.js';

test('keeps the last lines, parsed, and passes every line on', () => {
  const passed: string[] = [];
  const ring = new LogRing(2);
  const destination = ring.tee({ write: (line: string) => passed.push(line) });
  destination.write(`${JSON.stringify({ level: 30, time: '2025-01-01T00:00:00.000Z', subsystem: 'worker', msg: 'one', pid: 1, jobId: 'j' })}\n`);
  destination.write(`${JSON.stringify({ level: 50, time: 1735689600000, msg: 'two' })}\n${JSON.stringify({ level: 40, msg: 'three' })}\n`);
  assert.equal(passed.length, 2);
  assert.deepEqual(ring.entries().map((entry) => [entry.level, entry.msg]), [['error', 'two'], ['warn', 'three']]);
  assert.equal(parseLogLine('{"level":30,"msg":"x","jobId":"j","pid":3}').fields, '{"jobId":"j"}');
  assert.equal(parseLogLine('plain text').msg, 'plain text');
});
