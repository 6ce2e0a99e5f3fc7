// The credit the crash test writes for a job id "r<run>-<index>": deterministic, so the test can
// check every acknowledged amount to the nanoton. Amounts are ~2^46, so the totals pass 2^53 (a float would lose nanotons).
/** @param {string} id */
export function creditFor(id) {
  const [run, index] = id.slice(1).split('-').map(Number);
  return {
    jobId: id,
    model: `model-${run % 3}`,
    finishedAt: Date.UTC(2026, 0, 1) + run * 3_600_000 + index,
    durationMs: 10,
    promptTokens: 3,
    completionTokens: 5,
    earnedNanotons: (1n << 46n) + BigInt(run) * 1_000_003n + BigInt(index),
  };
}
