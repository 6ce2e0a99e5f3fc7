/** Metering reads like its table: billed = min(claim, the coordinator's figure), prompt once, disputes above tolerance. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beyondTolerance, meterJob, promptAttempt, type AttemptObservation } from './metering.js';

function attempt(over: Partial<AttemptObservation> = {}): AttemptObservation {
  return { workerId: 'w', payoutAddress: undefined, coefficient: 1, accepted: true, streamed: true, completionFigure: 10, completionExact: true, completionClaim: 10, promptClaim: 20, ...over };
}

test('an honest worker is billed exactly what it claimed and the coordinator counted', () => {
  const result = meterJob({ attempts: [attempt()], promptFigure: 20, promptExact: true });
  assert.deepEqual(result.parts, [{ workerId: 'w', payoutAddress: undefined, coefficient: 1, usage: { promptTokens: 20, completionTokens: 10 } }]);
  assert.deepEqual(result.disputes, []);
});

test('an inflated job.done is cut to the count, recorded as a dispute with both figures', () => {
  const result = meterJob({ attempts: [attempt({ completionClaim: 100_000_000, promptClaim: 1_000_000 })], promptFigure: 20, promptExact: true });
  assert.deepEqual(result.parts[0]?.usage, { promptTokens: 20, completionTokens: 10 });
  assert.deepEqual(result.parts[0]?.claimed, { promptTokens: 1_000_000, completionTokens: 100_000_000 });
  assert.deepEqual(result.disputes.map((d) => d.kind).sort(), ['completion_over_count', 'prompt_over_count']);
});

test('a claim below the figure lowers the bill; a small gap is honest re-tokenization, not a dispute', () => {
  assert.equal(meterJob({ attempts: [attempt({ completionClaim: 7 })], promptFigure: 20, promptExact: true }).parts[0]?.usage.completionTokens, 7);
  const close = meterJob({ attempts: [attempt({ completionClaim: 12 })], promptFigure: 20, promptExact: true });
  assert.equal(close.parts[0]?.usage.completionTokens, 10);
  assert.deepEqual(close.disputes, []);
  assert.equal(beyondTolerance(12, 10, true), false);
  assert.equal(beyondTolerance(14, 10, true), true);
  assert.equal(beyondTolerance(11, 10, false), true, 'a size bound is a hard bound');
});

test('the prompt is billed once, to the first attempt that streamed; continued attempts pay no prompt again', () => {
  const first = attempt({ workerId: 'a', completionFigure: 5, completionClaim: 5, promptClaim: undefined });
  const second = attempt({ workerId: 'b', completionFigure: 6, completionClaim: 6, promptClaim: undefined });
  const result = meterJob({ attempts: [first, second], promptFigure: 20, promptExact: true });
  assert.deepEqual(result.parts.map((p) => [p.workerId, p.usage.promptTokens, p.usage.completionTokens]), [['a', 20, 5], ['b', 0, 6]]);
});

test('an attempt that accepted but never streamed is billed the prompt only when no other streamed', () => {
  const silent = attempt({ workerId: 'a', streamed: false, completionFigure: 0, completionClaim: 0, promptClaim: undefined });
  assert.equal(promptAttempt([silent]), 0);
  assert.deepEqual(meterJob({ attempts: [silent], promptFigure: 20, promptExact: true }).parts.map((p) => p.usage), [{ promptTokens: 20, completionTokens: 0 }]);
  assert.equal(promptAttempt([silent, attempt({ workerId: 'b' })]), 1);
  assert.equal(promptAttempt([attempt({ accepted: false, streamed: false })]), -1, 'no worker started: nothing billed');
  assert.deepEqual(meterJob({ attempts: [attempt({ accepted: false, streamed: false, completionFigure: 0, completionClaim: 0 })], promptFigure: 20, promptExact: true }).parts, []);
});

test('chunk token claims followed by a loss are still cut to the coordinator’s count', () => {
  const lost = attempt({ completionFigure: 3, completionClaim: 5_000, promptClaim: undefined });
  const result = meterJob({ attempts: [lost], promptFigure: 20, promptExact: true });
  assert.equal(result.parts[0]?.usage.completionTokens, 3);
  assert.equal(result.disputes[0]?.kind, 'completion_over_count');
});

test('a sealed job is capped by the client’s signed receipt as well', () => {
  const sealed = attempt({ completionFigure: 50, completionExact: false, completionClaim: 40, promptClaim: 30 });
  const result = meterJob({ attempts: [sealed], promptFigure: 200, promptExact: false, clientReceipt: { promptTokens: 25, completionTokens: 38 } });
  assert.deepEqual(result.parts[0]?.usage, { promptTokens: 25, completionTokens: 38 });
  assert.equal(result.disputes[0]?.kind, 'over_client_receipt');
});

test('a claim above the client’s receipt is a dispute only beyond the tolerance; the receipt caps the bill either way', () => {
  const sealed = (claim: number) => attempt({ completionFigure: 500, completionExact: false, completionClaim: claim, promptClaim: 10 });
  const receipt = { promptTokens: 10, completionTokens: 100 };
  const within = meterJob({ attempts: [sealed(112)], promptFigure: 200, promptExact: false, clientReceipt: receipt });
  assert.deepEqual(within.parts[0]?.usage, { promptTokens: 10, completionTokens: 100 });
  assert.deepEqual(within.disputes, [], 'a tokenizer may merge what the engine generated: 10 % + 2 is honest');
  const beyond = meterJob({ attempts: [sealed(113)], promptFigure: 200, promptExact: false, clientReceipt: receipt });
  assert.deepEqual(beyond.parts[0]?.usage, { promptTokens: 10, completionTokens: 100 });
  assert.deepEqual(beyond.disputes.map((d) => [d.kind, d.claimed, d.counted]), [['over_client_receipt', 113, 100]]);
  const zero = meterJob({ attempts: [sealed(100)], promptFigure: 200, promptExact: false, clientReceipt: { promptTokens: 0, completionTokens: 0 } });
  assert.deepEqual(zero.parts, [], 'a receipt of nothing bills nothing (client-receipts.ts bounds how often)');
  assert.equal(zero.disputes[0]?.kind, 'over_client_receipt');
});
