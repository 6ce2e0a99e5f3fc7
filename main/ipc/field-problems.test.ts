// A refused form in the owner's words, each problem beside its field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { sharingPatchSchema } from './contract.js';
import { electricityInputSchema } from '../earnings/electricity.js';
import { fieldProblems } from './field-problems.js';

test('range and type problems name the field as the screen labels it, with its unit', () => {
  const parsed = z.strictObject({ patch: sharingPatchSchema }).safeParse({ patch: { maxGpuTempC: 150, idleThresholdMinutes: 'soon', polite: { maxVramMb: 100 } } });
  assert.equal(parsed.success, false);
  assert.deepEqual(fieldProblems(parsed.error?.issues ?? []), [
    { path: 'idleThresholdMinutes', message: 'Away after must be a number.' },
    { path: 'maxGpuTempC', message: 'Max GPU temperature can be at most 110 °C.' },
    { path: 'polite.maxVramMb', message: 'Polite VRAM must be at least 256 MB.' },
  ]);
});

test('messages written for people are kept; no schema notation ever reaches the owner', () => {
  const parsed = electricityInputSchema.safeParse({ pricePerKwh: 'abc', currency: 'EUR', tonPrice: '0', watts: null });
  const problems = fieldProblems(parsed.error?.issues ?? []);
  assert.deepEqual(problems.map((problem) => problem.path), ['pricePerKwh', 'tonPrice']);
  assert.match(problems[0]?.message ?? '', /^The price per kWh must be a number such as 0\.25/);
  for (const problem of problems) assert.doesNotMatch(problem.message, /✖|→|at patch|expected|received/);
});
