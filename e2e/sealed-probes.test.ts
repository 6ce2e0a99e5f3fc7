/**
 * Probes: the coordinator cannot read a sealed job, so it checks sealed workers by being their
 * client. Against a real coordinator holding the catalog's model file: the real app's worker
 * passes and is paid what the coordinator counted; scripted workers speaking the real protocol
 * that serve another model, send chunks that do not open, or over-claim are caught; and a
 * probe's offer is, field for field, what a client's SDK sends.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCoordinator, type Coordinator } from '../network/coordinator/server.js';
import { CHECK_FAILED_MESSAGE, EJECTED_MESSAGE } from '../network/coordinator/worker-session.js';
import { BUILT_IN_PROBE_PROMPTS, parseProbePrompts } from '../network/coordinator/sealed-probes.js';
import { createLogger } from '../network/coordinator/log.js';
import { loadCatalogFile } from '../network/coordinator/catalog-api.js';
import { auditCoordinator } from '../network/coordinator/audit.js';
import { earningsAccount } from '../network/coordinator/billing.js';
import { DEFAULT_PRICE_LIST, jobCost, priceOf, splitCost } from '../network/protocol/pricing.js';
import { openRequest, ReplayGuard, type JobKeyPair } from '../network/protocol/sealed.js';
import { encodeAnswerPart, mergeParts } from '../network/protocol/answer-parts.js';
import type { ToolCallDelta } from '../network/protocol/job-schemas.js';
import { SilkwormClient } from '../network/client/sdk.js';
import { VocabMeters } from '../network/client/vocab-meter.js';
import { successorText, writeTestModel } from '../main/models/test-model.js';
import { LlamaEngine } from '../main/engine/llama-engine.js';
import type { CoordinatorFrame, Usage } from '../network/protocol/worker-frames.js';

type SealedOffer = Extract<CoordinatorFrame, { type: 'job.sealed_offer' }>;
import { FakeWorker, randomIdentity, sealedDescriptor } from './fake-worker.js';
import { eventually, metricValue, Harness } from './harness.js';

const MODEL = 'silkworm-test';
const ADMIN = 'admin-key';
/** The probes' one prompt: greedy, so the test model's answer is known ("defghijk"). */
const PROMPT = { messages: [{ role: 'user' as const, content: 'abc' }], params: { temperature: 0 }, maxTokens: 8 };
/** "<s>" + "\nuser: abc": one byte token per character of the test template. */
const TRUTH: Usage = { promptTokens: 11, completionTokens: 8 };

function earned(usage: Usage): bigint {
  return splitCost(jobCost(priceOf(DEFAULT_PRICE_LIST, MODEL), usage, 1), DEFAULT_PRICE_LIST.commissionBps).worker;
}

describe('probes of sealed workers', () => {
  const harness = new Harness();
  let coordinator: Coordinator;
  let dataDir: string;
  let sha256: string;
  let catalog: Awaited<ReturnType<typeof loadCatalogFile>>;
  let honestEngine: LlamaEngine;
  let wrongEngine: LlamaEngine;
  const fakes: FakeWorker[] = [];
  const replayGuard = new ReplayGuard();

  const account = (workerId: string) => coordinator.store.account(earningsAccount(workerId, undefined)).cumulative;
  const probe = async () => {
    const found = await coordinator.prober!.probeOnce();
    await coordinator.jobs.settled();
    return found;
  };
  /** A scripted worker that takes sealed jobs, with the job key its descriptor announces. */
  const sealedFake = async (id: string, protocol?: { min: number; max: number }) => {
    const identity = randomIdentity();
    const fake = await FakeWorker.join(coordinator.url, id, { sha256, identity, ...(protocol ? { protocol } : {}) });
    fakes.push(fake);
    const { frame, keyPair } = await sealedDescriptor(id, identity, { id: MODEL, sha256 });
    fake.send(frame);
    await eventually(() => coordinator.registry.get(id)?.descriptor !== undefined, 5000, `${id}'s descriptor`);
    return { fake, keyPair, id, identity };
  };
  /** Serves the next sealed offer with `engine`, as the real job process does, then job.done with `claim` (default: the engine's count). */
  const serveSealed = async (worker: { fake: FakeWorker; keyPair: JobKeyPair; id: string }, engine: LlamaEngine, options: { claim?: Usage; tamper?: boolean; offer?: SealedOffer } = {}) => {
    const offer = options.offer ?? (await worker.fake.nextNew('job.sealed_offer'));
    const opened = await openRequest(offer.envelope, { keyPair: worker.keyPair, workerId: worker.id, coordinatorId: coordinator.id, models: [MODEL], replayGuard });
    assert.ok(opened.ok, 'the worker opens the probe like any sealed job');
    worker.fake.send({ type: 'job.accept', jobId: offer.jobId });
    const pieces: { text: string; toolCalls?: ToolCallDelta[] }[] = [];
    const result = await engine.generate(opened.value.job.messages, opened.value.job.params, undefined, new AbortController().signal, (text, _tokens, toolCalls) => void pieces.push({ text, ...(toolCalls ? { toolCalls } : {}) }));
    for (const piece of pieces) {
      const chunk = await opened.value.responseSealer.seal(encodeAnswerPart(piece));
      // A flipped byte: the chunk no longer opens under the job's key.
      const ciphertext = options.tamper ? `${chunk.ciphertext[0] === 'A' ? 'B' : 'A'}${chunk.ciphertext.slice(1)}` : chunk.ciphertext;
      worker.fake.send({ type: 'job.sealed_chunk', jobId: offer.jobId, ...chunk, ciphertext, tokens: 1 });
    }
    const finishReason = result.finishReason === 'tool_calls' ? 'tool_calls' : 'length';
    worker.fake.send({ type: 'job.sealed_chunk', jobId: offer.jobId, ...(await opened.value.responseSealer.seal('', { final: true, finishReason })), tokens: 0 });
    worker.fake.send({ type: 'job.done', jobId: offer.jobId, finishReason, usage: options.claim ?? result.usage });
    const calls = pieces.reduce(mergeParts, { text: '' }).toolCalls ?? [];
    return { offer, opened: opened.value, text: pieces.map((p) => p.text).join(''), calls };
  };
  const booksBalance = async () => {
    await coordinator.jobs.settled();
    const report = await auditCoordinator(dataDir);
    assert.deepEqual(report.findings, [], 'every invariant holds');
  };
  /** The sample lines of one metric, sorted. */
  const metricLines = async (name: string) =>
    (await (await fetch(`${coordinator.url}/metrics`)).text())
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .sort();
  const probeMetric = (result: string) => metricValue(coordinator.url, 'silkworm_probes_total', `result="${result}"`);

  before(async () => {
    const modelPath = await harness.model();
    const catalogFile = await harness.catalog(MODEL);
    sha256 = catalogFile.sha256;
    dataDir = await harness.tempDir();
    catalog = await loadCatalogFile(catalogFile.file);
    coordinator = await startCoordinator({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      apiKeys: [],
      adminKey: ADMIN,
      catalog,
      // Probes are sent by the test (probeOnce); the timer's first gap is far beyond it.
      probes: { intervalMs: 3_600_000, prompts: [PROMPT] },
      requestTimeoutMs: 20_000,
      logger: createLogger('c', { level: 'silent' }),
    });
    await coordinator.spotChecksLoaded;
    assert.ok(coordinator.prober, 'probes are on');
    const engineOptions = { threads: 1, contextSize: 2048, sequences: 1, gpu: 'cpu' as const, warmupTokens: 0, sandbox: false };
    honestEngine = (await LlamaEngine.load({ modelPath, ...engineOptions }, () => undefined)).engine;
    const wrongPath = join(await harness.tempDir(), 'wrong.gguf');
    await writeTestModel(wrongPath, { step: 2 });
    wrongEngine = (await LlamaEngine.load({ modelPath: wrongPath, ...engineOptions }, () => undefined)).engine;
  });
  after(async () => {
    for (const f of fakes) f.socket.terminate();
    await coordinator.close();
    await honestEngine.dispose();
    await wrongEngine.dispose();
    await harness.cleanup();
  });

  test('with no sealed worker connected there is nothing to probe', async () => {
    assert.equal(await coordinator.prober!.probeOnce(), undefined);
  });

  test('the real app’s worker passes: it serves the probe as any sealed job and is paid what the coordinator counted', async () => {
    const worker = await harness.worker(coordinator.url);
    await eventually(() => coordinator.registry.get(worker.workerId)?.descriptor !== undefined && coordinator.registry.get(worker.workerId)?.available === true, 10_000, 'the worker’s descriptor');
    const before = account(worker.workerId);
    assert.deepEqual(await metricLines('silkworm_probe_workers'), ['silkworm_probe_workers{never_probed="false"} 0', 'silkworm_probe_workers{never_probed="true"} 1'], 'coverage: one worker to probe, never probed');
    assert.deepEqual(await probe(), { workerId: worker.workerId, model: MODEL, result: 'passed' });
    assert.deepEqual(await metricLines('silkworm_probe_workers'), ['silkworm_probe_workers{never_probed="false"} 1', 'silkworm_probe_workers{never_probed="true"} 0']);
    const oldest = Number((await metricLines('silkworm_probe_oldest_seconds'))[0]?.split(' ')[1]);
    assert.ok(oldest >= 0 && oldest < 30, `probed ${oldest} s ago`);
    assert.equal(account(worker.workerId) - before, earned(TRUTH), 'paid the probe at list price, on the coordinator’s own count');
    const record = coordinator.store.workerRecord(worker.workerId);
    assert.equal(record?.verifyFailures, 0);
    assert.equal(record?.cleanJobs, 1);
    assert.deepEqual(coordinator.store.disputes(worker.workerId), []);
    assert.equal(await probeMetric('passed'), 1);
    worker.proc.kill('SIGTERM');
    await worker.proc.exited;
    await eventually(() => coordinator.registry.get(worker.workerId) === undefined, 5000, 'the worker gone');
    await booksBalance();
  });

  test('a probe is what a client’s SDK sends: the same offer, envelope and sealed body', async () => {
    const worker = await sealedFake('compared');
    const client = new SilkwormClient({ coordinatorUrl: coordinator.url, minTier: 'unsandboxed', maxAttempts: 1 });
    // As the gateway sends it: the prompt counted with the model's vocabulary and declared.
    const meter = await new VocabMeters(coordinator.url, undefined).meter(MODEL);
    assert.ok(meter, 'the coordinator serves the vocabulary of a model it probes');
    const promptTokens = meter.countPrompt(PROMPT.messages);
    const fromClient = serveSealed(worker, honestEngine);
    let answer = '';
    for await (const event of client.chat({ model: MODEL, messages: PROMPT.messages, params: { temperature: 0 }, maxTokens: 8, promptTokens })) if (event.type === 'text') answer += event.text;
    assert.equal(answer, successorText('abc', 8));
    const clientJob = await fromClient;
    await coordinator.jobs.settled();
    const fromProbe = serveSealed(worker, honestEngine);
    assert.equal((await probe())?.result, 'passed');
    const probeJob = await fromProbe;
    assert.equal(probeJob.text, clientJob.text);
    const shape = (job: typeof clientJob) => ({
      offer: Object.keys(job.offer).sort(),
      envelope: Object.keys(job.offer.envelope).sort(),
      header: { v: job.opened.header.v, suite: job.opened.header.suite, model: job.opened.header.model, maxTokens: job.opened.header.maxTokens, promptTokens: job.opened.header.promptTokens, recipientKey: job.opened.header.recipientKey },
      job: Object.keys(job.opened.job).sort(),
      params: job.opened.job.params,
      messages: job.opened.job.messages,
      ttlSeconds: Math.round((job.opened.header.expiresAt - Date.now()) / 10_000),
    });
    assert.deepEqual(shape(probeJob), shape(clientJob));
    assert.notEqual(probeJob.offer.jobId, clientJob.offer.jobId);
    // And the receipts that pay for them read alike (the same fields, outcome, usage and pay).
    const receiptOf = (jobId: string) => worker.fake.frames.find((f): f is Extract<CoordinatorFrame, { type: 'job.receipt' }> => f.type === 'job.receipt' && f.jobId === jobId);
    await eventually(() => receiptOf(probeJob.offer.jobId) !== undefined, 5000, 'the probe’s receipt');
    const paid = (jobId: string) => {
      const { seq: _seq, jobId: _jobId, cumulativeNanotons: _cumulative, ...rest } = receiptOf(jobId)!;
      return rest;
    };
    assert.deepEqual(paid(probeJob.offer.jobId), paid(clientJob.offer.jobId));
    worker.fake.close();
    await eventually(() => coordinator.registry.get('compared') === undefined, 5000, 'gone');
    await booksBalance();
  });

  test('a busy worker is probed as a client’s job reaches it: the probe waits for its slot', async () => {
    const busy = await sealedFake('busy');
    const client = new SilkwormClient({ coordinatorUrl: coordinator.url, minTier: 'unsandboxed', maxAttempts: 1 });
    const clientOffer = busy.fake.nextNew('job.sealed_offer');
    const clientRun = (async () => {
      let answer = '';
      for await (const event of client.chat({ model: MODEL, messages: PROMPT.messages, params: { temperature: 0 }, maxTokens: 8 })) if (event.type === 'text') answer += event.text;
      return answer;
    })();
    const offer = await clientOffer;
    let probeOffered: SealedOffer | undefined;
    const probeOffer = busy.fake.nextNew('job.sealed_offer').then((o) => (probeOffered = o));
    const probing = probe();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(probeOffered, undefined, 'no offer while its one slot is taken');
    await serveSealed(busy, honestEngine, { offer });
    assert.equal(await clientRun, successorText('abc', 8));
    await serveSealed(busy, honestEngine, { offer: await probeOffer });
    assert.deepEqual(await probing, { workerId: 'busy', model: MODEL, result: 'passed' });
    busy.fake.close();
    await eventually(() => coordinator.registry.get('busy') === undefined, 5000, 'gone');
    await booksBalance();
  });

  test('a sealed worker serving another model fails probes: settled like any job, then struck each time, and ejected at the third', async () => {
    const cheater = await sealedFake('cheater');
    const failedBefore = await probeMetric('failed');
    for (let strike = 1; strike <= 3; strike++) {
      const serving = serveSealed(cheater, wrongEngine);
      assert.deepEqual(await probe(), { workerId: 'cheater', model: MODEL, result: 'failed' });
      assert.equal((await serving).text, successorText('abc', 8, 2), 'the other model really generated ("egik…")');
      await eventually(() => coordinator.store.workerRecord('cheater')?.verifyFailures === strike, 5000, `strike ${strike}`);
      // Paid like any job, on the coordinator's count, before the re-scoring: its receipt does not give the probe away.
      assert.equal(account('cheater'), BigInt(strike) * earned(TRUTH));
    }
    assert.notEqual(coordinator.store.workerRecord('cheater')?.ejectedAt, null, 'ejected at the third strike');
    assert.equal((await cheater.fake.closed).code, 4008);
    // Told at each strike before the last (protocol 3), then told it is ejected.
    assert.deepEqual(
      cheater.fake.frames.filter((f) => f.type === 'check_failed').map((f) => f.type === 'check_failed' && [f.strikes, f.ejectAt]),
      [
        [1, 3],
        [2, 3],
      ],
    );
    assert.equal(cheater.fake.frames.find((f) => f.type === 'error')?.code, 'worker_ejected');
    // Each probe was settled on its own, whatever the re-scoring found: the failed ones got
    // receipts like any job (the third's was cut short by the ejection that closed the socket).
    const receipts = cheater.fake.frames.filter((f) => f.type === 'job.receipt');
    assert.ok(receipts.length >= 2, `receipts for the failed probes (${receipts.length})`);
    assert.ok(receipts.every((r) => r.type === 'job.receipt' && r.outcome === 'done' && r.usage.completionTokens === TRUTH.completionTokens));
    const back = await FakeWorker.connect(coordinator.url);
    fakes.push(back);
    back.send(back.hello('cheater', { identity: cheater.identity, sha256 }));
    assert.equal((await back.next('error')).code, 'worker_ejected', 'its key is refused from then on');
    assert.equal((await probeMetric('failed')) - failedBefore, 3);
    await booksBalance();
  });

  test('an owner who fixed their GPU: the operator takes the ejected identity back, and it starts over as a newcomer', async () => {
    const owner = await sealedFake('overclocked');
    for (let strike = 1; strike <= 3; strike++) {
      const serving = serveSealed(owner, wrongEngine);
      assert.equal((await probe())?.result, 'failed');
      await serving;
    }
    await owner.fake.closed;
    const admin = { authorization: `Bearer ${ADMIN}` };
    const standing = (await (await fetch(`${coordinator.url}/v1/admin/workers/overclocked`, { headers: admin })).json()) as { strikes: number; verify_failures: number; ejected_at: string | null; connected: boolean };
    assert.deepEqual([standing.strikes, standing.verify_failures, standing.ejected_at !== null, standing.connected], [3, 3, true, false]);
    const reinstated = await fetch(`${coordinator.url}/v1/admin/workers/overclocked/reinstate`, { method: 'POST', headers: admin });
    assert.equal(reinstated.status, 200);
    const body = (await reinstated.json()) as { reinstated: boolean; strikes: number; reputation: number; verify_failures: number; ejected_at: string | null };
    assert.deepEqual([body.reinstated, body.strikes, body.reputation, body.verify_failures, body.ejected_at], [true, 0, 0.2, 3, null]);
    const again = await fetch(`${coordinator.url}/v1/admin/workers/overclocked/reinstate`, { method: 'POST', headers: admin });
    assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'not_ejected');
    // Its next hello, with its own key, is welcomed; its answers are probed and paid again.
    const fixed = await FakeWorker.join(coordinator.url, 'overclocked', { sha256, identity: owner.identity });
    fakes.push(fixed);
    const { frame, keyPair } = await sealedDescriptor('overclocked', owner.identity, { id: MODEL, sha256 });
    fixed.send(frame);
    await eventually(() => coordinator.registry.get('overclocked')?.descriptor !== undefined, 5000, 'descriptor');
    const serving = serveSealed({ fake: fixed, keyPair, id: 'overclocked' }, honestEngine);
    assert.deepEqual(await probe(), { workerId: 'overclocked', model: MODEL, result: 'passed' });
    await serving;
    assert.equal(account('overclocked'), 4n * earned(TRUTH), 'its three failed probes were paid like jobs, and this one');
    fixed.close();
    await eventually(() => coordinator.registry.get('overclocked') === undefined, 5000, 'gone');
    await booksBalance();
  });

  test('chunks that do not open under the key the worker signed fail the probe', async () => {
    // On protocol 2, which has no check_failed frame: it is struck all the same, and told nothing it cannot read.
    const garbler = await sealedFake('garbler', { min: 2, max: 2 });
    const serving = serveSealed(garbler, honestEngine, { tamper: true });
    assert.deepEqual(await probe(), { workerId: 'garbler', model: MODEL, result: 'failed' });
    await serving;
    await eventually(() => coordinator.store.workerRecord('garbler')?.verifyFailures === 1, 5000, 'struck');
    assert.equal((await garbler.fake.next('welcome')).protocol, 2);
    assert.deepEqual(garbler.fake.frames.filter((f) => f.type === 'check_failed'), []);
    assert.equal(account('garbler'), earned({ promptTokens: TRUTH.promptTokens, completionTokens: 0 }), 'no answer opened: paid the prompt it took in, nothing more');
    garbler.fake.close();
    await eventually(() => coordinator.registry.get('garbler') === undefined, 5000, 'gone');
    await booksBalance();
  });

  test('probes mirror what clients send: JSON with a penalty, tools offered, and a forced call, pass the honest engine and fail the other model', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' }, sunny: { type: 'boolean' } }, required: ['city', 'sunny'] };
    const weather = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
    const lines: [string, object, object][] = [
      ['json', { temperature: 0, frequency_penalty: 1, max_tokens: 300, response_format: { type: 'json_schema', json_schema: { name: 'weather', schema } } }, { temperature: 0, frequencyPenalty: 1, responseFormat: { type: 'json_schema', schema }, maxTokens: 300 }],
      // An agent sends its tools with every request: a probe without them would stand out.
      ['tools', { temperature: 0, max_tokens: 24, tools: [{ type: 'function', function: weather }] }, { temperature: 0, tools: [weather], maxTokens: 24 }],
      // An agent that makes the model call: the call's arguments are re-scored.
      ['call', { temperature: 0, max_tokens: 24, tools: [{ type: 'function', function: weather }], tool_choice: 'required' }, { temperature: 0, tools: [weather], toolChoice: 'required', maxTokens: 24 }],
    ];
    const counter = coordinator.meters.get(MODEL)!.counter;
    try {
      for (const [kind, line, asked] of lines) {
        const [prompt] = parseProbePrompts(JSON.stringify({ messages: PROMPT.messages, ...line }));
        coordinator.prober!.usePrompts([prompt!]);
        for (const [id, engine, result] of [[`${kind}-honest`, honestEngine, 'passed'], [`${kind}-cheater`, wrongEngine, 'failed']] as const) {
          const worker = await sealedFake(id);
          const serving = serveSealed(worker, engine);
          assert.deepEqual(await probe(), { workerId: id, model: MODEL, result });
          const { text, calls, opened } = await serving;
          assert.deepEqual(opened.job.params, asked, 'asked as the client asked');
          if (kind === 'json') assert.deepEqual(Object.keys(JSON.parse(text) as object), ['city', 'sunny'], `${id} wrote JSON of the schema`);
          if (kind === 'call') assert.deepEqual([text, calls.map((c) => c.name)], ['', ['get_weather']], `${id} answered with a call only`);
          // Paid on the coordinator's own count, the tools rendered into the prompt as the engine renders them.
          const counted = { promptTokens: counter.countPrompt(PROMPT.messages, prompt!.params), completionTokens: counter.countText(text) + counter.countToolCalls(calls) };
          if (kind !== 'json') assert.ok(counted.promptTokens > TRUTH.promptTokens + 100, 'the tools are in the counted prompt');
          await eventually(() => account(id) === earned(counted), 5000, `${id} paid what was counted`);
          assert.deepEqual(coordinator.store.disputes(id), [], 'an honest claim is no dispute');
          await eventually(() => coordinator.store.workerRecord(id)?.verifyFailures === (result === 'failed' ? 1 : 0), 5000, `${id} judged`);
          worker.fake.close();
          await eventually(() => coordinator.registry.get(id) === undefined, 5000, 'gone');
        }
      }
    } finally {
      coordinator.prober!.usePrompts([PROMPT]);
    }
    await booksBalance();
  });

  test('every built-in prompt passes an honest worker (JSON and penalties included): the set an operator starts with strikes no one wrongly', async () => {
    const worker = await sealedFake('built-ins');
    try {
      for (const prompt of BUILT_IN_PROBE_PROMPTS) {
        coordinator.prober!.usePrompts([prompt]);
        const serving = serveSealed(worker, honestEngine);
        assert.deepEqual(await probe(), { workerId: 'built-ins', model: MODEL, result: 'passed' }, prompt.messages[0]?.content);
        const { text } = await serving;
        if (prompt.params.responseFormat) JSON.parse(text.length < prompt.maxTokens ? text : '{}'); // whole JSON unless cut at max_tokens
      }
    } finally {
      coordinator.prober!.usePrompts([PROMPT]);
    }
    assert.equal(coordinator.store.workerRecord('built-ins')?.verifyFailures, 0);
    worker.fake.close();
    await eventually(() => coordinator.registry.get('built-ins') === undefined, 5000, 'gone');
    await booksBalance();
  });

  test('an over-claim on a probe is cut to the coordinator’s count and is a dispute against the worker', async () => {
    const inflater = await sealedFake('inflater');
    const serving = serveSealed(inflater, honestEngine, { claim: { promptTokens: 5_000, completionTokens: 500 } });
    assert.deepEqual(await probe(), { workerId: 'inflater', model: MODEL, result: 'passed' });
    await serving;
    assert.equal(account('inflater'), earned(TRUTH), 'paid the true count, not the claim');
    assert.deepEqual(coordinator.store.disputes('inflater').map((d) => [d.kind, d.claimed, d.counted]).sort(), [
      ['completion_over_count', 500, 8],
      ['prompt_over_count', 5_000, 11],
    ]);
    assert.equal(coordinator.store.workerRecord('inflater')?.disputes, 1, 'counted against it (unlike a client receipt’s dispute)');
    inflater.fake.close();
    await eventually(() => coordinator.registry.get('inflater') === undefined, 5000, 'gone');
    await booksBalance();
  });

  test('the operator changes the probe prompts of a running coordinator: SIGHUP reads the file again; a file that does not parse changes nothing', async () => {
    const catalogFile = await harness.catalog(MODEL);
    const prompts = join(await harness.tempDir(), 'prompts.jsonl');
    const line = (content: string) => `${JSON.stringify({ messages: [{ role: 'user', content }], temperature: 0, max_tokens: 4 })}\n`;
    await writeFile(prompts, line('first set'));
    const cli = await harness.coordinator({ extra: ['--catalog', catalogFile.file, '--probe-interval', '1', '--probe-prompts', prompts] });
    const coordinatorId = String((await cli.proc.waitFor((l) => l.msg === 'coordinator ready')).coordinatorId);
    const identity = randomIdentity();
    const fake = await FakeWorker.join(cli.url, 'rotated', { sha256, identity });
    fakes.push(fake);
    const { frame, keyPair } = await sealedDescriptor('rotated', identity, { id: MODEL, sha256 });
    fake.send(frame);
    // Serves every probe it gets, and notes what each asked.
    const asked: string[] = [];
    const serving: Promise<void>[] = [];
    fake.socket.on('message', (data: Buffer) => {
      const offer = JSON.parse(data.toString('utf8')) as { type: string };
      if (offer.type !== 'job.sealed_offer') return;
      serving.push((async () => {
        const { jobId, envelope } = offer as SealedOffer;
        const opened = await openRequest(envelope, { keyPair, workerId: 'rotated', coordinatorId, models: [MODEL], replayGuard });
        assert.ok(opened.ok);
        asked.push(opened.value.job.messages.map((m) => m.content).join(''));
        fake.send({ type: 'job.accept', jobId });
        const pieces: string[] = [];
        const result = await honestEngine.generate(opened.value.job.messages, opened.value.job.params, undefined, new AbortController().signal, (text) => void pieces.push(text));
        for (const text of pieces) fake.send({ type: 'job.sealed_chunk', jobId, ...(await opened.value.responseSealer.seal(encodeAnswerPart({ text }))), tokens: 1 });
        fake.send({ type: 'job.sealed_chunk', jobId, ...(await opened.value.responseSealer.seal('', { final: true, finishReason: 'length' })), tokens: 0 });
        fake.send({ type: 'job.done', jobId, finishReason: 'length', usage: result.usage });
      })());
    });
    await eventually(() => asked.length > 0, 15_000, 'a probe');
    assert.deepEqual([...new Set(asked)], ['first set']);
    await writeFile(prompts, line('second set') + line('second set'));
    cli.proc.kill('SIGHUP');
    assert.equal((await cli.proc.waitFor((l) => l.msg === 'probe prompts reloaded', 10_000)).prompts, 2);
    const reloadedAt = asked.length;
    await eventually(() => asked.slice(reloadedAt).includes('second set'), 15_000, 'a probe with the new prompts');
    await writeFile(prompts, '{"messages": [}\n');
    cli.proc.kill('SIGHUP');
    assert.match(String((await cli.proc.waitFor((l) => l.msg === 'probe prompts not reloaded: the file does not parse; the prompts in use stay', 10_000)).err), /line 1: not JSON/);
    const rejectedAt = asked.length;
    await eventually(() => asked.length > rejectedAt, 15_000, 'a probe after the bad file');
    assert.deepEqual([...new Set(asked.slice(reloadedAt + 1))], ['second set'], 'the prompts in use stayed');
    fake.close();
    await Promise.allSettled(serving);
    cli.proc.kill('SIGTERM');
    await cli.proc.exited;
    assert.equal(cli.proc.count('probe failed: the sealed answer is not what the model would give'), 0, 'every probe of the honest answers passed');
    assert.ok(cli.proc.lines.filter((l) => l.msg === 'probe done' && l.result === 'passed').length >= 2, 'and passed');
  });

  test('the real worker, struck and then ejected: it logs each failed check, keeps asking, and logs the refusal once', async () => {
    const worker = await harness.worker(coordinator.url);
    await eventually(() => coordinator.registry.get(worker.workerId)?.available === true, 10_000, 'the worker sharing');
    coordinator.standing.record(worker.workerId, 'verify_failed');
    const warned = await worker.proc.waitFor((l) => l.msg === 'coordinator reported a failed check' && l.said === CHECK_FAILED_MESSAGE, 10_000, 'the check_failed frame');
    assert.deepEqual([warned.strikes, warned.ejectAt], [1, 3]);
    coordinator.standing.record(worker.workerId, 'verify_failed');
    coordinator.standing.record(worker.workerId, 'verify_failed');
    const refusedHellos = () => worker.proc.lines.filter((l) => l.msg === 'coordinator reported an error' && l.said === EJECTED_MESSAGE).length;
    await eventually(() => refusedHellos() >= 3, 30_000, 'three refused hellos');
    assert.equal(worker.proc.count('the coordinator refuses this worker; it keeps asking, in case the operator lifts it'), 1, 'logged once, not at every try');
    worker.proc.kill('SIGTERM');
    await worker.proc.exited;
  });

  test('closing the coordinator with a probe under way ends it unchecked: a cut answer is not judged, and closing does not wait', async () => {
    const second = await startCoordinator({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir(), apiKeys: [], catalog, probes: { intervalMs: 3_600_000, prompts: [PROMPT] }, logger: createLogger('c2', { level: 'silent' }) });
    await second.spotChecksLoaded;
    const identity = randomIdentity();
    const silent = await FakeWorker.join(second.url, 'silent', { sha256, identity });
    fakes.push(silent);
    const { frame, keyPair } = await sealedDescriptor('silent', identity, { id: MODEL, sha256 });
    silent.send(frame);
    await eventually(() => second.registry.get('silent')?.descriptor !== undefined, 5000, 'descriptor');
    const offered = silent.nextNew('job.sealed_offer');
    const pending = second.prober!.probeOnce();
    const offer = await offered;
    const opened = await openRequest(offer.envelope, { keyPair, workerId: 'silent', coordinatorId: second.id, models: [MODEL], replayGuard });
    assert.ok(opened.ok);
    silent.send({ type: 'job.accept', jobId: offer.jobId });
    // Text that would fail the re-scoring, then nothing: the probe is cut by the close, not judged.
    silent.send({ type: 'job.sealed_chunk', jobId: offer.jobId, ...(await opened.value.responseSealer.seal(encodeAnswerPart({ text: 'zzzz' }))), tokens: 4 });
    await eventually(() => second.jobs.inFlight(0).length > 0, 5000, 'the chunk relayed');
    await second.close();
    assert.deepEqual(await pending, { workerId: 'silent', model: MODEL, result: 'unchecked' });
  });
});
