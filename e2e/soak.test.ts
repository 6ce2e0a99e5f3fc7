/**
 * Books under faults: thousands of jobs through real processes (chain, coordinator, three
 * workers with their ledgers) while the test cancels requests, lets a stalling worker time jobs
 * out, kills a job process, kills a worker and brings it back, kills the coordinator and restarts
 * it on the same data, takes a worker offline, and prices the work so the vault runs short. Then:
 * `silkworm coordinator audit --chain` passes, every receipt reached its worker once, and every
 * worker's ledger equals what the chain paid its payout account, to the nanoton, with nothing
 * flagged in its books (everyone here is honest).
 * SILKWORM_SOAK_JOBS (default 2000) and SILKWORM_SOAK_SEED (default 1) change the run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { Address } from '@ton/core';
import { TonClient, WalletContractV5R1 } from '@ton/ton';
import { keyPairFromSeed, mnemonicToPrivateKey } from '@ton/crypto';
import { clientIdForKey } from '../network/coordinator/server.js';
import { paidToWorker } from '../network/coordinator/push-chain.js';
import { sha256File } from '../main/models/model-file.js';
import { FakeWorker } from './fake-worker.js';
import { eventually, Harness, isAlive, type SilkwormProcess } from './harness.js';

const JOBS = Number(process.env.SILKWORM_SOAK_JOBS ?? 2000);
const SEED = Number(process.env.SILKWORM_SOAK_SEED ?? 1);
const KEY = 'sk-soak';
const ADMIN = 'admin-soak';
const MODEL = 'silkworm-test';
/** A catalog model only the stalling worker serves: its jobs time out. */
const STALL_MODEL = 'silkworm-stall';
const CONCURRENCY = 8;
/** 10,000 TON per 1M prompt tokens and 30,000 per 1M completion: about 0.4 TON a job, so the vault (10 TON) runs short. */
const PRICES = { default: { promptPerMillion: '10000000000000', completionPerMillion: '30000000000000' }, models: {}, commissionBps: 1000 };

/** A seeded generator (mulberry32): the same faults in the same order for a seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function payoutAddress(seed: number): Address {
  return WalletContractV5R1.create({ workchain: 0, publicKey: keyPairFromSeed(Buffer.alloc(32, seed)).publicKey, walletId: { networkGlobalId: -3 } }).address;
}

interface WorkerSlot {
  index: number;
  dataDir: string;
  payout: Address;
  proc: SilkwormProcess | undefined;
}

const harness = new Harness();
const rand = random(SEED);
let chainUrl: string;
let coordinatorDir: string;
let coordinatorArgs: string[];
let coordinatorPort = 0;
let coordinator: SilkwormProcess | undefined;
/** Every coordinator process of the run (the first is killed half way). */
const coordinators: SilkwormProcess[] = [];
let coordinatorUrl = '';
const workers: WorkerSlot[] = [];
const outcomes = new Map<string, number>();

async function startCoordinator(): Promise<void> {
  const started = await harness.coordinator({ apiKeys: [KEY], port: coordinatorPort, dataDir: coordinatorDir, extra: coordinatorArgs });
  coordinator = started.proc;
  coordinators.push(started.proc);
  coordinatorUrl = started.url;
  coordinatorPort = Number(new URL(started.url).port);
}

async function startWorker(slot: WorkerSlot): Promise<void> {
  const proc = harness.spawn(['worker', '--coordinator', coordinatorUrl, '--data', slot.dataDir, '--model', await harness.model(), '--threads', '1', '--payout-address', slot.payout.toString({ testOnly: true, bounceable: false }), '--chain', chainUrl, '--share', 'always', '--max-jobs', '2']);
  await proc.waitFor((l) => l.msg === 'model loaded', 120_000, `worker ${slot.index} model`);
  await proc.waitFor((l) => l.msg === 'connected to the coordinator', 120_000, `worker ${slot.index} connected`);
  slot.proc = proc;
}

async function stopWorker(slot: WorkerSlot, signal: NodeJS.Signals): Promise<void> {
  const proc = slot.proc;
  slot.proc = undefined;
  proc?.kill(signal);
  await proc?.exited;
}

/** Reads a database of a running process without disturbing it (WAL readers do not block writers). */
function readDb<T>(path: string, read: (db: Database.Database) => T): T {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    const alive = [coordinator, ...workers.map((w) => w.proc)].map((p) => (p ? `${p.child.pid}:${p.child.exitCode ?? p.child.signalCode ?? 'running'}` : 'none'));
    throw new Error(`cannot open ${path} (${String(error)}); processes ${alive.join(' ')}; coordinator: ${coordinator?.output.slice(-8).join('\n')}`);
  }
  try {
    db.defaultSafeIntegers(true);
    return read(db);
  } finally {
    db.close();
  }
}

const coordinatorDb = <T>(read: (db: Database.Database) => T) => readDb(join(coordinatorDir, 'coordinator.sqlite'), read);

before(async () => {
  const chainDir = await harness.tempDir();
  const chain = harness.spawn(['chain', '--listen', '127.0.0.1:0', '--data', chainDir]);
  chainUrl = String((await chain.waitFor((l) => l.msg === 'chain ready', 30_000, 'chain ready')).url);
  const catalogDir = await harness.tempDir();
  const model = await harness.model();
  await copyFile(model, join(catalogDir, `${MODEL}.gguf`));
  await copyFile(model, join(catalogDir, `${STALL_MODEL}.gguf`));
  const sha256 = await sha256File(model);
  const entry = (id: string) => ({ id, name: id, url: `files/${id}.gguf`, sizeBytes: 470_304, sha256, quantization: 'F32', contextLength: 2048 });
  await writeFile(join(catalogDir, 'catalog.json'), JSON.stringify({ models: [entry(MODEL), entry(STALL_MODEL)] }));
  await writeFile(join(catalogDir, 'prices.json'), JSON.stringify(PRICES));
  coordinatorDir = await harness.tempDir();
  coordinatorArgs = ['--admin-key', ADMIN, '--chain', chainUrl, '--push-threshold', '0.000000001', '--push-interval', '2', '--request-timeout', '3000', '--prices', join(catalogDir, 'prices.json'), '--catalog', join(catalogDir, 'catalog.json'), '--verify-rate', '0.05'];
  await startCoordinator();
  const deposit = await fetch(`${coordinatorUrl}/v1/admin/deposits`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ client: clientIdForKey(KEY), nanotons: (5000n * 10n ** 9n).toString(), reference: 'soak' }) });
  assert.equal(deposit.status, 201);
  for (let i = 0; i < 3; i++) workers.push({ index: i, dataDir: await harness.tempDir(), payout: payoutAddress(i + 1), proc: undefined });
  await Promise.all(workers.map((slot) => startWorker(slot)));
});
after(() => harness.cleanup());

/** One client request: streamed, sometimes abandoned after its first chunk. */
async function oneJob(client: OpenAI, n: number, model: string): Promise<string> {
  const cancel = rand() < 0.08;
  const controller = new AbortController();
  try {
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `job ${n} ${'abcdefgh'.slice(0, 1 + (n % 8))}` }], max_tokens: 8, temperature: 0, stream: true }, { signal: controller.signal });
    for await (const _chunk of stream) {
      if (cancel) {
        controller.abort();
        return 'cancelled';
      }
    }
    return 'done';
  } catch (error) {
    if (controller.signal.aborted) return 'cancelled';
    // A stream that already started reports a failure as an error event (no HTTP status): its code.
    if (error instanceof OpenAI.APIError && (error.status !== undefined || error.code)) return error.status !== undefined ? `http_${error.status}` : `error_${error.code}`;
    await new Promise((r) => setTimeout(r, 200)); // the coordinator is restarting
    return 'unreachable';
  }
}

test(`${JOBS} jobs under faults: the books balance, every receipt arrives once, every ledger equals the chain`, { timeout: 1_200_000 }, async () => {
  const client = () => new OpenAI({ baseURL: `${coordinatorUrl}/v1`, apiKey: KEY, maxRetries: 0, timeout: 20_000 });
  let next = 0;
  const started = performance.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} ${((performance.now() - started) / 1000).toFixed(0)} s`);
  let staller: FakeWorker | undefined;
  const faults: string[] = [];
  /**
   * Faults at fixed points of the run. A fault that takes the coordinator down holds the other
   * client loops (`exclusive`), so the run is not spent on requests to a closed port.
   */
  const schedule: { at: number; exclusive?: boolean; run: () => Promise<string> }[] = [
    {
      at: 0.1,
      run: async () => {
        staller = await FakeWorker.join(coordinatorUrl, 'staller', { model: STALL_MODEL, maxConcurrentJobs: 4, sha256: await sha256File(await harness.model()), payoutAddress: payoutAddress(9).toString({ testOnly: true }) });
        staller.socket.on('message', (data: Buffer) => {
          const frame = JSON.parse(data.toString('utf8')) as { type: string; jobId?: string };
          if (frame.type === 'job.offer' && frame.jobId) staller?.send({ type: 'job.accept', jobId: frame.jobId }); // …and never a token
        });
        return 'staller joined';
      },
    },
    {
      at: 0.15,
      run: async () => {
        const pid = Number([...workers[0]!.proc!.lines].reverse().find((l) => typeof l.enginePid === 'number')?.enginePid);
        if (isAlive(pid)) process.kill(pid, 'SIGKILL');
        return `job process ${pid} killed`;
      },
    },
    { at: 0.25, run: async () => (staller?.close(), 'staller left') },
    { at: 0.3, run: async () => (await stopWorker(workers[1]!, 'SIGKILL'), 'worker 1 killed') },
    { at: 0.4, run: async () => (await startWorker(workers[1]!), 'worker 1 back') },
    {
      at: 0.5,
      exclusive: true,
      run: async () => {
        coordinator?.kill('SIGKILL');
        await coordinator?.exited;
        await startCoordinator();
        // Workers reconnect on their own (with backoff); wait for them, as clients would retry.
        const back = () => workers.every((w) => (w.proc?.lines.filter((l) => l.msg === 'connected to the coordinator').length ?? 0) >= 2);
        // A worker's reconnect backoff grows to 30 s while the coordinator is down.
        await eventually(back, 120_000, 'workers back').catch((error: Error) => {
          throw new Error(`${error.message}: ${workers.map((w) => `worker ${w.index}: ${w.proc?.output.slice(-25).join("\n")}`).join('\n')}`);
        });
        return 'coordinator killed and restarted';
      },
    },
    { at: 0.7, run: async () => (await stopWorker(workers[2]!, 'SIGTERM'), 'worker 2 offline') },
    { at: 0.8, run: async () => (await startWorker(workers[2]!), 'worker 2 back') },
  ];
  let gate: Promise<void> = Promise.resolve();
  const injectDue = async () => {
    while (schedule.length > 0 && schedule[0]!.at * JOBS <= next) {
      const fault = schedule.shift()!;
      const run = fault.run().then((what) => void faults.push(what));
      if (fault.exclusive) gate = run;
      await run;
    }
  };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, loop) => {
      for (;;) {
        if (loop === 0) await injectDue();
        await gate;
        const n = next++;
        if (n >= JOBS) return;
        // While the staller is there, some clients ask for its model: those jobs time out.
        const model = staller && staller.socket.readyState === staller.socket.OPEN && n % 10 === 0 ? STALL_MODEL : MODEL;
        const outcome = await oneJob(client(), n, model);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    }),
  );
  phase('jobs');
  console.log(`soak: ${JOBS} jobs, seed ${SEED}, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; faults: ${faults.join(', ')}`);
  assert.ok((outcomes.get('done') ?? 0) > JOBS / 2, 'most jobs were served');
  assert.ok((outcomes.get('cancelled') ?? 0) > 0, 'cancels happened');
  assert.ok((outcomes.get('error_timeout') ?? 0) + (outcomes.get('http_504') ?? 0) > 0, 'timeouts happened');
  assert.equal(faults.length, 8, 'every fault was injected');

  // Every worker online again: every receipt is delivered and acknowledged (the staller is gone
  // for good; its receipts wait in the outbox, as they would for any worker that never returns).
  const ids = workers.map((w) => String(w.proc?.lines.find((l) => l.msg === 'model loaded')?.workerId));
  const unacked = () => coordinatorDb((db) => db.prepare(`SELECT worker_id, COUNT(*) AS n FROM receipts WHERE acked = 0 AND worker_id IN (${ids.map(() => '?').join(',')}) GROUP BY worker_id`).all(...ids)) as { worker_id: string; n: bigint }[];
  await eventually(() => unacked().length === 0, 120_000, 'every receipt acknowledged').catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(unacked(), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`);
  });
  phase('receipts acknowledged');
  const held = coordinatorDb((db) => (db.prepare('SELECT COUNT(*) AS n FROM holds').get() as { n: bigint }).n);
  assert.equal(held, 0n, 'no hold outlives its job');

  // The vault ran short: fund the coordinator's wallet; the pushes then pay everyone in full.
  const words = (JSON.parse(await readFile(join(coordinatorDir, 'wallet.json'), 'utf8')) as { mnemonic: string[] }).mnemonic;
  const wallet = WalletContractV5R1.create({ workchain: 0, publicKey: (await mnemonicToPrivateKey(words)).publicKey, walletId: { networkGlobalId: -3 } }).address;
  const pushLog = coordinators.flatMap((c) => c.lines.filter((l) => /push/.test(String(l.msg))));
  const wasShort = pushLog.some((l) => l.msg === 'push held for accounts the vault and wallet cannot fund; fund the coordinator wallet');
  const accounts = coordinatorDb((db) => db.prepare('SELECT account, cumulative, pushed FROM accounts').all());
  assert.ok(wasShort, `the vault and wallet ran short before the top-up: ${JSON.stringify({ pushLog: pushLog.slice(-6), accounts }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
  for (let i = 0; i < 2; i++) {
    const funded = await fetch(`${chainUrl}/faucet`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ address: wallet.toString({ testOnly: true }), amount: (1000n * 10n ** 9n).toString() }) });
    assert.equal(funded.status, 200);
  }
  await eventually(() => coordinatorDb((db) => (db.prepare(`SELECT COUNT(*) AS n FROM accounts WHERE pushed < cumulative AND account NOT LIKE 'worker:%'`).get() as { n: bigint }).n) === 0n, 240_000, 'every account pushed in full');

  phase('pushed');
  const ton = new TonClient({ endpoint: `${chainUrl}/jsonRPC` });
  const vault = Address.parse(coordinatorDb((db) => (db.prepare(`SELECT value FROM settings WHERE key = 'vault'`).get() as { value: string }).value));
  const anomalies: string[] = [];
  for (const slot of workers) {
    const account = slot.payout.toRawString();
    const credited = coordinatorDb((db) => (db.prepare('SELECT cumulative FROM accounts WHERE account = ?').get(account) as { cumulative: bigint }).cumulative);
    const onChain = await paidToWorker(ton, vault, slot.payout);
    assert.equal(onChain, credited, `worker ${slot.index}: the chain paid exactly what it was credited`);
    const ledger = join(slot.dataDir, 'books', `${account.replace(':', '_')}.sqlite`); // books per payout address
    await eventually(() => readDb(ledger, (db) => (db.prepare(`SELECT MAX(CAST(cumulative_nanotons AS INTEGER)) AS c FROM payouts WHERE status = 'applied'`).get() as { c: bigint | null }).c) === onChain, 120_000, `worker ${slot.index}'s ledger sees every payout`);
    const books = readDb(ledger, (db) => ({
      earned: (db.prepare('SELECT SUM(earned_nanotons) AS s FROM jobs').get() as { s: bigint }).s,
      paid: (db.prepare(`SELECT SUM(COALESCE(due_nanotons, amount_nanotons)) AS s FROM payouts WHERE status = 'applied'`).get() as { s: bigint }).s,
      flagged: (db.prepare(`SELECT COUNT(*) AS n FROM payouts WHERE status = 'flagged'`).get() as { n: bigint }).n,
      anomalies: db.prepare('SELECT code, COUNT(*) AS n FROM anomalies GROUP BY code').all() as { code: string; n: bigint }[],
      alarms: db.prepare(`SELECT ref, message FROM anomalies WHERE code = 'job_conflict'`).all() as { ref: string; message: string }[],
      underpaid: db.prepare(`SELECT ref, message FROM anomalies WHERE code = 'underpaid' LIMIT 3`).all() as { ref: string; message: string }[],
    }));
    anomalies.push(`worker ${slot.index}: ${books.anomalies.map((a) => `${a.code} ${a.n}`).join(', ') || 'none'}`);
    // A resent receipt is no conflict, and a cancelled job's tokens still on the wire are no underpayment.
    const story = (jobId: string) => [...coordinators, slot.proc].flatMap((p) => p?.output.filter((l) => l.includes(jobId)) ?? []).join('\n');
    // Every worker here is honest and so is the coordinator: no receipt may read as underpaid
    // (a job the client left is billed for what reached it, and the receipt says so).
    assert.deepEqual(books.underpaid, [], `worker ${slot.index}: an honest worker paid in full is never flagged underpaid: ${books.underpaid.map((u) => `${u.message}\n${story(u.ref).split('\n').map((l) => l.slice(0, 400)).join('\n')}`).join('\n')}`);
    assert.deepEqual(books.alarms, [], `worker ${slot.index}: a receipt sent again is never a conflict: ${books.alarms.map((a) => `${a.message}\n${story(a.ref)}`).join('\n')}`);
    assert.equal(books.earned, credited, `worker ${slot.index}: its ledger holds every receipt once`);
    assert.equal(books.paid, onChain, `worker ${slot.index}: its ledger equals the chain to the nanoton`);
    assert.equal(books.flagged, 0n, `worker ${slot.index}: no payout flagged`);
    // Nor anything else: a receipt resent after a reconnect or a restart carries the voucher the books hold, which is no flag.
    assert.deepEqual(books.anomalies, [], `worker ${slot.index}: an honest network leaves no flag in the books`);
  }
  phase('ledgers');
  console.log(`soak: ledger anomalies: ${anomalies.join('; ')}`);

  const audit = harness.spawn(['coordinator', 'audit', '--data', coordinatorDir, '--chain', chainUrl]);
  const { code } = await audit.exited;
  assert.equal(code, 0, `audit: ${audit.output.join('\n')}`);
  assert.ok(audit.output.some((l) => l.includes('ok: every invariant holds')));
  phase('audit');
  console.log(`soak: ${phases.join(', ')}`);
});
