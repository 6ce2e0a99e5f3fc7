import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contract, isPushName, isVerbName, PUSH_NAMES, sharingPatchSchema, VERB_NAMES } from './contract.js';

test('the names list and the table hold exactly the same verbs and pushes', () => {
  assert.deepEqual(Object.keys(contract.verbs), [...VERB_NAMES]);
  assert.deepEqual(Object.keys(contract.pushes), [...PUSH_NAMES]);
  assert.equal(isVerbName('__proto__'), false);
  assert.equal(isVerbName('getState'), true);
  assert.equal(isPushName('toString'), false);
});

test('a sharing patch never fills in defaults for fields it leaves out', () => {
  assert.deepEqual(sharingPatchSchema.parse({ idleThresholdMinutes: 3, polite: { maxVramMb: 1024 } }), { idleThresholdMinutes: 3, polite: { maxVramMb: 1024 } });
  assert.equal(sharingPatchSchema.safeParse({ polite: { unknownCap: 1 } }).success, false);
  assert.equal(sharingPatchSchema.safeParse({ mode: 'sometimes' }).success, false);
});
