/**
 * A coordinator store holding a large history of settled jobs, for timing the books' audit
 * (network/coordinator/audit.ts) at scale. The history is a deterministic list of the store's
 * own operations — deposits, holds, settlements through Billing's arithmetic, vault pushes,
 * receipt acknowledgements, and a few holds of jobs still running — that can be applied two ways:
 *   - `replayBooks`: through the real store (openSqliteStore) and Billing, one transaction each;
 *   - `writeBooksBulk`: the same rows written in large transactions by plain INSERTs, fast
 *     enough for a million jobs. coordinator-books.test.ts checks that both write identical rows.
 * The coordinator has no vault here, so receipts carry no voucher (signing a million would time
 * the signer, not the store).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openSqliteStore, checkBooks, MAX_ACCOUNT_NANOTONS, BooksError } from '../network/coordinator/sqlite-store.js';
import { Billing, earningsAccount } from '../network/coordinator/billing.js';
import type { MeteredPart } from '../network/coordinator/metering.js';
import type { JobOutcome, JobReceiptFrame, SettledJob, WorkerCredit } from '../network/coordinator/store.js';
import { coefficientMilli, DEFAULT_PRICE_LIST, jobCost, MAX_JOB_NANOTONS, priceOf, splitCost } from '../network/protocol/pricing.js';

/** The size and shape of a history. */
export interface BooksSpec {
  jobs: number;
  clients: number;
  workers: number;
  /** Holds of jobs still running at the end (not settled). */
  openHolds: number;
  /** Time of the last settlement; the history spans the year before it. */
  now: number;
  seed?: number;
}

/** One operation on the store, in the order the coordinator would perform it. */
export type BooksOp =
  | { kind: 'deposit'; clientId: string; amount: bigint; reference: string }
  | { kind: 'reserve'; clientId: string; jobId: string; amount: bigint; expiresAt: number }
  | { kind: 'settle'; jobId: string; clientId: string | undefined; model: string; outcome: JobOutcome; parts: MeteredPart[]; at: number }
  /** The vault paid every account with a payout address up to its current total, and workers acknowledged every receipt so far. */
  | { kind: 'push-and-ack' };

const MODELS = ['llama-3.1-8b', 'qwen2.5-7b', 'mistral-7b', 'gemma-2-9b', 'phi-3-mini'];
const COEFFICIENTS = [1, 1, 1, 0.8, 1.2, 1.5];
const OUTCOMES: JobOutcome[] = ['done', 'done', 'done', 'done', 'done', 'done', 'done', 'done', 'cancelled', 'cut_off', 'failed', 'timeout'];
const YEAR_MS = 365 * 86_400_000;
const MAX_TOKENS = 1024;

/** A small deterministic PRNG (mulberry32): the same spec always yields the same history. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The store's operations for a history of `spec.jobs` settled jobs. */
export function* booksOperations(spec: BooksSpec): Generator<BooksOp> {
  const random = prng(spec.seed ?? 1);
  const int = (n: number) => Math.floor(random() * n);
  const hex = (chars: number) => {
    let out = '';
    while (out.length < chars) out += (int(2 ** 32) >>> 0).toString(16).padStart(8, '0');
    return out.slice(0, chars);
  };
  const uuid = () => {
    const h = hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
  };
  // Workers: nine in ten have a payout address (raw form, as earningsAccount keeps it).
  const workers = Array.from({ length: spec.workers }, (_, i) => ({
    workerId: `worker-${i}-${hex(8)}`,
    payoutAddress: random() < 0.9 ? `0:${hex(64)}` : undefined,
    coefficient: COEFFICIENTS[int(COEFFICIENTS.length)] as number,
  }));
  const clients = Array.from({ length: spec.clients }, (_, i) => `client-${i}-${hex(16)}`);
  let reference = 0;
  for (const clientId of clients) {
    for (let k = 1 + int(3); k > 0; k--) yield { kind: 'deposit', clientId, amount: 1_000_000_000_000n + BigInt(int(1_000_000)), reference: `tx-${++reference}-${hex(16)}` };
  }
  const price = priceOf(DEFAULT_PRICE_LIST, '');
  const pushAt = Math.floor(spec.jobs * 0.8);
  const start = spec.now - YEAR_MS;
  for (let i = 0; i < spec.jobs; i++) {
    if (i === pushAt) yield { kind: 'push-and-ack' };
    const jobId = `job-${uuid()}`;
    const model = MODELS[int(MODELS.length)] as string;
    const metered = random() >= 0.02;
    const clientId = metered ? clients[int(clients.length)] : undefined;
    const at = start + Math.floor((i * YEAR_MS) / spec.jobs);
    const promptTokens = 20 + int(2000);
    // One job in thirty moved to a second worker, which continued after the first one's text.
    const attempts = random() < 1 / 30 ? 2 : 1;
    let left = 1 + int(MAX_TOKENS);
    const parts: MeteredPart[] = [];
    const first = int(workers.length);
    for (let a = 0; a < attempts; a++) {
      // A retry goes to another worker (the job manager never offers a job twice to one).
      const worker = workers[(first + a * (1 + int(workers.length - 1))) % workers.length]!;
      const completionTokens = a === attempts - 1 ? left : int(left);
      left -= completionTokens;
      const usage = { promptTokens, completionTokens };
      // One part in a hundred claimed more than the coordinator counted.
      const claimed = random() < 0.01 ? { promptTokens: promptTokens + 1 + int(50), completionTokens: completionTokens + int(50) } : undefined;
      parts.push({ workerId: worker.workerId, payoutAddress: worker.payoutAddress, coefficient: worker.coefficient, usage, ...(claimed ? { claimed } : {}) });
    }
    if (clientId) {
      // Billing.worstCase: every allowed token at the client's highest coefficient, + 1 per attempt.
      const amount = jobCost(price, { promptTokens: promptTokens * attempts, completionTokens: MAX_TOKENS }, 2) + 3n;
      yield { kind: 'reserve', clientId, jobId, amount, expiresAt: at + 600_000 };
    }
    yield { kind: 'settle', jobId, clientId, model, outcome: OUTCOMES[int(OUTCOMES.length)] as JobOutcome, parts, at };
  }
  for (let i = 0; i < spec.openHolds; i++) {
    const clientId = clients[int(clients.length)] as string;
    yield { kind: 'reserve', clientId, jobId: `job-${uuid()}`, amount: jobCost(price, { promptTokens: 100 + int(2000), completionTokens: MAX_TOKENS }, 2) + 3n, expiresAt: spec.now + 3_600_000 };
  }
}

/** Applies a history through the real store and Billing (one durable transaction per operation: small histories). */
export function replayBooks(dataDir: string, spec: BooksSpec): void {
  const store = openSqliteStore(dataDir);
  const billing = new Billing({ store });
  const accounts = new Set<string>();
  const workers = new Set<string>();
  try {
    for (const op of booksOperations(spec)) {
      switch (op.kind) {
        case 'deposit':
          store.deposit(op.clientId, op.amount, op.reference);
          break;
        case 'reserve':
          if (store.reserve(op.clientId, op.jobId, op.amount, op.expiresAt) !== 'held') throw new Error(`reserve ${op.jobId} refused`);
          break;
        case 'settle':
          billing.settle(op.jobId, op.clientId, op.model, op.outcome, op.parts);
          for (const p of op.parts) {
            accounts.add(earningsAccount(p.workerId, p.payoutAddress));
            workers.add(p.workerId);
          }
          break;
        case 'push-and-ack':
          for (const account of accounts) if (!account.startsWith('worker:')) store.markPushed(account, store.account(account).cumulative);
          for (const workerId of workers) store.ackReceipts(workerId, Number.MAX_SAFE_INTEGER);
          break;
      }
    }
  } finally {
    store.close();
  }
}

/** Receipt frame as Billing builds it for a coordinator without a vault. */
function receiptFrame(jobId: string, model: string, credit: WorkerCredit, account: string, cumulative: bigint, seq: number): JobReceiptFrame {
  return {
    type: 'job.receipt',
    seq,
    jobId,
    model,
    usage: { promptTokens: credit.promptTokens, completionTokens: credit.completionTokens },
    ...(credit.claimed ? { claimed: credit.claimed } : {}),
    coefficientMilli: credit.coefficientMilli,
    costNanotons: credit.cost.toString(),
    earnedNanotons: credit.earned.toString(),
    account,
    cumulativeNanotons: cumulative.toString(),
  };
}

/**
 * Writes the same rows as `replayBooks` with plain INSERTs in large transactions (synchronous
 * off while building: the file is scratch until it is closed). The store is first opened once
 * the normal way, so the schema is every migration's. Returns the number of jobs settled.
 */
export function writeBooksBulk(dataDir: string, spec: BooksSpec): { jobs: number; credits: number } {
  openSqliteStore(dataDir).close();
  const db = new Database(join(dataDir, 'coordinator.sqlite'));
  db.defaultSafeIntegers(true);
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const insert = {
    deposit: db.prepare('INSERT INTO deposits (reference, client_id, amount) VALUES (?, ?, ?)'),
    job: db.prepare('INSERT INTO jobs (job_id, client_id, model, cost, commission, held, outcome, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    credit: db.prepare(
      'INSERT INTO job_credits (job_id, account, worker_id, cost, earned, prompt_tokens, completion_tokens, claimed_prompt, claimed_completion, coefficient_milli) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    receipt: db.prepare('INSERT INTO receipts (worker_id, seq, job_id, frame, acked) VALUES (?, ?, ?, ?, ?)'),
    client: db.prepare('INSERT INTO clients (id, balance) VALUES (?, ?)'),
    account: db.prepare('INSERT INTO accounts (account, cumulative, seq, pushed) VALUES (?, ?, ?, ?)'),
    hold: db.prepare('INSERT INTO holds (job_id, client_id, amount, expires_at) VALUES (?, ?, ?, ?)'),
  };
  const balances = new Map<string, bigint>();
  const holds = new Map<string, { clientId: string; amount: bigint; expiresAt: number }>();
  const accounts = new Map<string, { cumulative: bigint; seq: number; pushed: bigint }>();
  const accountOf = new Map<string, string>();
  const receiptSeq = new Map<string, number>();
  let acked = 0;
  let jobs = 0;
  let credits = 0;
  const price = priceOf(DEFAULT_PRICE_LIST, '');
  const bound = (what: string, value: bigint, max: bigint) => {
    if (value < 0n || value > max) throw new BooksError(`${what} out of bounds: ${value}`);
  };
  const apply = (op: BooksOp) => {
    switch (op.kind) {
      case 'deposit': {
        insert.deposit.run(op.reference, op.clientId, op.amount);
        const balance = (balances.get(op.clientId) ?? 0n) + op.amount;
        bound(`balance of ${op.clientId}`, balance, MAX_ACCOUNT_NANOTONS);
        balances.set(op.clientId, balance);
        break;
      }
      case 'reserve': {
        bound(`hold of ${op.jobId}`, op.amount, MAX_JOB_NANOTONS);
        const balance = balances.get(op.clientId) ?? 0n;
        if (balance < op.amount) throw new Error(`reserve ${op.jobId}: balance short`);
        balances.set(op.clientId, balance - op.amount);
        holds.set(op.jobId, { clientId: op.clientId, amount: op.amount, expiresAt: op.expiresAt });
        break;
      }
      case 'settle': {
        // Billing.settle's arithmetic, then SqliteStore.settle's writes.
        const jobCredits: WorkerCredit[] = op.parts.map((p) => {
          const cost = jobCost(price, p.usage, p.coefficient);
          let account = accountOf.get(p.workerId);
          if (account === undefined) accountOf.set(p.workerId, (account = earningsAccount(p.workerId, p.payoutAddress)));
          return { account, workerId: p.workerId, cost, earned: splitCost(cost, DEFAULT_PRICE_LIST.commissionBps).worker, ...p.usage, coefficientMilli: Number(coefficientMilli(p.coefficient)), ...(p.claimed ? { claimed: p.claimed } : {}) };
        });
        const charge = jobCredits.reduce((sum, c) => sum + c.cost, 0n);
        const job: SettledJob = { jobId: op.jobId, clientId: op.clientId ?? 'unmetered', model: op.model, outcome: op.outcome, charge, commission: charge - jobCredits.reduce((sum, c) => sum + c.earned, 0n), credits: jobCredits };
        const hold = holds.get(op.jobId);
        checkBooks(job, job.clientId === 'unmetered' ? undefined : (hold?.amount ?? 0n));
        insert.job.run(job.jobId, job.clientId, job.model, job.charge, job.commission, hold?.amount ?? 0n, job.outcome, op.at);
        if (hold) {
          balances.set(hold.clientId, (balances.get(hold.clientId) ?? 0n) + (hold.amount > job.charge ? hold.amount - job.charge : 0n));
          holds.delete(op.jobId);
        }
        for (const c of jobCredits) {
          insert.credit.run(job.jobId, c.account, c.workerId, c.cost, c.earned, c.promptTokens, c.completionTokens, c.claimed?.promptTokens ?? null, c.claimed?.completionTokens ?? null, c.coefficientMilli);
          const total = accounts.get(c.account) ?? { cumulative: 0n, seq: 0, pushed: 0n };
          total.cumulative += c.earned;
          total.seq += 1;
          bound(`account ${c.account}`, total.cumulative, MAX_ACCOUNT_NANOTONS);
          accounts.set(c.account, total);
          const seq = (receiptSeq.get(c.workerId) ?? 0) + 1;
          receiptSeq.set(c.workerId, seq);
          insert.receipt.run(c.workerId, seq, job.jobId, JSON.stringify(receiptFrame(job.jobId, job.model, c, c.account, total.cumulative, total.seq)), acked);
          credits++;
        }
        jobs++;
        break;
      }
      case 'push-and-ack':
        for (const [account, total] of accounts) if (!account.startsWith('worker:')) total.pushed = total.cumulative > total.pushed ? total.cumulative : total.pushed;
        db.prepare('UPDATE receipts SET acked = 1 WHERE acked = 0').run();
        acked = 0;
        break;
    }
  };
  try {
    const batch = db.transaction((ops: BooksOp[]) => ops.forEach(apply));
    let ops: BooksOp[] = [];
    for (const op of booksOperations(spec)) {
      ops.push(op);
      if (ops.length === 20_000) {
        batch(ops);
        ops = [];
      }
    }
    batch(ops);
    db.transaction(() => {
      for (const [id, balance] of balances) insert.client.run(id, balance);
      for (const [account, total] of accounts) insert.account.run(account, total.cumulative, total.seq, total.pushed);
      for (const [jobId, hold] of holds) insert.hold.run(jobId, hold.clientId, hold.amount, hold.expiresAt);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { jobs, credits };
  } finally {
    db.close();
  }
}
