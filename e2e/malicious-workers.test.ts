/**
 * Dishonest workers, scripted over the real protocol against a real coordinator on a real local
 * chain: inflated claims, claims near 2^53 at a high price, unbounded output, id hijacking, lies
 * about latency, and a worker serving another model than it announces. Each attack has an exact
 * expected outcome; after each, the books' invariants are audited over the whole store and
 * against what the vault paid on chain. An honest worker earns exactly the same before and after.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Address } from '@ton/core';
import { TonClient, WalletContractV5R1 } from '@ton/ton';
import { keyPairFromSeed } from '@ton/crypto';
import { startChainServer } from '../network/chain/cli.js';
import { startCoordinator, clientIdForKey, type Coordinator } from '../network/coordinator/server.js';
import { WorkerSession } from '../network/coordinator/worker-session.js';
import { createLogger } from '../network/coordinator/log.js';
import { loadCatalogFile } from '../network/coordinator/catalog-api.js';
import { auditCoordinator } from '../network/coordinator/audit.js';
import { earningsAccount } from '../network/coordinator/billing.js';
import { DEFAULT_PRICE_LIST, jobCost, priceOf, splitCost } from '../network/protocol/pricing.js';
import { paidToWorker } from '../network/coordinator/push-chain.js';
import { successorText, writeTestModel } from '../main/models/test-model.js';
import { LlamaEngine } from '../main/engine/llama-engine.js';
import { FakeWorker, randomIdentity, sealedDescriptor } from './fake-worker.js';
import { startGateway } from '../network/client/gateway.js';
import { pickByWeight, SilkwormClient } from '../network/client/sdk.js';
import { openRequest, ReplayGuard } from '../network/protocol/sealed.js';
import { encodeAnswerPart } from '../network/protocol/answer-parts.js';
import type { CoordinatorFrame } from '../network/protocol/worker-frames.js';
import { eventually, Harness, metricValue } from './harness.js';

const KEY = 'sk-victim-client';
const ADMIN = 'admin';
const MODEL = 'silkworm-test';
const MESSAGES = [{ role: 'user' as const, content: 'abc' }];
/** "<s>" + "\nuser: abc": one byte token per character of the test template. */
const PROMPT_TOKENS = 11;
const WEATHER_SCHEMA = { type: 'object', properties: { city: { type: 'string' }, sunny: { type: 'boolean' } }, required: ['city', 'sunny'] };
const WEATHER_TOOL: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };

function payoutAddress(seed: number): string {
  const wallet = WalletContractV5R1.create({ workchain: 0, publicKey: keyPairFromSeed(Buffer.alloc(32, seed)).publicKey, walletId: { networkGlobalId: -3 } });
  return wallet.address.toString({ testOnly: true, bounceable: false });
}

function earned(usage: { promptTokens: number; completionTokens: number }, coefficient = 1): bigint {
  return splitCost(jobCost(priceOf(DEFAULT_PRICE_LIST, MODEL), usage, coefficient), DEFAULT_PRICE_LIST.commissionBps).worker;
}

function charge(usage: { promptTokens: number; completionTokens: number }, coefficient = 1): bigint {
  return jobCost(priceOf(DEFAULT_PRICE_LIST, MODEL), usage, coefficient);
}

describe('a network facing dishonest workers', () => {
  const harness = new Harness();
  let chain: Awaited<ReturnType<typeof startChainServer>>;
  let coordinator: Coordinator;
  let dataDir: string;
  let client: OpenAI;
  let sha256: string;
  let honestDataDir: string;
  let honestBaseline: bigint;
  const honestPayout = payoutAddress(1);
  const fakes: FakeWorker[] = [];

  const clientId = clientIdForKey(KEY);
  const account = (address: string) => coordinator.store.account(earningsAccount('x', address)).cumulative;
  const enlist = async (id: string, options: Parameters<typeof FakeWorker.join>[2] = {}) => {
    const fake = await FakeWorker.join(coordinator.url, id, { sha256, ...options });
    fakes.push(fake);
    return fake;
  };
  /** Closes a fake and waits until the coordinator has let it go. */
  const leave = async (fake: FakeWorker, id: string) => {
    fake.close();
    await fake.closed;
    await eventually(() => coordinator.registry.get(id) === undefined, 5000, `${id} gone`);
  };
  /** Serves an offer with correct text, one token a chunk, then job.done with `claim`. */
  const serve = async (fake: FakeWorker, text: string, claim: { promptTokens: number; completionTokens: number }, options: { delayMs?: number } = {}) => {
    const offer = await fake.nextNew('job.offer');
    fake.send({ type: 'job.accept', jobId: offer.jobId });
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    [...text].forEach((ch, seq) => fake.send({ type: 'job.chunk', jobId: offer.jobId, seq, text: ch, tokens: 1 }));
    fake.send({ type: 'job.done', jobId: offer.jobId, finishReason: 'length', usage: claim });
    return offer;
  };
  /** The books balance over the whole store, and no account was paid on chain more than it earned. */
  const booksBalance = async () => {
    await coordinator.jobs.settled();
    await coordinator.settlement?.pushDue();
    const ton = new TonClient({ endpoint: `${chain.url}/jsonRPC` });
    const vault = Address.parse(coordinator.settlement!.vault);
    const paid = (a: string) => paidToWorker(ton, vault, Address.parse(a));
    const report = await auditCoordinator(dataDir, { paidOnChain: paid });
    assert.deepEqual(report.findings, [], 'every invariant holds');
    for (const a of [honestPayout, payoutAddress(2), payoutAddress(3), payoutAddress(4)]) {
      const owed = account(a);
      if (owed > 0n) assert.equal(await paid(a), owed, `the vault paid ${a} exactly what it earned`);
    }
  };
  const honestRequest = async () => {
    const before = account(honestPayout);
    const answer = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 12, temperature: 0 });
    assert.equal(answer.choices[0]?.message.content, successorText('abc', 12));
    await coordinator.jobs.settled();
    return account(honestPayout) - before;
  };

  before(async () => {
    chain = await startChainServer({ host: '127.0.0.1', port: 0, dataDir: await harness.tempDir() });
    const catalogFile = await harness.catalog(MODEL);
    sha256 = catalogFile.sha256;
    dataDir = await harness.tempDir();
    coordinator = await startCoordinator({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      apiKeys: [KEY],
      adminKey: ADMIN,
      chain: { url: chain.url, network: 'testnet', pushThreshold: 1n, pushIntervalMs: 3_600_000 },
      catalog: await loadCatalogFile(catalogFile.file),
      verifyRate: 1,
      explorationRate: 0,
      requestTimeoutMs: 20_000,
      logger: createLogger('c', { level: 'silent' }),
    });
    await coordinator.spotChecksLoaded; // every job below is checked
    await fetch(`${coordinator.url}/v1/admin/deposits`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ client: clientId, nanotons: '1000000000000', reference: 'd1' }) });
    client = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: KEY, maxRetries: 0 });
    honestDataDir = await harness.tempDir();
  });
  after(async () => {
    for (const f of fakes) f.socket.terminate();
    await coordinator.close();
    await chain.close();
    await harness.cleanup();
  });

  test('an honest worker is paid exactly price × the coordinator’s count (baseline)', async () => {
    assert.equal(coordinator.meters.get(MODEL)?.counter.countPrompt(MESSAGES), PROMPT_TOKENS);
    const honest = await harness.worker(coordinator.url, { extra: ['--payout-address', honestPayout, '--data', honestDataDir] });
    honestBaseline = await honestRequest();
    assert.equal(honestBaseline, earned({ promptTokens: PROMPT_TOKENS, completionTokens: 12 }));
    honest.proc.kill('SIGTERM');
    await honest.proc.exited;
    await booksBalance();
  });

  test('an inflated job.done is cut to the count: the client pays and the worker earns the true figure', async () => {
    const address = payoutAddress(2);
    const liar = await enlist('inflater', { payoutAddress: address });
    const balance = coordinator.store.balance(clientId);
    const served = serve(liar, successorText('abc', 10), { promptTokens: 1_000_000, completionTokens: 1_048_576 });
    const answer = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 10, temperature: 0 });
    await served;
    const truth = { promptTokens: PROMPT_TOKENS, completionTokens: 10 };
    assert.deepEqual(answer.usage, { prompt_tokens: truth.promptTokens, completion_tokens: truth.completionTokens, total_tokens: 21 });
    await coordinator.jobs.settled();
    const receipt = await liar.next('job.receipt');
    assert.deepEqual(receipt.usage, truth);
    assert.deepEqual(receipt.claimed, { promptTokens: 1_000_000, completionTokens: 1_048_576 });
    assert.equal(receipt.earnedNanotons, earned(truth).toString());
    assert.equal(coordinator.store.balance(clientId), balance - charge(truth), 'the client paid exactly the true figure');
    const disputes = coordinator.store.disputes('inflater').map((d) => d.kind).sort();
    assert.deepEqual(disputes, ['completion_over_count', 'prompt_over_count']);
    assert.ok((coordinator.store.workerRecord('inflater')?.reputation ?? 1) < 0.2, 'its reputation fell');
    await leave(liar, 'inflater');
    await booksBalance();
  });

  test('a claim beyond any job’s bound (100,000,000 tokens) is a malformed frame: the worker is dropped, the client pays only what it got', async () => {
    const liar = await enlist('overflower', { payoutAddress: payoutAddress(2) });
    const balance = coordinator.store.balance(clientId);
    const offer = liar.nextNew('job.offer');
    const pending = client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 10, temperature: 0 });
    const { jobId } = await offer;
    liar.send({ type: 'job.accept', jobId });
    [...successorText('abc', 4)].forEach((ch, seq) => liar.send({ type: 'job.chunk', jobId, seq, text: ch, tokens: 1 }));
    liar.send(JSON.stringify({ type: 'job.done', jobId, finishReason: 'stop', usage: { promptTokens: 2 ** 53 - 1, completionTokens: 100_000_000 } }));
    const refused = assert.rejects(pending, (e: unknown) => e instanceof OpenAI.APIError && e.status === 502 && e.code === 'worker_lost');
    assert.equal((await liar.closed).code, 4002, 'closed as a bad frame');
    await refused;
    await coordinator.jobs.settled();
    assert.equal(coordinator.store.balance(clientId), balance - charge({ promptTokens: PROMPT_TOKENS, completionTokens: 4 }));
    await booksBalance();
  });

  test('inflated chunk tokens, then a retryable error: the next worker continues, every token is billed once, the liar gets its true share', async () => {
    const liarAddress = payoutAddress(3);
    const finisherAddress = payoutAddress(4);
    const liar = await enlist('chunk-inflater', { payoutAddress: liarAddress });
    const finisher = await enlist('finisher', { payoutAddress: finisherAddress });
    const [liarBefore, finisherBefore, balance] = [account(liarAddress), account(finisherAddress), coordinator.store.balance(clientId)];
    const pending = client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 10, temperature: 0 });
    const offer = await liar.nextNew('job.offer');
    liar.send({ type: 'job.accept', jobId: offer.jobId });
    [...successorText('abc', 5)].forEach((ch, seq) => liar.send({ type: 'job.chunk', jobId: offer.jobId, seq, text: ch, tokens: 100_000 }));
    liar.send({ type: 'job.error', jobId: offer.jobId, code: 'engine_crashed', message: 'oops' });
    const second = await finisher.nextNew('job.offer');
    assert.equal(second.continuation, 'defgh');
    assert.equal(second.params.maxTokens, 5, 'the finisher may only add what is left of max_tokens, by the coordinator’s count');
    finisher.send({ type: 'job.accept', jobId: second.jobId });
    [...'ijklm'].forEach((ch, seq) => finisher.send({ type: 'job.chunk', jobId: second.jobId, seq, text: ch, tokens: 1 }));
    finisher.send({ type: 'job.done', jobId: second.jobId, finishReason: 'length', usage: { promptTokens: PROMPT_TOKENS + 5, completionTokens: 5 } });
    const answer = await pending;
    assert.equal(answer.choices[0]?.message.content, successorText('abc', 10));
    await coordinator.jobs.settled();
    assert.equal(account(liarAddress) - liarBefore, earned({ promptTokens: PROMPT_TOKENS, completionTokens: 5 }), 'the liar: prompt once and its 5 tokens');
    assert.equal(account(finisherAddress) - finisherBefore, earned({ promptTokens: 0, completionTokens: 5 }), 'the finisher: its 5 tokens, no second prompt');
    const paid = charge({ promptTokens: PROMPT_TOKENS, completionTokens: 5 }) + charge({ promptTokens: 0, completionTokens: 5 });
    assert.equal(coordinator.store.balance(clientId), balance - paid, 'the client paid for 10 tokens once, never the continuation twice');
    assert.deepEqual(coordinator.store.disputes('chunk-inflater').map((d) => d.kind), ['completion_over_count']);
    await leave(liar, 'chunk-inflater');
    await leave(finisher, 'finisher');
    await booksBalance();
  });

  test('a worker asking 10× list price is never used by a client that did not accept it; one that did is held and charged at it', async () => {
    const pricey = await enlist('pricey', { payoutAddress: payoutAddress(2), priceCoefficient: 10 });
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 10 }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 503 && e.code === 'no_capacity',
    );
    const balance = coordinator.store.balance(clientId);
    const served = serve(pricey, successorText('abc', 3), { promptTokens: 1_048_576, completionTokens: 1_048_576 });
    const answer = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 3, temperature: 0 }, { headers: { 'x-silkworm-max-coefficient': '10' } });
    await served;
    assert.equal(answer.usage?.completion_tokens, 3);
    await coordinator.jobs.settled();
    assert.equal(coordinator.store.balance(clientId), balance - charge({ promptTokens: PROMPT_TOKENS, completionTokens: 3 }, 10));
    assert.equal(typeof coordinator.store.account(earningsAccount('x', payoutAddress(2))).cumulative, 'bigint');
    await leave(pricey, 'pricey');
    await booksBalance();
  });

  test('unbounded output is cut at the bound: the client gets what fits, is billed the count, memory stays flat, the worker is flagged', async () => {
    const flooder = await enlist('flooder', { payoutAddress: payoutAddress(2) });
    const rssBefore = process.memoryUsage().rss;
    const balance = coordinator.store.balance(clientId);
    const pending = client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 10, temperature: 0, stream: true });
    const offer = await flooder.nextNew('job.offer');
    flooder.send({ type: 'job.accept', jobId: offer.jobId });
    [...successorText('abc', 5)].forEach((ch, seq) => flooder.send({ type: 'job.chunk', jobId: offer.jobId, seq, text: ch, tokens: 0 }));
    const megabyte = 'x'.repeat(1_000_000);
    for (let seq = 5; seq < 155; seq++) flooder.send({ type: 'job.chunk', jobId: offer.jobId, seq, text: megabyte, tokens: 0 });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of await pending) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, 'defgh');
    assert.equal(finish, 'length');
    // The worker's claim was 0 tokens a chunk: it is billed what it claimed, never more.
    await coordinator.jobs.settled();
    assert.equal(coordinator.store.workerRecord('flooder')?.cutoffs, 1, 'the cut-off is on record');
    assert.equal(coordinator.store.balance(clientId), balance - charge({ promptTokens: PROMPT_TOKENS, completionTokens: 0 }));
    await new Promise((r) => setTimeout(r, 500));
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1e6;
    assert.ok(grownMb < 200, `the coordinator's process grew ${grownMb.toFixed(0)} MB for 150 MB of flood`);
    await leave(flooder, 'flooder');
    await booksBalance();
  });

  test('a hello with a live worker’s id but another key is refused, and the live worker keeps serving; with the key it is the same worker reconnecting', async () => {
    const identity = randomIdentity();
    const victim = await enlist('victim', { identity, payoutAddress: payoutAddress(2) });
    const impostor = await FakeWorker.connect(coordinator.url);
    impostor.send(impostor.hello('victim', { sha256, payoutAddress: payoutAddress(3) }));
    assert.equal((await impostor.next('error')).code, 'identity_mismatch');
    assert.equal((await impostor.closed).code, 4007);
    // A hello signed for another connection's challenge is refused too (no replay).
    const replayer = await FakeWorker.connect(coordinator.url);
    const stale = victim.hello('victim', { sha256, identity });
    replayer.send(stale);
    assert.equal((await replayer.next('error')).code, 'identity_mismatch');
    assert.equal(coordinator.registry.get('victim')?.identityKey !== undefined, true, 'the victim is still connected');
    const served = serve(victim, successorText('abc', 4), { promptTokens: PROMPT_TOKENS, completionTokens: 4 });
    const answer = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 4, temperature: 0 });
    await served;
    assert.equal(answer.choices[0]?.message.content, 'defg');
    const again = await enlist('victim', { identity, payoutAddress: payoutAddress(2) });
    assert.equal((await victim.closed).code, 4005, 'the older session of the same key is replaced');
    await leave(again, 'victim');
    await booksBalance();
  });

  test('lying about latency (fast pongs, slow answers) wins nothing: routing follows what the coordinator measured', async () => {
    const liar = await enlist('pong-liar', { payoutAddress: payoutAddress(2) });
    liar.pongSkewMs = 60_000;
    const fast = await enlist('plain-fast', { payoutAddress: payoutAddress(3) });
    let liarJobs = 0;
    let liarServing = true;
    const liarLoop = (async () => {
      while (liarServing) {
        const offer = await liar.nextNew('job.offer', 60_000).catch(() => undefined);
        if (!offer) return;
        liarJobs++;
        liar.send({ type: 'job.accept', jobId: offer.jobId });
        await new Promise((r) => setTimeout(r, 1500));
        [...successorText('abc', 3)].forEach((ch, seq) => liar.send({ type: 'job.chunk', jobId: offer.jobId, seq, text: ch, tokens: 1 }));
        liar.send({ type: 'job.done', jobId: offer.jobId, finishReason: 'length', usage: { promptTokens: PROMPT_TOKENS, completionTokens: 3 } });
      }
    })();
    let fastServing = true;
    const fastLoop = (async () => {
      while (fastServing) {
        const offer = await fast.nextNew('job.offer', 60_000).catch(() => undefined);
        if (!offer) return;
        fast.send({ type: 'job.accept', jobId: offer.jobId });
        [...successorText('abc', 3)].forEach((ch, seq) => fast.send({ type: 'job.chunk', jobId: offer.jobId, seq, text: ch, tokens: 1 }));
        fast.send({ type: 'job.done', jobId: offer.jobId, finishReason: 'length', usage: { promptTokens: PROMPT_TOKENS, completionTokens: 3 } });
      }
    })();
    try {
      for (let i = 0; i < 20; i++) {
        const answer = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 3, temperature: 0 });
        assert.equal(answer.choices[0]?.message.content, 'def');
      }
      // Its first, unmeasured pick, and (in full-suite runs, not yet explained) at times one more.
      assert.ok(liarJobs <= 2, `the pong liar won ${liarJobs} of 20 routing decisions`);
      const measured = (id: string) => coordinator.registry.get(id)?.ttftMs ?? 0;
      assert.ok(measured('pong-liar') > 10 * measured('plain-fast'), `routing ranks by the measured time to first token: liar ${measured('pong-liar')} ms, fast ${measured('plain-fast')} ms`);
      const liarSession = coordinator.registry.get('pong-liar');
      assert.ok(liarSession instanceof WorkerSession && liarSession.rttMs > 0, 'the coordinator timed pongs from its own clock');
    } finally {
      liarServing = false;
      fastServing = false;
      await leave(liar, 'pong-liar');
      await leave(fast, 'plain-fast');
    }
    await Promise.all([liarLoop, fastLoop]);
    await booksBalance();
  });

  test('a worker serving another model than it announces fails spot checks, on plain, penalized and JSON jobs alike: charged nothing, struck, then ejected', async () => {
    const wrongPath = join(await harness.tempDir(), 'wrong.gguf');
    await writeTestModel(wrongPath, { step: 2 });
    const { engine } = await LlamaEngine.load({ modelPath: wrongPath, threads: 1, contextSize: 512, sequences: 1, gpu: 'cpu', warmupTokens: 0, sandbox: false }, () => undefined);
    const identity = randomIdentity();
    const address = payoutAddress(2);
    let cheater = await enlist('cheater', { identity, payoutAddress: address });
    // The other model answers each job as asked (its penalties, its JSON grammar): the check re-scores it the same way.
    const jobs: [OpenAI.ChatCompletionCreateParamsNonStreaming, (content: string) => void][] = [
      [{ model: MODEL, messages: MESSAGES, max_tokens: 8, temperature: 0 }, (content) => assert.equal(content, successorText('abc', 8, 2), 'the other model really generated ("egik…")')],
      [{ model: MODEL, messages: MESSAGES, max_tokens: 8, temperature: 0, frequency_penalty: 1, presence_penalty: 0.5 }, (content) => assert.equal(content, successorText('abc', 8, 2))],
      [{ model: MODEL, messages: MESSAGES, max_tokens: 300, temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: WEATHER_SCHEMA } } }, (content) => assert.deepEqual(Object.keys(JSON.parse(content) as object), ['city', 'sunny'], 'valid JSON of the schema, from the other model')],
    ];
    const failedChecks = await metricValue(coordinator.url, 'silkworm_spot_checks_total', 'result="failed"');
    try {
      for (const [strike, [request, expect]] of jobs.map((job, i) => [i + 1, job] as const)) {
        const balance = coordinator.store.balance(clientId);
        const owed = account(address);
        const pending = client.chat.completions.create(request);
        const offer = await cheater.nextNew('job.offer');
        cheater.send({ type: 'job.accept', jobId: offer.jobId });
        let seq = 0;
        const result = await engine.generate(offer.messages, offer.params, undefined, new AbortController().signal, (text, tokens) => cheater.send({ type: 'job.chunk', jobId: offer.jobId, seq: seq++, text, tokens }));
        cheater.send({ type: 'job.done', jobId: offer.jobId, finishReason: result.finishReason === 'stop' ? 'stop' : 'length', usage: result.usage });
        const answer = await pending;
        expect(answer.choices[0]?.message.content ?? '');
        await coordinator.jobs.settled();
        assert.equal(coordinator.store.workerRecord('cheater')?.verifyFailures, strike, `strike ${strike}`);
        assert.equal(await metricValue(coordinator.url, 'silkworm_spot_checks_total', 'result="failed"'), failedChecks + strike);
        assert.equal(coordinator.store.balance(clientId), balance, 'the client was charged nothing');
        assert.equal(account(address), owed, 'the cheater earned nothing');
        if (strike < 3) {
          // Struck workers still serve (with far less traffic); it has no competitor here.
          assert.equal(coordinator.store.workerRecord('cheater')?.ejectedAt, null);
        }
      }
      assert.notEqual(coordinator.store.workerRecord('cheater')?.ejectedAt, null, 'ejected at the third strike');
      assert.equal((await cheater.closed).code, 4008);
      const back = await FakeWorker.connect(coordinator.url);
      back.send(back.hello('cheater', { identity, sha256 }));
      assert.equal((await back.next('error')).code, 'worker_ejected', 'its key is refused from then on');
      cheater = back;
    } finally {
      await engine.dispose();
    }
    await booksBalance();
  });

  test('tools offered: text from another model fails the check, before a call too, and so do invented arguments of a call alone', async () => {
    const wrongPath = join(await harness.tempDir(), 'wrong.gguf');
    await writeTestModel(wrongPath, { step: 2 });
    const { engine } = await LlamaEngine.load({ modelPath: wrongPath, threads: 1, contextSize: 2048, sequences: 1, gpu: 'cpu', warmupTokens: 0, sandbox: false }, () => undefined);
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const metric = (result: string) => metricValue(coordinator.url, 'silkworm_spot_checks_total', `result="${result}"`);
    const cheater = await enlist('tool-cheater', { payoutAddress: payoutAddress(2) });
    try {
      const [failed, unscored] = [await metric('failed'), await metric('unscored')];
      const pending = client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 8, temperature: 0, tools });
      const offer = await cheater.nextNew('job.offer');
      assert.equal(offer.params.tools?.length, 1);
      cheater.send({ type: 'job.accept', jobId: offer.jobId });
      let seq = 0;
      const result = await engine.generate(offer.messages, offer.params, undefined, new AbortController().signal, (text, tokens) => cheater.send({ type: 'job.chunk', jobId: offer.jobId, seq: seq++, text, tokens }));
      cheater.send({ type: 'job.done', jobId: offer.jobId, finishReason: 'length', usage: result.usage });
      assert.equal((await pending).choices[0]?.message.content, successorText('abc', 8, 2));
      await coordinator.jobs.settled();
      assert.equal(coordinator.store.workerRecord('tool-cheater')?.verifyFailures, 1, 'struck: its text was re-scored after the prompt with the tools in it');
      assert.equal(await metric('failed'), failed + 1);
      // Invented text, then a call: the model writes its text before any call, so the text is re-scored.
      const textThenCall = client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 40, temperature: 0, tools });
      const second = await cheater.nextNew('job.offer');
      cheater.send({ type: 'job.accept', jobId: second.jobId });
      cheater.send({ type: 'job.chunk', jobId: second.jobId, seq: 0, text: 'Let me look.', tokens: 12 });
      cheater.send({ type: 'job.chunk', jobId: second.jobId, seq: 1, text: '', tokens: 12, toolCalls: [{ index: 0, name: 'get_weather', arguments: '{"city":"Oslo"}' }] });
      cheater.send({ type: 'job.done', jobId: second.jobId, finishReason: 'tool_calls', usage: { promptTokens: 1, completionTokens: 24 } });
      const call = (await textThenCall).choices[0]?.message.tool_calls?.[0];
      assert.equal(call?.type === 'function' ? call.function.name : undefined, 'get_weather');
      await coordinator.jobs.settled();
      assert.equal(coordinator.store.workerRecord('tool-cheater')?.verifyFailures, 2, 'struck again: the call does not shield the text');
      // Only a call, with arguments the model did not write: the arguments are re-scored under the function's grammar.
      const onlyCall = client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 40, temperature: 0, tools });
      const third = await cheater.nextNew('job.offer');
      cheater.send({ type: 'job.accept', jobId: third.jobId });
      cheater.send({ type: 'job.chunk', jobId: third.jobId, seq: 0, text: '', tokens: 12, toolCalls: [{ index: 0, name: 'get_weather', arguments: '{"city":"Oslo"}' }] });
      cheater.send({ type: 'job.done', jobId: third.jobId, finishReason: 'tool_calls', usage: { promptTokens: 1, completionTokens: 12 } });
      await onlyCall;
      await coordinator.jobs.settled();
      assert.equal(await metric('failed'), failed + 3);
      assert.equal(coordinator.store.workerRecord('tool-cheater')?.verifyFailures, 3, 'struck for invented arguments: a call does not escape the check');
      assert.equal(await metric('unscored'), unscored, 'every answer above was re-scored');
    } finally {
      await engine.dispose();
      await leave(cheater, 'tool-cheater');
    }
    await booksBalance();
  });

  test('a job that forces a call: invented arguments, the other model’s, or a function the model would not call fail the check and earn nothing; a named function without parameters leaves nothing to check', async () => {
    const wrongPath = join(await harness.tempDir(), 'wrong.gguf');
    await writeTestModel(wrongPath, { step: 2 });
    const { engine } = await LlamaEngine.load({ modelPath: wrongPath, threads: 1, contextSize: 2048, sequences: 1, gpu: 'cpu', warmupTokens: 0, sandbox: false }, () => undefined);
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
      { type: 'function', function: { name: 'now' } },
    ];
    const metric = (result: string) => metricValue(coordinator.url, 'silkworm_spot_checks_total', `result="${result}"`);
    const address = payoutAddress(3);
    const cheater = await enlist('call-cheater', { payoutAddress: address });
    try {
      const [failed, unscored] = [await metric('failed'), await metric('unscored')];
      const forced = async (toolChoice: 'required' | OpenAI.ChatCompletionNamedToolChoice, answer: (offer: Extract<CoordinatorFrame, { type: 'job.offer' }>) => Promise<void>) => {
        const balance = coordinator.store.balance(clientId);
        const owed = account(address);
        const pending = client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 40, temperature: 0, tools, tool_choice: toolChoice });
        const offer = await cheater.nextNew('job.offer');
        assert.deepEqual(offer.params.toolChoice, toolChoice === 'required' ? 'required' : { name: toolChoice.function.name }, 'the worker is told the call is forced');
        cheater.send({ type: 'job.accept', jobId: offer.jobId });
        await answer(offer);
        const call = (await pending).choices[0]?.message.tool_calls?.[0];
        await coordinator.jobs.settled();
        return { call: call?.type === 'function' ? call.function : undefined, charged: balance - coordinator.store.balance(clientId), earned: account(address) - owed };
      };
      const invented = await forced('required', async ({ jobId }) => {
        cheater.send({ type: 'job.chunk', jobId, seq: 0, text: '', tokens: 12, toolCalls: [{ index: 0, name: 'get_weather', arguments: '{"city":"Oslo"}' }] });
        cheater.send({ type: 'job.done', jobId, finishReason: 'tool_calls', usage: { promptTokens: 1, completionTokens: 12 } });
      });
      assert.deepEqual(invented, { call: { name: 'get_weather', arguments: '{"city":"Oslo"}' }, charged: 0n, earned: 0n }, 'the client got the call and was charged nothing; the worker earned nothing');
      assert.equal(coordinator.store.workerRecord('call-cheater')?.verifyFailures, 1);
      // The other model, really generating under the function's grammar: valid arguments, not this model's.
      const other = await forced({ type: 'function', function: { name: 'get_weather' } }, async (offer) => {
        let seq = 0;
        const result = await engine.generate(offer.messages, offer.params, undefined, new AbortController().signal, (text, tokens, toolCalls) => cheater.send({ type: 'job.chunk', jobId: offer.jobId, seq: seq++, text, tokens, ...(toolCalls ? { toolCalls } : {}) }));
        cheater.send({ type: 'job.done', jobId: offer.jobId, finishReason: result.finishReason === 'tool_calls' ? 'tool_calls' : 'length', usage: result.usage });
      });
      assert.equal(other.call?.name, 'get_weather');
      assert.ok(other.call?.arguments.startsWith('{"city":"'), other.call?.arguments);
      assert.deepEqual([other.charged, other.earned], [0n, 0n]);
      assert.equal(coordinator.store.workerRecord('call-cheater')?.verifyFailures, 2);
      assert.equal(await metric('failed'), failed + 2);
      // Named by the client, now() leaves nothing to check: it takes no parameters, and its name was not the model's choice.
      const bare = await forced({ type: 'function', function: { name: 'now' } }, async ({ jobId }) => {
        cheater.send({ type: 'job.chunk', jobId, seq: 0, text: '', tokens: 1, toolCalls: [{ index: 0, name: 'now', arguments: '{}' }] });
        cheater.send({ type: 'job.done', jobId, finishReason: 'tool_calls', usage: { promptTokens: 1, completionTokens: 1 } });
      });
      assert.equal(bare.call?.name, 'now');
      assert.ok(bare.earned > 0n, 'paid: nothing could be checked');
      assert.equal(await metric('unscored'), unscored + 1, 'counted as not re-scored');
      assert.equal(coordinator.store.workerRecord('call-cheater')?.verifyFailures, 2, 'no strike for what cannot be checked');
      // Left to the model, it calls get_weather: a worker answering now() steers the client's agent, and fails, however short the call.
      const steered = await forced('required', async ({ jobId }) => {
        cheater.send({ type: 'job.chunk', jobId, seq: 0, text: '', tokens: 1, toolCalls: [{ index: 0, name: 'now', arguments: '{}' }] });
        cheater.send({ type: 'job.done', jobId, finishReason: 'tool_calls', usage: { promptTokens: 1, completionTokens: 1 } });
      });
      assert.deepEqual([steered.call?.name, steered.charged, steered.earned], ['now', 0n, 0n]);
      assert.equal(coordinator.store.workerRecord('call-cheater')?.verifyFailures, 3);
      assert.notEqual(coordinator.store.workerRecord('call-cheater')?.ejectedAt, null, 'ejected at the third strike');
    } finally {
      await engine.dispose();
      await leave(cheater, 'call-cheater');
    }
    await booksBalance();
  });

  test('a sealed worker’s inflated claims are capped by the sealed sizes and by the client’s signed receipt', async () => {
    const identity = randomIdentity();
    const address = payoutAddress(3);
    const sealer = await enlist('sealed-inflater', { identity, payoutAddress: address });
    const { frame, keyPair } = await sealedDescriptor('sealed-inflater', identity, { id: MODEL, sha256 });
    sealer.send(frame);
    await eventually(() => coordinator.registry.get('sealed-inflater')?.descriptor !== undefined, 5000, 'descriptor');
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, coordinatorUrl: coordinator.url, apiKey: KEY, logger: createLogger('g', { level: 'silent' }) });
    try {
      const replayGuard = new ReplayGuard();
      const served = (async () => {
        const offer = await sealer.nextNew('job.sealed_offer');
        const opened = await openRequest(offer.envelope, { keyPair, workerId: 'sealed-inflater', coordinatorId: coordinator.id, models: [MODEL], replayGuard });
        assert.ok(opened.ok);
        sealer.send({ type: 'job.accept', jobId: offer.jobId });
        const text = successorText('abc', 6);
        for (const ch of text) sealer.send({ type: 'job.sealed_chunk', jobId: offer.jobId, ...(await opened.value.responseSealer.seal(encodeAnswerPart({ text: ch }))), tokens: 50_000 });
        sealer.send({ type: 'job.sealed_chunk', jobId: offer.jobId, ...(await opened.value.responseSealer.seal('', { final: true, finishReason: 'length' })), tokens: 0 });
        sealer.send({ type: 'job.done', jobId: offer.jobId, finishReason: 'length', usage: { promptTokens: 1_000_000, completionTokens: 1_000_000 } });
        return offer.jobId;
      })();
      const balance = coordinator.store.balance(clientId);
      const owed = account(address);
      const sealedClient = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'local', maxRetries: 0 });
      const answer = await sealedClient.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 6, temperature: 0 });
      assert.equal(answer.choices[0]?.message.content, 'defghi', 'the client opened the sealed answer');
      await served;
      await coordinator.jobs.settled();
      // Without the receipt the prompt could only be bounded by the sealed size (over 100 here).
      const truth = { promptTokens: PROMPT_TOKENS, completionTokens: 6 };
      assert.equal(coordinator.store.balance(clientId), balance - charge(truth), 'the client paid what its gateway counted');
      assert.equal(account(address) - owed, earned(truth));
      assert.ok(coordinator.store.disputes('sealed-inflater').some((d) => d.kind === 'over_client_receipt'));
    } finally {
      await gateway.close();
      await leave(sealer, 'sealed-inflater');
    }
    await booksBalance();
  });

  test('ten fresh identities against one established sealed worker: the routing advice a sealed client follows weighs each by what it earned', async () => {
    const sealedWorker = async (id: string) => {
      const identity = randomIdentity();
      const fake = await enlist(id, { identity });
      fake.send((await sealedDescriptor(id, identity, { id: MODEL, sha256 })).frame);
      await eventually(() => coordinator.registry.get(id)?.descriptor !== undefined, 5000, `${id}'s descriptor`);
      return fake;
    };
    const veteran = await sealedWorker('veteran');
    // Its history: thirty clean jobs, as the coordinator records them.
    for (let i = 0; i < 30; i++) coordinator.standing.record('veteran', 'clean');
    await eventually(() => (coordinator.registry.get('veteran')?.reputation ?? 0) > 0.75, 5000, 'the veteran’s standing');
    const sybils = await Promise.all(Array.from({ length: 10 }, (_, i) => sealedWorker(`sybil-${i}`)));
    const client = new SilkwormClient({ coordinatorUrl: coordinator.url, apiKey: KEY, minTier: 'sandboxed' });
    const listing = await client.listWorkers(MODEL);
    assert.equal(listing.workers.length, 11);
    const weight = (id: string) => listing.weights?.get(id) ?? 0;
    assert.ok(weight('veteran') > 3.5 * weight('sybil-0'), `one established identity outweighs a fresh one by its reputation (${weight('veteran')} vs ${weight('sybil-0')})`);
    let veteranPicks = 0;
    for (let i = 0; i < 5000; i++) if (pickByWeight(listing.workers, listing.weights).workerId === 'veteran') veteranPicks++;
    // Uniform picking would give it 1 in 11 (about 455 of 5000); by the advice, about 0.8 / (0.8 + 10 × 0.2).
    assert.ok(veteranPicks > 1100, `the veteran takes ${veteranPicks} of 5000 picks`);
    for (const [i, fake] of [veteran, ...sybils].entries()) await leave(fake, i === 0 ? 'veteran' : `sybil-${i - 1}`);
  });

  test('the honest worker earns exactly what it did before the attacks, and its penalized, JSON and forced-call answers pass the checks', async () => {
    const honest = await harness.worker(coordinator.url, { extra: ['--payout-address', honestPayout, '--data', honestDataDir] });
    assert.equal(await honestRequest(), honestBaseline);
    const passed = await metricValue(coordinator.url, 'silkworm_spot_checks_total', 'result="passed"');
    const requests: OpenAI.ChatCompletionCreateParamsNonStreaming[] = [
      { model: MODEL, messages: MESSAGES, max_tokens: 150, temperature: 1, seed: 5, frequency_penalty: 2, presence_penalty: 2 },
      { model: MODEL, messages: MESSAGES, max_tokens: 300, temperature: 0.8, seed: 9, response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: WEATHER_SCHEMA } } },
      { model: MODEL, messages: MESSAGES, max_tokens: 40, temperature: 0, response_format: { type: 'json_object' } },
      // Forced calls: their arguments are re-scored under the function's grammar.
      { model: MODEL, messages: MESSAGES, max_tokens: 30, temperature: 0, tools: [WEATHER_TOOL], tool_choice: 'required' },
      { model: MODEL, messages: MESSAGES, max_tokens: 30, temperature: 0.9, seed: 4, tools: [WEATHER_TOOL], tool_choice: { type: 'function', function: { name: 'get_weather' } } },
    ];
    for (const request of requests) {
      const before = account(honestPayout);
      const answer = await client.chat.completions.create(request);
      if (request.response_format) JSON.parse(answer.choices[0]?.message.content ?? '');
      if (request.tool_choice) assert.equal(answer.choices[0]?.message.tool_calls?.length, 1, 'answered with a call');
      // The tools are documented in the prompt: it is longer than the plain chat's.
      const promptTokens = request.tools ? (answer.usage?.prompt_tokens ?? -1) : PROMPT_TOKENS;
      if (request.tools) assert.ok(promptTokens > PROMPT_TOKENS + 100);
      await coordinator.jobs.settled();
      assert.equal(account(honestPayout) - before, earned({ promptTokens, completionTokens: answer.usage?.completion_tokens ?? -1 }), 'paid for the whole answer');
    }
    assert.equal(await metricValue(coordinator.url, 'silkworm_spot_checks_total', 'result="passed"'), passed + requests.length, 'each answer was re-scored, and passed');
    assert.equal(coordinator.store.workerRecord(honest.workerId)?.verifyFailures, 0);
    assert.deepEqual(coordinator.store.disputes(honest.workerId), []);
    await booksBalance();
  });
});
