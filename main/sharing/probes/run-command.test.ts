import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNumber, runCommand } from './run-command.js';

test('runCommand: output of a program that works', async () => {
  const result = await runCommand(process.execPath, ['-e', 'process.stdout.write("54")']);
  assert.deepEqual(result, { ok: true, stdout: '54' });
});

test('runCommand: a missing program is "missing", a failing one "failed", a slow one "timeout"', async () => {
  const missing = await runCommand('silkworm-no-such-program', []);
  assert.equal(missing.ok === false && missing.reason, 'missing');
  const failed = await runCommand(process.execPath, ['-e', 'process.exit(3)']);
  assert.equal(failed.ok === false && failed.reason, 'failed');
  const slow = await runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 300 });
  assert.equal(slow.ok === false && slow.reason, 'timeout');
});

test('parseNumber: numbers parse, tool placeholders are unknown', () => {
  assert.equal(parseNumber(' 123.45 '), 123.45);
  assert.equal(parseNumber('-3'), -3);
  for (const text of ['[N/A]', '[Not Supported]', 'N/A', '', 'unknown', undefined]) assert.equal(parseNumber(text), null);
});
