/** The job queue: jobs wait for a free worker, and a freed slot does not re-score the fleet for every waiting job. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobManager, type JobSpec, type JobSink, type SpotCheck } from './job-manager.js';
import { WorkerRegistry, type RegisteredWorker } from './worker-registry.js';
import { WorkerStanding } from './worker-standing.js';
import { openSqliteStore } from './sqlite-store.js';
import { createMetrics } from './metrics.js';
import { createLogger } from './log.js';
import { Billing } from './billing.js';
import type { CoordinatorStore } from './store.js';
import { sealedJobSpec } from './sealed-api.js';
import { SEALED_SUITE, SEALED_VERSION } from '../protocol/sealed.js';
import type { CoordinatorFrame, Tier } from '../protocol/worker-frames.js';

/** A connected worker as the job manager sees one; it records what it is sent, and counts routing's looks. */
class QueueWorker extends EventEmitter {
  readonly instance = undefined;
  readonly models = new Set(['m']);
  readonly contextSizes = new Map([['m', 4096]]);
  identityKey = '';
  payoutAddress = undefined;
  descriptor = undefined;
  running = 1;
  maxConcurrentJobs = 1;
  lastAssignedAt = 0;
  priceCoefficient = 1;
  reputation = 0.9;
  ttftMs = 100;
  tokensPerSecond = 50;
  readonly offers: string[] = [];

  constructor(
    readonly id: string,
    readonly tier: Tier,
    private readonly looks: { count: number },
  ) {
    super();
  }

  get available(): boolean {
    this.looks.count++;
    return true;
  }

  send(frame: CoordinatorFrame): boolean {
    if (frame.type === 'job.offer' || frame.type === 'job.sealed_offer') this.offers.push(frame.jobId);
    return true;
  }

  close(): void {}
  applyRecord(): void {}

  /** Its job ended: the slot is free again. */
  free(): void {
    this.running = 0;
    this.emit('capacity');
  }
}

const spec = (minTier: Tier): JobSpec => ({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  params: { maxTokens: 16, temperature: 0 },
  minTier,
  timeoutMs: 60_000,
  maxCoefficient: 1,
  prompt: { figure: 4, exact: false },
  contextNeeded: 100,
});

const sink: JobSink = { onChunk() {}, onDone() {}, onError() {} };

async function withJobs(run: (jobs: JobManager, registry: WorkerRegistry) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-queue-'));
  const store = openSqliteStore(dir);
  const registry = new WorkerRegistry();
  const logger = createLogger('coordinator', { level: 'silent' });
  const jobs = new JobManager({ registry, logger, metrics: createMetrics(), standing: new WorkerStanding(store, registry, logger) });
  try {
    await run(jobs, registry);
  } finally {
    jobs.shutdown();
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A JobManager that bills on a real SQLite store, with a funded client. */
async function withBilledJobs(run: (t: { jobs: JobManager; registry: WorkerRegistry; store: CoordinatorStore; billing: Billing }) => Promise<void>, options: { spotCheck?: SpotCheck; spotCheckWaitMs?: number } = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-billed-'));
  const store = openSqliteStore(dir);
  const registry = new WorkerRegistry();
  const logger = createLogger('coordinator', { level: 'silent' });
  const billing = new Billing({ store });
  store.deposit('client', 1_000_000_000_000n, 'd');
  const jobs = new JobManager({ registry, logger, metrics: createMetrics(), standing: new WorkerStanding(store, registry, logger), billing, ...options });
  try {
    await run({ jobs, registry, store, billing });
  } finally {
    jobs.shutdown();
    await jobs.settled();
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Holds the worst case of a job as the HTTP side does before submitting it; returns its id. */
function hold(store: CoordinatorStore, billing: Billing, job: JobSpec, jobId: string, expiresAt = Date.now() + 60_000): string {
  assert.equal(store.reserve('client', jobId, billing.worstCase(job.model, job.prompt.figure, job.params.maxTokens, job.maxCoefficient, 4), expiresAt), 'held');
  return jobId;
}

test('with every worker busy, a freed slot goes to the first waiting job after one look over the fleet, not one per waiting job', async () => {
  await withJobs(async (jobs, registry) => {
    const looks = { count: 0 };
    const fleet = Array.from({ length: 1000 }, (_, i) => new QueueWorker(`w${i}`, 'unsandboxed', looks));
    for (const w of fleet) registry.add(w as unknown as RegisteredWorker);
    const waiting = Array.from({ length: 300 }, () => jobs.submit(spec('unsandboxed'), sink));
    assert.equal(fleet.reduce((n, w) => n + w.offers.length, 0), 0, 'every worker is busy: all 300 jobs wait');
    await new Promise((resolve) => setImmediate(resolve));

    looks.count = 0;
    const freed = fleet[500] as QueueWorker;
    freed.free();
    assert.deepEqual(freed.offers, [waiting[0]?.id], 'the first job in the queue gets the freed slot');
    assert.equal(fleet.reduce((n, w) => n + w.offers.length, 0), 1);
    // Two looks over the fleet (the first job finds the free worker, the second finds none);
    // the other 298 ask no less than that one and are queued again without looking.
    assert.ok(looks.count <= 3 * fleet.length, `routing looked at workers ${looks.count} times for one freed slot`);

    fleet[7]?.free();
    assert.deepEqual(fleet[7]?.offers, [waiting[1]?.id], 'the next freed slot goes to the next job in line');
  });
});

test('a job that asks less than one that found no free worker still gets the freed worker', async () => {
  await withJobs((jobs, registry) => {
    const looks = { count: 0 };
    const tee = new QueueWorker('tee', 'tee', looks);
    const plain = new QueueWorker('plain', 'unsandboxed', looks);
    registry.add(tee as unknown as RegisteredWorker);
    registry.add(plain as unknown as RegisteredWorker);
    const strict = jobs.submit(spec('tee'), sink);
    const lenient = jobs.submit(spec('unsandboxed'), sink);
    // The first waiting job needs a TEE and finds none free; the second takes any tier.
    plain.free();
    assert.deepEqual(plain.offers, [lenient.id]);
    tee.free();
    assert.deepEqual(tee.offers, [strict.id]);
  });
});

test('when many workers leave in one turn (an instance dropped), their jobs move to the workers that stay, and none runs out of attempts', async () => {
  await withJobs(async (jobs, registry) => {
    const looks = { count: 0 };
    const fleet = Array.from({ length: 50 }, (_, i) => new QueueWorker(`w${i}`, 'unsandboxed', looks));
    for (const w of fleet) {
      w.running = 0;
      registry.add(w as unknown as RegisteredWorker);
    }
    const failures: string[] = [];
    const counting: JobSink = { ...sink, onError: (error) => failures.push(error.code) };
    const submitted = Array.from({ length: 20 }, () => jobs.submit(spec('unsandboxed'), counting));
    const leaving = fleet.slice(0, 30);
    const staying = fleet.slice(30);
    assert.deepEqual(
      leaving.slice(0, 20).flatMap((w) => w.offers),
      submitted.map((job) => job.id),
      'the first twenty workers took the jobs',
    );
    // Thirty leave at once, the ten idle ones among them first in routing's order: offered again
    // at once, a job would go to one of those and be lost again, until its attempts ran out.
    for (const w of leaving) w.emit('closed', 'its instance is gone');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(failures, []);
    assert.deepEqual(leaving.slice(20).flatMap((w) => w.offers), [], 'no job went to a worker that was leaving');
    assert.deepEqual(new Set(staying.flatMap((w) => w.offers)), new Set(submitted.map((job) => job.id)), 'every job moved to a worker that stays');
  });
});

test('checkpointing jobs in flight counts again only what streamed since, the longest-uncounted first, within its time budget', async () => {
  await withJobs((jobs, registry) => {
    const looks = { count: 0 };
    let counted = 0;
    // A tokenizer as slow as a long answer makes it: 10 ms a count.
    const meter = {
      maxTokenBytes: 4,
      countToolCalls: () => 0,
      countText(text: string) {
        counted++;
        for (const until = performance.now() + 10; performance.now() < until; );
        return text.length;
      },
    };
    const fleet = Array.from({ length: 6 }, (_, i) => new QueueWorker(`cw${i}`, 'unsandboxed', looks));
    for (const w of fleet) {
      registry.add(w as unknown as RegisteredWorker);
      w.free();
    }
    const handles = fleet.map(() => jobs.submit({ ...spec('unsandboxed'), meter }, sink));
    const streamTo = (i: number, seq: number, text: string) => {
      const worker = fleet.find((w) => w.offers.includes(handles[i]!.id))!;
      if (seq === 0) worker.emit('frame', { type: 'job.accept', jobId: handles[i]!.id });
      worker.emit('frame', { type: 'job.chunk', jobId: handles[i]!.id, seq, text, tokens: text.length });
    };
    handles.forEach((_, i) => streamTo(i, 0, 'abc'));

    const first = jobs.inFlight(0, 25);
    assert.ok(first.length >= 1 && first.length < 6, `one call counted ${first.length} of 6 within its budget`);
    let calls = 1;
    let all = first;
    while (all.length < 6 && calls < 10) {
      all = jobs.inFlight(0, 25);
      calls++;
    }
    assert.equal(all.length, 6, 'every job is counted within a few calls');
    assert.equal(counted, 6, 'each job counted once');
    assert.deepEqual(new Set(all.map((j) => j.parts[0]?.usage.completionTokens)), new Set([3]));

    // Nothing streamed since: nothing is counted again, and the same books come back.
    assert.equal(jobs.inFlight(0, 25).length, 6);
    assert.equal(counted, 6);
    // One job streams more: only it is counted again.
    streamTo(2, 1, 'def');
    const after = jobs.inFlight(0, 25);
    assert.equal(counted, 7);
    assert.equal(after.find((j) => j.jobId === handles[2]!.id)?.parts[0]?.usage.completionTokens, 6);
    assert.equal(after.length, 6);
  });
});

test("a worker's chunk claims add up to no more than its attempt could produce: 2,048 chunks each claiming 2^20 tokens read as a dispute, and the job settles", async () => {
  await withBilledJobs(async ({ jobs, registry, store, billing }) => {
    const worker = new QueueWorker('greedy', 'unsandboxed', { count: 0 });
    registry.add(worker as unknown as RegisteredWorker);
    worker.free();
    const job = { ...spec('unsandboxed'), params: { maxTokens: 2047, temperature: 0 }, clientId: 'client' };
    const jobId = hold(store, billing, job, 'greedy-job');
    const errors: string[] = [];
    jobs.submit({ ...job, jobId }, { ...sink, onError: (error) => errors.push(error.code) });
    assert.deepEqual(worker.offers, [jobId]);
    worker.emit('frame', { type: 'job.accept', jobId });
    for (let seq = 0; seq < 2048; seq++) worker.emit('frame', { type: 'job.chunk', jobId, seq, text: 'a', tokens: 1 << 20 });
    const claimed = jobs.inFlight(0, 1000)[0]?.parts[0]?.claimed?.completionTokens ?? 0;
    assert.equal(claimed, 2048, 'the claim a checkpoint keeps is bounded too');
    worker.emit('frame', { type: 'job.error', jobId, code: 'internal', message: 'gave up' });
    await jobs.settled();
    assert.deepEqual(errors, ['internal']);
    const [dispute] = store.disputes('greedy');
    assert.equal(dispute?.kind, 'completion_over_bound');
    assert.equal(dispute.claimed, 2048, 'the claim is cut where it is taken, at max_tokens + 1');
    assert.equal(store.account('worker:greedy').seq, 1, 'the worker is paid for the 2,048 bytes it streamed');
  });
});

/** A sealed job's spec for `workerId` (the coordinator never opens it: its fields only need their shapes). */
function sealedSpec(jobId: string, workerId: string, maxCoefficient: number): JobSpec {
  const key = 'A'.repeat(43);
  const envelope = { v: SEALED_VERSION, suite: SEALED_SUITE, jobId, model: 'm', coordinatorId: 'coord', workerId, recipientKey: key, maxTokens: 64, expiresAt: Date.now() + 60_000, enc: key, ciphertext: 'B'.repeat(64) } as const;
  return { ...sealedJobSpec(envelope, { timeoutMs: 60_000, maxCoefficient }), clientId: 'client' };
}

test('a sealed job waiting for its busy worker is not offered to it once it reconnects asking more than the job allows: it fails, and its hold is refunded whole', async () => {
  await withBilledJobs(async ({ jobs, registry, store, billing }) => {
    const before = new QueueWorker('w', 'unsandboxed', { count: 0 });
    registry.add(before as unknown as RegisteredWorker);
    const job = sealedSpec('sealed-1', 'w', 1);
    const balance = store.balance('client');
    hold(store, billing, job, 'sealed-1');
    const errors: { code: string; message: string }[] = [];
    jobs.submit(job, { ...sink, onError: (error) => errors.push(error) });
    assert.deepEqual(before.offers, [], 'the worker is busy: the job waits for it');
    // The worker reconnects asking ten times list price: the new session replaces the old one.
    const after = new QueueWorker('w', 'unsandboxed', { count: 0 });
    after.running = 0;
    after.priceCoefficient = 10;
    registry.add(after as unknown as RegisteredWorker);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(after.offers, [], 'never offered at 10x');
    await jobs.settled();
    assert.equal(errors[0]?.code, 'no_capacity');
    assert.match(errors[0]?.message ?? '', /10× list price, above this job's cap of 1/);
    assert.equal(store.balance('client'), balance, 'nothing charged');
  });
});

test("an attempt is billed at the price it was offered at, whatever its worker asks by the time it ends", async () => {
  await withBilledJobs(async ({ jobs, registry, store, billing }) => {
    const worker = new QueueWorker('w', 'unsandboxed', { count: 0 });
    registry.add(worker as unknown as RegisteredWorker);
    worker.free();
    const job = { ...spec('unsandboxed'), clientId: 'client' };
    const jobId = hold(store, billing, job, 'priced-1');
    const receipts: number[] = [];
    billing.on('receipt', (_, receipt) => receipts.push(receipt.coefficientMilli));
    jobs.submit({ ...job, jobId }, sink);
    assert.deepEqual(worker.offers, [jobId]);
    worker.emit('frame', { type: 'job.accept', jobId });
    worker.emit('frame', { type: 'job.chunk', jobId, seq: 0, text: 'hello', tokens: 1 });
    // Its state changes in place (another instance's worker, bus.ts) to ten times list price.
    worker.priceCoefficient = 10;
    worker.emit('frame', { type: 'job.done', jobId, finishReason: 'stop', usage: { promptTokens: 4, completionTokens: 1 } });
    await jobs.settled();
    assert.deepEqual(receipts, [1000], 'billed at 1x');
  });
});

test('a sealed job that ended and waits for its usage receipt stays checkpointed; killed then, the next start bills it from its checkpoint', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'silkworm-receipt-wait-'));
  try {
    const store = openSqliteStore(dir);
    const registry = new WorkerRegistry();
    const logger = createLogger('coordinator', { level: 'silent' });
    const billing = new Billing({ store });
    store.deposit('client', 1_000_000_000_000n, 'd');
    const jobs = new JobManager({ registry, logger, metrics: createMetrics(), standing: new WorkerStanding(store, registry, logger), billing });
    const worker = new QueueWorker('w', 'unsandboxed', { count: 0 });
    worker.running = 0;
    registry.add(worker as unknown as RegisteredWorker);
    let receiptAsked = false;
    const job = { ...sealedSpec('sealed-wait', 'w', 1), awaitReceipt: () => void (receiptAsked = true) };
    hold(store, billing, job, 'sealed-wait');
    const done: string[] = [];
    jobs.submit(job, { ...sink, onDone: (result) => done.push(result.finishReason) });
    assert.deepEqual(worker.offers, ['sealed-wait']);
    worker.emit('frame', { type: 'job.accept', jobId: 'sealed-wait' });
    worker.emit('frame', { type: 'job.sealed_chunk', jobId: 'sealed-wait', seq: 0, ciphertext: 'B'.repeat(64), final: true, finishReason: 'stop', tokens: 5 });
    worker.emit('frame', { type: 'job.done', jobId: 'sealed-wait', finishReason: 'stop', usage: { promptTokens: 20, completionTokens: 5 } });
    assert.deepEqual(done, ['stop'], 'the client heard the end of its job');
    assert.equal(receiptAsked, true, 'settlement waits for the receipt');
    const inFlight = jobs.inFlight(0);
    assert.deepEqual(inFlight.map((j) => j.jobId), ['sealed-wait'], 'still in what is checkpointed');
    await billing.checkpoint(inFlight);
    // Killed here, within the receipt's wait. The next start:
    store.close();
    const reopened = openSqliteStore(dir);
    const next = new Billing({ store: reopened });
    assert.deepEqual(await next.settleCheckpoints(new Set()), { settled: 1, refused: [], unreadable: [] });
    assert.deepEqual(reopened.releaseAllHolds(), [], 'its hold was settled, not refunded whole');
    assert.deepEqual(reopened.unackedReceipts('w').map((r) => [r.jobId, r.outcome, r.usage.completionTokens]), [['sealed-wait', 'done', 5]], 'the worker is paid, as the job ended');
    reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A worker 'w' serves one held transport job to its end: 'hello', 2 tokens of a 4-token prompt. Returns the job. */
function serveOneJob(t: { jobs: JobManager; registry: WorkerRegistry; store: CoordinatorStore; billing: Billing }, jobId: string, expiresAt?: number): JobSpec {
  const worker = new QueueWorker('w', 'unsandboxed', { count: 0 });
  t.registry.add(worker as unknown as RegisteredWorker);
  worker.free();
  const job = { ...spec('unsandboxed'), clientId: 'client' };
  hold(t.store, t.billing, job, jobId, expiresAt);
  t.jobs.submit({ ...job, jobId }, sink);
  worker.emit('frame', { type: 'job.accept', jobId });
  worker.emit('frame', { type: 'job.chunk', jobId, seq: 0, text: 'hello', tokens: 2 });
  worker.emit('frame', { type: 'job.done', jobId, finishReason: 'stop', usage: { promptTokens: 4, completionTokens: 2 } });
  return job;
}

test('a job whose spot check outlives its hold keeps the hold (the sweep does not refund it, the client cannot spend it): the worker is paid against it', async () => {
  let pass: (failed: string[]) => void = () => {};
  const spotCheck: SpotCheck = { sample: () => true, check: () => new Promise((resolve) => (pass = resolve)) };
  await withBilledJobs(
    async ({ jobs, registry, store, billing }) => {
      const expiresAt = Date.now() + 20;
      const jobId = 'spot-1';
      const job = serveOneJob({ jobs, registry, store, billing }, jobId, expiresAt);
      // The check waits on the CPU past the hold's first deadline; the sweep finds nothing to refund.
      while (Date.now() <= expiresAt + 50) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.deepEqual(store.releaseExpiredHolds(Date.now()), [], 'the hold is kept while its job is checked');
      // Meanwhile the client spends everything it has left.
      const left = store.balance('client');
      assert.equal(store.reserve('client', 'spend-all', left, Date.now() + 60_000), 'held');
      pass([]);
      await jobs.settled();
      assert.equal(store.account('worker:w').seq, 1, 'the worker is paid');
      const [receipt] = store.unackedReceipts('w');
      assert.equal(receipt?.usage.completionTokens, 2);
      const worst = billing.worstCase(job.model, job.prompt.figure, job.params.maxTokens, job.maxCoefficient, 4);
      assert.equal(store.balance('client'), worst - BigInt(receipt.costNanotons), 'charged from the hold; what the job did not cost went back to the balance');
      store.release('spend-all');
      assert.deepEqual(store.releaseAllHolds(), [], 'no hold left');
    },
    { spotCheck },
  );
});

test('a spot check that never ends is given up on: the job settles unchecked, and a failure that comes after changes nothing', async () => {
  let fail: (failed: string[]) => void = () => {};
  const spotCheck: SpotCheck = { sample: () => true, check: () => new Promise((resolve) => (fail = resolve)) };
  await withBilledJobs(
    async ({ jobs, registry, store, billing }) => {
      const jobId = 'spot-stuck';
      serveOneJob({ jobs, registry, store, billing }, jobId);
      await jobs.settled();
      assert.deepEqual(store.unackedReceipts('w').map((r) => [r.jobId, r.outcome]), [[jobId, 'done']], 'settled unchecked once the wait ran out');
      fail(['w']);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(store.account('worker:w').seq, 1, 'nothing settled twice');
      assert.deepEqual(store.disputes('w'), []);
    },
    { spotCheck, spotCheckWaitMs: 50 },
  );
});

test('a sealed job the client leaves before job.done keeps the prompt claim its worker made with its first chunk: a receipt that signs for no prompt is on file against it', async () => {
  await withBilledJobs(async ({ jobs, registry, store, billing }) => {
    const worker = new QueueWorker('w', 'unsandboxed', { count: 0 });
    worker.running = 0;
    registry.add(worker as unknown as RegisteredWorker);
    let settle: (receipt: { promptTokens: number; completionTokens: number } | undefined) => void = () => {};
    const job = { ...sealedSpec('sealed-left', 'w', 1), awaitReceipt: (give: typeof settle) => void (settle = give) };
    hold(store, billing, job, 'sealed-left');
    const handle = jobs.submit(job, sink);
    worker.emit('frame', { type: 'job.accept', jobId: 'sealed-left' });
    worker.emit('frame', { type: 'job.sealed_chunk', jobId: 'sealed-left', seq: 0, ciphertext: 'B'.repeat(64), final: false, tokens: 1, promptTokens: 40 });
    worker.emit('frame', { type: 'job.sealed_chunk', jobId: 'sealed-left', seq: 1, ciphertext: 'B'.repeat(64), final: false, tokens: 1, promptTokens: 1 });
    // The client has what it wanted and leaves before the worker's job.done; its receipt says the prompt was free.
    handle.cancel('client disconnected');
    settle({ promptTokens: 0, completionTokens: 2 });
    await jobs.settled();
    assert.deepEqual(
      store.disputes('w').map((d) => d.kind),
      ['over_client_receipt'],
      'the first chunk’s claim of 40 prompt tokens (not a later one) stands against a receipt of 0',
    );
  });
});

test('tool calls the engine could not have streamed are refused before the client sees them: the attempt ends as a bad frame', async () => {
  const weather = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } };
  const now = { name: 'now' };
  const call = (index: number, name?: string, args = '{}') => ({ index, ...(name ? { name } : {}), arguments: args });
  const cases: [string, Partial<JobSpec['params']>, { text: string; toolCalls?: ReturnType<typeof call>[] }[], RegExp][] = [
    ['calls for a job without tools', {}, [{ text: '', toolCalls: [call(0, 'now')] }], /offered no tools/],
    ['text and calls in one chunk', { tools: [weather] }, [{ text: 'hi', toolCalls: [call(0, 'get_weather')] }], /Text and tool calls in one chunk/],
    ['a function not offered', { tools: [weather] }, [{ text: '', toolCalls: [call(0, 'rm_rf')] }], /does not start with the name of an offered tool/],
    ['a call out of order', { tools: [weather] }, [{ text: '', toolCalls: [call(1, 'get_weather')] }], /arrived out of order/],
    ['a call named twice', { tools: [weather] }, [{ text: '', toolCalls: [call(0, 'get_weather')] }, { text: '', toolCalls: [call(0, 'get_weather')] }], /named twice/],
    ['another function than the one the client named', { tools: [weather, now], toolChoice: { name: 'get_weather' } }, [{ text: '', toolCalls: [call(0, 'now')] }], /forces a call of get_weather/],
    ['a second call where the client allowed one', { tools: [weather, now], parallelToolCalls: false }, [{ text: '', toolCalls: [call(0, 'now')] }, { text: '', toolCalls: [call(1, 'now')] }], /allows one call/],
    ['text where the client forced a call', { tools: [weather], toolChoice: 'required' }, [{ text: 'Sure!' }], /forces a tool call/],
  ];
  for (const [what, params, chunks, reason] of cases) {
    const dir = await mkdtemp(join(tmpdir(), 'silkworm-calls-'));
    const store = openSqliteStore(dir);
    const registry = new WorkerRegistry();
    const lines: { msg: string; why?: string }[] = [];
    const logger = createLogger('coordinator', { level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; why?: string }) } });
    const jobs = new JobManager({ registry, logger, metrics: createMetrics(), standing: new WorkerStanding(store, registry, logger) });
    try {
      const worker = new QueueWorker('w', 'unsandboxed', { count: 0 });
      worker.running = 0;
      registry.add(worker as unknown as RegisteredWorker);
      const seen: { text: string; calls: number }[] = [];
      jobs.submit({ ...spec('unsandboxed'), params: { maxTokens: 16, temperature: 0, ...params } }, { ...sink, onChunk: (text, toolCalls) => void seen.push({ text, calls: toolCalls?.length ?? 0 }) });
      const jobId = worker.offers[0]!;
      worker.emit('frame', { type: 'job.accept', jobId });
      chunks.forEach((chunk, seq) => worker.emit('frame', { type: 'job.chunk', jobId, seq, tokens: 1, ...chunk }));
      assert.equal(seen.length, chunks.length - 1, `${what}: every chunk before the bad one reached the client, the bad one did not`);
      assert.deepEqual(lines.map((l) => l.msg), ['a worker streamed what its engine could not have written for this job; its attempt ends'], what);
      assert.match(lines[0]?.why ?? '', reason, what);
    } finally {
      jobs.shutdown();
      store.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
});
