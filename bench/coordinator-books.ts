/**
 * A coordinator store holding a large history of settled jobs, for timing the books' audit
 * (network/coordinator/audit.ts) at scale. The history is deterministic and can be written two ways:
 *   - `replayBooks`: its operations (deposits, holds, settlements, a vault push with receipt
 *     acknowledgements, holds of jobs still running) through the real store and Billing, one
 *     durable transaction each: exact, and slow (small histories, tests);
 *   - `writeBooksBulk`: the same rows in bulk (a million jobs in about a minute on a busy 2-core box).
 * coordinator-books.test.ts checks that both write identical rows. Every per-job choice is a
 * hash of the job's number (`draw`), so a history needs no state to generate. The coordinator
 * has no vault here, so receipts carry no voucher (signing a million would time the signer).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { openSqliteStore } from '../network/coordinator/sqlite-store.js';
import { Billing, earningsAccount } from '../network/coordinator/billing.js';
import type { MeteredPart } from '../network/coordinator/metering.js';
import type { JobOutcome } from '../network/coordinator/store.js';
import { coefficientMilli, DEFAULT_PRICE_LIST, jobCost, priceOf, splitCost } from '../network/protocol/pricing.js';

/** The size and shape of a history. */
export interface BooksSpec {
  jobs: number;
  clients: number;
  workers: number;
  /** Holds of jobs still running at the end (not settled). */
  openHolds: number;
  /** Time of the first settlement; jobs settle 31 s apart (a million span a year). */
  start: number;
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
const SETTLE_EVERY_MS = 31_000;
const MAX_TOKENS = 1024;
/** A hold covers every allowed token at this coefficient (above every worker's), + 1 per attempt. */
const HOLD_COEFFICIENT = 2;
const HOLD_SLACK = 3n;
/** Share of the history after which the vault pushes and workers acknowledge. */
const PUSH_AT = 0.8;

/** Odd multipliers below 2^32, one per kind of choice (Weyl sequences: (n · M) mod 2^32). */
const MULT = Array.from({ length: 24 }, (_, k) => ((2654435761 + k * 2246822518 + k * k * 374761394) % 2 ** 32) | 1).map((m) => m >>> 0);
/** Job numbers stay below 2^21 so n · M < 2^53: exact in JavaScript numbers. */
const MAX_JOBS = 2 ** 21 - 1;

/** The kth hash of job number n: (n · M_k) mod 2^32. */
function hash(k: number, n: number): number {
  return (n * (MULT[k] as number)) % 2 ** 32;
}

/** A choice in 0..m−1 for job number n: the hash's high 16 bits, mod m. */
function draw(k: number, n: number, m: number): number {
  return Math.floor(hash(k, n) / 65536) % m;
}

const hex = (value: number, digits: number) => value.toString(16).padStart(digits, '0');

/** Indexes of the job-level choices. */
const K = { model: 1, unmetered: 2, client: 3, prompt: 4, retry: 5, total: 6, split: 7, worker: 8, second: 9, claim: 10, claimPrompt: 12, claimCompletion: 14, outcome: 16, id: 17 } as const;

/** The job id of job number n: a UUID v4 shape from five hashes, unique (hash K.id is a bijection). */
function jobId(n: number): string {
  return `job-${hex(hash(K.id, n), 8)}-${hex(draw(K.id + 1, n, 65536), 4)}-4${hex(draw(K.id + 2, n, 4096), 3)}-a${hex(draw(K.id + 3, n, 4096), 3)}-${hex(draw(K.id + 4, n, 65536), 4)}${hex(hash(K.id + 5, n), 8)}`;
}

/** One job's choices (the SQL in `writeBooksBulk` computes the same). */
function jobChoices(n: number, spec: BooksSpec) {
  const total = 1 + draw(K.total, n, MAX_TOKENS);
  const attempts = draw(K.retry, n, 30) === 0 ? 2 : 1;
  const first = attempts === 2 ? draw(K.split, n, total) : total;
  const worker0 = draw(K.worker, n, spec.workers);
  return {
    model: MODELS[draw(K.model, n, MODELS.length)] as string,
    metered: draw(K.unmetered, n, 50) !== 0,
    client: draw(K.client, n, spec.clients),
    promptTokens: 20 + draw(K.prompt, n, 2000),
    // One job in thirty moved to a second worker (never the same one), which finished it.
    parts: (attempts === 2 ? [first, total - first] : [total]).map((completionTokens, a) => ({
      worker: a === 0 ? worker0 : (worker0 + 1 + draw(K.second, n, spec.workers - 1)) % spec.workers,
      completionTokens,
      // One part in a hundred claimed more than the coordinator counted.
      claimed: draw(K.claim + a, n, 100) === 0,
      claimPrompt: 1 + draw(K.claimPrompt + a, n, 50),
      claimCompletion: draw(K.claimCompletion + a, n, 50),
    })),
    outcome: OUTCOMES[draw(K.outcome, n, OUTCOMES.length)] as JobOutcome,
  };
}

/** A small deterministic PRNG (mulberry32) for the small tables: workers, clients, deposits, open holds. */
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

interface Cast {
  workers: { workerId: string; payoutAddress: string | undefined; coefficient: number; account: string }[];
  clients: string[];
  deposits: { clientId: string; amount: bigint; reference: string }[];
  openHolds: { clientId: string; jobId: string; amount: bigint }[];
}

/** Workers (nine in ten with a payout address, each its own), clients with 1–3 deposits, open holds. */
function cast(spec: BooksSpec): Cast {
  if (spec.jobs + 1 > MAX_JOBS) throw new RangeError(`At most ${MAX_JOBS - 1} jobs.`);
  if (spec.workers < 2 || spec.clients < 1) throw new RangeError('At least two workers and one client.');
  const random = prng(spec.seed ?? 1);
  const int = (n: number) => Math.floor(random() * n);
  const hexes = (count: number) => Array.from({ length: count }, () => hex(int(2 ** 32), 8)).join('');
  const workers = Array.from({ length: spec.workers }, (_, i) => {
    const workerId = `worker-${i}-${hexes(1)}`;
    const payoutAddress = random() < 0.9 ? `0:${hexes(8)}` : undefined;
    return { workerId, payoutAddress, coefficient: COEFFICIENTS[int(COEFFICIENTS.length)] as number, account: earningsAccount(workerId, payoutAddress) };
  });
  const clients = Array.from({ length: spec.clients }, (_, i) => `client-${i}-${hexes(2)}`);
  const deposits = clients.flatMap((clientId, i) => Array.from({ length: 1 + int(3) }, (_, k) => ({ clientId, amount: 1_000_000_000_000n + BigInt(int(1_000_000)), reference: `tx-${i}-${k}-${hexes(2)}` })));
  const price = priceOf(DEFAULT_PRICE_LIST, '');
  const openHolds = Array.from({ length: spec.openHolds }, () => ({
    clientId: clients[int(clients.length)] as string,
    jobId: `job-${hexes(4)}`,
    amount: jobCost(price, { promptTokens: 100 + int(2000), completionTokens: MAX_TOKENS }, HOLD_COEFFICIENT) + HOLD_SLACK,
  }));
  return { workers, clients, deposits, openHolds };
}

/** The hold of a job: its prompt once per attempt and every allowed token, at the hold coefficient. */
function holdOf(promptTokens: number, attempts: number): bigint {
  return jobCost(priceOf(DEFAULT_PRICE_LIST, ''), { promptTokens: promptTokens * attempts, completionTokens: MAX_TOKENS }, HOLD_COEFFICIENT) + HOLD_SLACK;
}

/** The store's operations for a history of `spec.jobs` settled jobs. */
export function* booksOperations(spec: BooksSpec): Generator<BooksOp> {
  const { workers, clients, deposits, openHolds } = cast(spec);
  for (const d of deposits) yield { kind: 'deposit', ...d };
  const pushAt = Math.floor(spec.jobs * PUSH_AT);
  for (let i = 0; i < spec.jobs; i++) {
    if (i === pushAt) yield { kind: 'push-and-ack' };
    const n = i + 1;
    const job = jobChoices(n, spec);
    const id = jobId(n);
    const at = spec.start + i * SETTLE_EVERY_MS;
    const clientId = job.metered ? clients[job.client] : undefined;
    if (clientId) yield { kind: 'reserve', clientId, jobId: id, amount: holdOf(job.promptTokens, job.parts.length), expiresAt: at + 600_000 };
    const parts = job.parts.map((p): MeteredPart => {
      const worker = workers[p.worker]!;
      const usage = { promptTokens: job.promptTokens, completionTokens: p.completionTokens };
      const claimed = p.claimed ? { promptTokens: job.promptTokens + p.claimPrompt, completionTokens: p.completionTokens + p.claimCompletion } : undefined;
      return { workerId: worker.workerId, payoutAddress: worker.payoutAddress, coefficient: worker.coefficient, usage, ...(claimed ? { claimed } : {}) };
    });
    yield { kind: 'settle', jobId: id, clientId, model: job.model, outcome: job.outcome, parts, at };
  }
  for (const h of openHolds) yield { kind: 'reserve', ...h, expiresAt: openHoldExpiry(spec) };
}

/** Open holds expire an hour after the last settlement. */
function openHoldExpiry(spec: BooksSpec): number {
  return spec.start + spec.jobs * SETTLE_EVERY_MS + 3_600_000;
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

/** Inserts rows of `columns` values into `table` many at a time (one statement per `per` rows). */
function batchInserter(db: Database.Database, table: string, columns: number, per = 64): { add(row: unknown[]): void; flush(): void } {
  const tuple = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
  const many = db.prepare(`INSERT INTO ${table} VALUES ${Array.from({ length: per }, () => tuple).join(', ')}`);
  const one = db.prepare(`INSERT INTO ${table} VALUES ${tuple}`);
  let pending: unknown[] = [];
  return {
    add(row) {
      for (const value of row) pending.push(value);
      if (pending.length === per * columns) {
        many.run(pending);
        pending = [];
      }
    },
    flush() {
      for (let i = 0; i < pending.length; i += columns) one.run(pending.slice(i, i + columns));
      pending = [];
    },
  };
}

/**
 * Writes the same rows as `replayBooks` in bulk. The history is computed here — Billing's
 * arithmetic and the store's running state (client balances, account totals, receipt numbers) —
 * into two scratch tables, many rows per INSERT, and SQL copies them into the store's tables in
 * settlement order, building each receipt frame with json_object exactly as JSON.stringify writes
 * Billing's. All in one transaction without fsync. The store is first opened the normal way, so
 * the schema is every migration's; its secondary indexes are dropped while the rows go in and
 * created again from their own SQL (the schema ends the same; the indexes densely packed, as after
 * a VACUUM). Returns the jobs and credits written.
 */
export function writeBooksBulk(dataDir: string, spec: BooksSpec): { jobs: number; credits: number } {
  const { workers, clients, deposits, openHolds } = cast(spec);
  if (new Set(workers.map((w) => w.account)).size !== workers.length) throw new Error('Each worker must have its own earnings account.');
  openSqliteStore(dataDir).close();
  const db = new Database(join(dataDir, 'coordinator.sqlite'));
  db.defaultSafeIntegers(true);
  // Scratch until closed: journal in memory, no fsync, one connection, the whole file in cache.
  db.pragma('journal_mode = MEMORY');
  db.pragma('synchronous = OFF');
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('cache_size = -2097152');
  db.pragma('temp_store = MEMORY');
  const price = priceOf(DEFAULT_PRICE_LIST, '');
  const pushAt = Math.floor(spec.jobs * PUSH_AT);
  try {
    const indexes = db.prepare<[], { name: string; sql: string }>(
      `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('jobs', 'job_credits', 'receipts', 'holds', 'accounts', 'clients', 'deposits') ORDER BY rowid`,
    ).all();
    let jobs = 0;
    let credits = 0;
    db.transaction(() => {
      for (const index of indexes) db.exec(`DROP INDEX ${index.name}`);
      db.exec(`
        CREATE TEMP TABLE sj (job_id TEXT, client_id TEXT, model TEXT, cost INTEGER, commission INTEGER, held INTEGER, outcome TEXT, settled_at INTEGER);
        CREATE TEMP TABLE sc (job_id TEXT, account TEXT, worker_id TEXT, cost INTEGER, earned INTEGER, prompt INTEGER, completion INTEGER,
          claimed_prompt INTEGER, claimed_completion INTEGER, coef INTEGER, model TEXT, seq INTEGER, cumulative INTEGER, acked INTEGER, outcome TEXT);`);
      const stageJob = batchInserter(db, 'sj', 8);
      const stageCredit = batchInserter(db, 'sc', 15);
      // The store's running state: client balances, account totals, receipt numbers.
      const balances = new Map<string, bigint>();
      for (const d of deposits) balances.set(d.clientId, (balances.get(d.clientId) ?? 0n) + d.amount);
      const totals = workers.map(() => ({ cumulative: 0n, seq: 0, pushed: 0n }));
      const coefs = workers.map((w) => coefficientMilli(w.coefficient));
      for (let i = 0; i < spec.jobs; i++) {
        if (i === pushAt) for (const [k, t] of totals.entries()) if (t.seq > 0 && !(workers[k] as Cast['workers'][number]).account.startsWith('worker:')) t.pushed = t.cumulative;
        const n = i + 1;
        const job = jobChoices(n, spec);
        const id = jobId(n);
        let charge = 0n;
        let earnedSum = 0n;
        for (const p of job.parts) {
          const worker = workers[p.worker]!;
          // Billing.settle: the part's cost at the worker's coefficient, less commission.
          const cost = jobCost(price, { promptTokens: job.promptTokens, completionTokens: p.completionTokens }, worker.coefficient);
          const earned = splitCost(cost, DEFAULT_PRICE_LIST.commissionBps).worker;
          charge += cost;
          earnedSum += earned;
          // SqliteStore.settle: the account's new total and the worker's next receipt number (each worker is its own account).
          const total = totals[p.worker]!;
          total.cumulative += earned;
          total.seq += 1;
          stageCredit.add([id, worker.account, worker.workerId, cost, earned, job.promptTokens, p.completionTokens,
            p.claimed ? job.promptTokens + p.claimPrompt : null, p.claimed ? p.completionTokens + p.claimCompletion : null,
            coefs[p.worker], job.model, total.seq, total.cumulative, i < pushAt ? 1 : 0, job.outcome]);
          credits++;
        }
        const clientId = job.metered ? (clients[job.client] as string) : 'unmetered';
        const held = job.metered ? holdOf(job.promptTokens, job.parts.length) : 0n;
        if (job.metered) balances.set(clientId, (balances.get(clientId) ?? 0n) - charge);
        stageJob.add([id, clientId, job.model, charge, charge - earnedSum, held, job.outcome, spec.start + i * SETTLE_EVERY_MS]);
        jobs++;
      }
      stageJob.flush();
      stageCredit.flush();
      db.exec('INSERT INTO jobs (job_id, client_id, model, cost, commission, held, outcome, settled_at) SELECT * FROM sj');
      db.exec(`INSERT INTO job_credits (job_id, account, worker_id, cost, earned, prompt_tokens, completion_tokens, claimed_prompt, claimed_completion, coefficient_milli)
        SELECT job_id, account, worker_id, cost, earned, prompt, completion, claimed_prompt, claimed_completion, coef FROM sc`);
      // Billing's receipt frame (no vault: no voucher), key for key as JSON.stringify writes it.
      db.exec(`INSERT INTO receipts (worker_id, seq, job_id, frame, acked)
        SELECT worker_id, seq, job_id,
          CASE WHEN claimed_prompt IS NULL
            THEN json_object('type', 'job.receipt', 'seq', seq, 'jobId', job_id, 'model', model, 'usage', json_object('promptTokens', prompt, 'completionTokens', completion),
              'outcome', outcome, 'coefficientMilli', coef, 'costNanotons', CAST(cost AS TEXT), 'earnedNanotons', CAST(earned AS TEXT), 'account', account, 'cumulativeNanotons', CAST(cumulative AS TEXT))
            ELSE json_object('type', 'job.receipt', 'seq', seq, 'jobId', job_id, 'model', model, 'usage', json_object('promptTokens', prompt, 'completionTokens', completion),
              'claimed', json_object('promptTokens', claimed_prompt, 'completionTokens', claimed_completion),
              'outcome', outcome, 'coefficientMilli', coef, 'costNanotons', CAST(cost AS TEXT), 'earnedNanotons', CAST(earned AS TEXT), 'account', account, 'cumulativeNanotons', CAST(cumulative AS TEXT))
          END, acked
        FROM sc`);
      const insertDeposit = db.prepare('INSERT INTO deposits (reference, client_id, amount) VALUES (?, ?, ?)');
      for (const d of deposits) insertDeposit.run(d.reference, d.clientId, d.amount);
      const insertHold = db.prepare('INSERT INTO holds (job_id, client_id, amount, expires_at) VALUES (?, ?, ?, ?)');
      for (const h of openHolds) {
        insertHold.run(h.jobId, h.clientId, h.amount, openHoldExpiry(spec));
        balances.set(h.clientId, (balances.get(h.clientId) ?? 0n) - h.amount);
      }
      const insertClient = db.prepare('INSERT INTO clients (id, balance) VALUES (?, ?)');
      for (const [id, balance] of balances) insertClient.run(id, balance);
      const insertAccount = db.prepare('INSERT INTO accounts (account, cumulative, seq, pushed) VALUES (?, ?, ?, ?)');
      totals.forEach((t, k) => t.seq > 0 && insertAccount.run((workers[k] as Cast['workers'][number]).account, t.cumulative, t.seq, t.pushed));
      db.exec('DROP TABLE temp.sj; DROP TABLE temp.sc;');
      for (const index of indexes) db.exec(index.sql);
    })();
    db.pragma('locking_mode = NORMAL');
    db.pragma('journal_mode = WAL');
    return { jobs, credits };
  } finally {
    db.close();
  }
}
