/**
 * Two PostgreSQL store instances on one database, racing as two coordinator instances would:
 * no overdraft, no double credit, a worker's receipt numbers unique, books re-checked, and the
 * holds of an instance that died recovered by the other. Needs `postgres` (skipped, with the
 * reason, only where its binaries are missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testPostgres } from '../node-kit/test-postgres.js';
import pg from 'pg';
import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { BooksError, MAX_ACCOUNT_NANOTONS } from './books-check.js';
import { PG_COORDINATOR_MIGRATIONS } from './pg-migrations.js';
import { migratePg, neverReached, openPgStore, PgStore, SETTLE_BATCH, STALLED_MS, storeUnreachable } from './pg-store.js';
import { credit, job, receipt } from './store-contract.js';

const { skip, database } = testPostgres('PostgreSQL store concurrency');

/** The database twoInstances() made last. */
let lastDatabase = '';

/** Two instances on a fresh database. */
async function twoInstances(): Promise<[PgStore, PgStore]> {
  const url = (lastDatabase = await database('race'));
  // Opened together: the migration runs once under its advisory lock.
  return Promise.all([openPgStore({ url, instanceId: 'a', poolSize: 6 }), openPgStore({ url, instanceId: 'b', poolSize: 6 })]);
}

/** A plain connection to the database twoInstances() made last, to look at or change its rows. */
async function rawClient(): Promise<pg.Client> {
  const raw = new pg.Client({ connectionString: lastDatabase });
  await raw.connect();
  return raw;
}

test('holds racing from two instances never overdraw a balance', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.deposit('c', 1000n, 'd1');
    const attempts = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).reserve('c', `job-${i}`, 30n, Date.now() + 60_000));
    const results = await Promise.all(attempts);
    const held = results.filter((r) => r === 'held').length;
    assert.equal(held, 33, 'exactly as many 30-nanoton holds as 1000 covers');
    assert.equal(results.filter((r) => r === 'short').length, 27);
    assert.equal(await b.balance('c'), 10n);
    // The same job id from both instances at once: one hold.
    await a.deposit('c', 100n, 'd2');
    const twice = await Promise.all([a.reserve('c', 'same', 5n, Date.now() + 60_000), b.reserve('c', 'same', 5n, Date.now() + 60_000)]);
    assert.deepEqual([...twice].sort(), ['duplicate', 'held']);
    assert.equal(await a.balance('c'), 105n);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a job settled by both instances at once is credited once; receipt numbers stay unique per worker', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.deposit('c', 10_000n, 'd');
    const ids = Array.from({ length: 30 }, (_, i) => `job-${i}`);
    for (const id of ids) assert.equal(await (id.endsWith('1') ? b : a).reserve('c', id, 100n, Date.now() + 60_000), 'held');
    const settled = await Promise.all(ids.flatMap((id) => [a.settle(job(id, [credit('EQacc', 'w', 50n, 45n)]), receipt), b.settle(job(id, [credit('EQacc', 'w', 50n, 45n)]), receipt)]));
    const frames = settled.filter((f) => f !== undefined).flat();
    assert.equal(frames.length, 30, 'one settlement per job');
    assert.deepEqual(frames.map((f) => f.seq).sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.deepEqual(await b.account('EQacc'), { account: 'EQacc', cumulative: 30n * 45n, seq: 30 });
    assert.equal(await a.balance('c'), 10_000n - 30n * 50n, 'each charged 50 and refunded the rest of its hold, once');
    assert.deepEqual((await a.unackedReceipts('w')).map((r) => r.seq), Array.from({ length: 30 }, (_, i) => i + 1));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('unbalanced books are refused on PostgreSQL and write nothing', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.deposit('c', 100n, 'd');
    await a.reserve('c', 'j', 60n, Date.now() + 60_000);
    await assert.rejects(b.settle(job('j', [credit('A', 'w', 50n, 45n)], { commission: 4n }), receipt), BooksError);
    await assert.rejects(b.settle(job('j', [credit('A', 'w', 70n, 60n)]), receipt), /exceeds its hold/);
    assert.equal(await a.jobIdUsed('j'), true, 'still held');
    assert.equal((await a.account('A')).cumulative, 0n);
    assert.equal(await a.balance('c'), 40n);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a credit that would take an account past its bound is refused inside the settling call, which writes nothing', { skip }, async () => {
  const [a, b] = await twoInstances();
  const raw = await rawClient();
  try {
    await a.deposit('c', 100n, 'd');
    await a.settle(job('first', [credit('A', 'w', 10n, 9n)], { clientId: 'unmetered' }), receipt);
    await raw.query('UPDATE accounts SET cumulative = $1 WHERE account = $2', [(MAX_ACCOUNT_NANOTONS - 40n).toString(), 'A']);
    assert.equal(await a.reserve('c', 'j', 60n, Date.now() + 60_000), 'held');
    await assert.rejects(b.settle(job('j', [credit('B', 'v', 5n, 4n), credit('A', 'w', 50n, 45n)]), receipt), (error: unknown) => error instanceof BooksError && /account A out of bounds/.test(error.message));
    assert.equal(await a.jobIdUsed('j'), true, 'still held');
    assert.equal(await a.balance('c'), 40n);
    assert.deepEqual(await a.account('B'), { account: 'B', cumulative: 0n, seq: 0 }, "the other credit's account untouched");
    assert.deepEqual((await b.unackedReceipts('w')).map((r) => r.seq), [1], 'no receipt written');
    // Within the bound, the same job settles.
    assert.deepEqual((await b.settle(job('j', [credit('B', 'v', 5n, 4n), credit('A', 'w', 40n, 36n)]), receipt))?.map((f) => [f.seq, f.cumulativeNanotons]), [
      [1, '4'],
      [2, (MAX_ACCOUNT_NANOTONS - 4n).toString()],
    ]);
  } finally {
    await raw.end();
    await Promise.all([a.close(), b.close()]);
  }
});

test('the settling call checks what it stored: a hold left on a settled job, or credits stored unlike those checked, roll it back', { skip }, async () => {
  const [a, b] = await twoInstances();
  const raw = await rawClient();
  try {
    await a.deposit('c', 100n, 'd');
    assert.equal(await a.reserve('c', 'j', 60n, Date.now() + 60_000), 'held');
    assert.equal((await a.settle(job('j', [credit('A', 'w', 50n, 45n)]), receipt))?.length, 1);
    // A hold for the settled job (no instance takes one: reserve refuses a used job id).
    await raw.query("INSERT INTO holds (job_id, client_id, amount) VALUES ('j', 'c', 7)");
    await assert.rejects(b.settle(job('j', [credit('A', 'w', 50n, 45n)]), receipt), (error: unknown) => error instanceof BooksError && /job j: settled, yet a hold of 7 was left/.test(error.message));
    assert.equal(Number((await raw.query("SELECT COUNT(*) AS n FROM holds WHERE job_id = 'j'")).rows[0].n), 1, 'the hold is still there');
    // A database that stores credits other than those the books checked.
    await raw.query("CREATE FUNCTION skew() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.earned := NEW.earned + 1; RETURN NEW; END $$");
    await raw.query('CREATE TRIGGER skew BEFORE INSERT ON job_credits FOR EACH ROW EXECUTE FUNCTION skew()');
    assert.equal(await a.reserve('c', 'k', 40n, Date.now() + 60_000), 'held');
    await assert.rejects(b.settle(job('k', [credit('A', 'w', 30n, 27n)]), receipt), (error: unknown) => error instanceof BooksError && /job k: stored credits 30\/28 do not match charge 30 and commission 3/.test(error.message));
    assert.equal(await a.jobIdUsed('k'), true);
    assert.deepEqual(await a.account('A'), { account: 'A', cumulative: 45n, seq: 1 }, 'nothing credited');
    assert.equal(await a.balance('c'), 10n, "k's hold still taken");
  } finally {
    await raw.end();
    await Promise.all([a.close(), b.close()]);
  }
});

test('upgrading from schema 1: receipts stored with their frames are sent again as they were; new ones are built from their figures', { skip }, async () => {
  const url = await database('upgrade');
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const old = { type: 'job.receipt', seq: 1, jobId: 'old', model: 'm', usage: { promptTokens: 1, completionTokens: 2 }, outcome: 'done', coefficientMilli: 1000, costNanotons: '10', earnedNanotons: '9', account: 'A', cumulativeNanotons: '9', voucher: { as: 'sent' } };
  try {
    assert.equal(await migratePg(pool, PG_COORDINATOR_MIGRATIONS.slice(0, 1)), 1);
    await pool.query('INSERT INTO receipts (worker_id, seq, job_id, frame) VALUES ($1, $2, $3, $4)', ['w', 1, 'old', JSON.stringify(old)]);
    await pool.query("INSERT INTO accounts (account, cumulative, seq) VALUES ('A', 9, 1)");
  } finally {
    await pool.end();
  }
  const store = await openPgStore({ url, instanceId: 'a', poolSize: 2 });
  try {
    const frames = await store.settle(job('new', [credit('A', 'w', 50n, 45n)], { clientId: 'unmetered' }), receipt);
    assert.deepEqual(frames?.map((f) => f.seq), [2]);
    const sent = await store.unackedReceipts('w');
    assert.deepEqual(sent[0], old, 'the stored frame, voucher and all');
    assert.deepEqual([sent[1]?.jobId, sent[1]?.seq, sent[1]?.cumulativeNanotons, sent[1]?.voucher], ['new', 2, '54', undefined]);
    // What an instance of the previous build reads for the new receipt: a frame it cannot parse,
    // so it sends that worker nothing (and logs why) rather than a malformed frame.
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      const frames = (await raw.query("SELECT frame FROM receipts WHERE worker_id = 'w' AND NOT acked AND seq > 0 ORDER BY seq")).rows as { frame: string }[];
      assert.deepEqual(JSON.parse(frames[0]!.frame), old);
      assert.throws(() => JSON.parse(frames[1]!.frame), SyntaxError);
    } finally {
      await raw.end();
    }
  } finally {
    await store.close();
  }
});

type Query = (config: pg.QueryConfig) => Promise<pg.QueryResult>;

/** Sends the store's calls through `around`, which runs each with `query` (as it was before). */
function intercept(store: PgStore, around: (config: pg.QueryConfig, query: Query) => Promise<pg.QueryResult>): void {
  const pool = (store as unknown as { pool: pg.Pool }).pool;
  const query = pool.query.bind(pool) as Query;
  (pool as unknown as { query: Query }).query = (config) => around(config, query);
}

/** Counts the store's calls whose text matches `pattern` (each try of a call run again counts). */
function countCalls(store: PgStore, pattern: RegExp): { calls: number } {
  const counter = { calls: 0 };
  intercept(store, (config, query) => {
    if (pattern.test(config.text)) counter.calls++;
    return query(config);
  });
  return counter;
}

test('a settlement whose database drops every connection is given up after a few tries, so that billing keeps it at once', async () => {
  // A server that takes each connection and drops it at once: PostgreSQL going away.
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pool = new pg.Pool({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, user: 'u', database: 'd', max: 2 });
  pool.on('error', () => undefined);
  const store = new PgStore(pool, 'a');
  try {
    const error = await store.settle(job('gone', [credit('A', 'w', 50n, 45n)]), receipt).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(storeUnreachable(error), `told the store is away (${String(error)})`);
    assert.equal(sockets.length, 3, 'three tries, each on a new connection, and no more');
  } finally {
    await pool.end();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('the settlements asked for in one turn go in one call, at most SETTLE_BATCH each; one the books refuse fails alone', { skip }, async () => {
  const [a] = await twoInstances();
  const raw = await rawClient();
  try {
    const batches = countCalls(a, /silkworm_settle_batch/);
    await a.deposit('c', 10_000n, 'd');
    await a.settle(job('first', [credit('A', 'w', 10n, 9n)], { clientId: 'unmetered' }), receipt);
    await raw.query('UPDATE accounts SET cumulative = $1 WHERE account = $2', [(MAX_ACCOUNT_NANOTONS - 50n).toString(), 'A']);
    const ids = Array.from({ length: 10 }, (_, i) => `j${i}`);
    for (const id of ids) assert.equal(await a.reserve('c', id, 100n, Date.now() + 60_000), 'held');
    // j4 would take account A past its bound; the others credit B (w, then v for every third).
    const credits = (i: number) => (i === 4 ? [credit('A', 'w', 100n, 90n)] : i % 3 === 0 ? [credit('B', 'w', 50n, 45n), credit('B', 'v', 20n, 18n)] : [credit('B', 'w', 50n, 45n)]);
    const calls = batches.calls;
    const settled = await Promise.allSettled(ids.map((id, i) => a.settle(job(id, credits(i)), receipt)));
    assert.equal(batches.calls - calls, 1, 'one call for the ten');
    const refused = settled[4]!;
    assert.ok(refused.status === 'rejected' && refused.reason instanceof BooksError && /account A out of bounds/.test(refused.reason.message), String(refused.status === 'rejected' && refused.reason));
    assert.ok(settled.every((s, i) => i === 4 || s.status === 'fulfilled'));
    assert.equal(await a.jobIdUsed('j4'), true, "j4's hold is still taken");
    assert.equal(Number((await raw.query("SELECT COUNT(*) AS n FROM jobs WHERE job_id = 'j4'")).rows[0].n), 0, 'j4 is not on the books');
    assert.equal(await a.balance('c'), 10_000n - 1_000n + 9n * 100n - (5n * 50n + 4n * 70n), 'nine charged and refunded the rest of their holds');
    assert.deepEqual(await a.account('B'), { account: 'B', cumulative: 5n * 45n + 4n * (45n + 18n), seq: 13 });
    assert.equal((await a.account('A')).cumulative, MAX_ACCOUNT_NANOTONS - 50n, 'A untouched');
    // w's receipts are numbered on, in the order asked, past the refused one.
    const frames = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    assert.deepEqual(frames.map((f) => f?.map((r) => r.seq)), [[2, 1], [3], [4], [5, 2], undefined, [6], [7, 3], [8], [9], [10, 4]]);
    assert.deepEqual(frames[9]!.map((r) => r.cumulativeNanotons), [String(5n * 45n + 4n * (45n + 18n) - 18n), String(5n * 45n + 4n * (45n + 18n))]);

    // Over SETTLE_BATCH in one turn: full batches go as they fill.
    const many = Array.from({ length: SETTLE_BATCH + 6 }, (_, i) => job(`u${i}`, [credit('C', 'u', 10n, 9n)], { clientId: 'unmetered' }));
    const before = batches.calls;
    const seqs = (await Promise.all(many.map((j) => a.settle(j, receipt)))).map((f) => f![0]!.seq);
    assert.equal(batches.calls - before, 2);
    assert.deepEqual(seqs, many.map((_, i) => i + 1));

    // A job that fails otherwise (here a trigger raising) fails alone too, with PostgreSQL's error.
    await raw.query("CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.job_id = 'bad' THEN RAISE EXCEPTION 'no bad jobs' USING ERRCODE = 'P0001'; END IF; RETURN NEW; END $$");
    await raw.query('CREATE TRIGGER refuse_bad BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION refuse_bad()');
    const [bad, good] = await Promise.allSettled([a.settle(job('bad', [credit('C', 'u', 10n, 9n)], { clientId: 'unmetered' }), receipt), a.settle(job('good', [credit('C', 'u', 10n, 9n)], { clientId: 'unmetered' }), receipt)]);
    assert.ok(bad.status === 'rejected' && !(bad.reason instanceof BooksError) && /no bad jobs/.test(String(bad.reason)) && (bad.reason as { code?: string }).code === 'P0001');
    assert.deepEqual(good.status === 'fulfilled' && good.value?.map((f) => f.seq), [SETTLE_BATCH + 7]);
  } finally {
    await raw.end();
    await a.close();
  }
});

test("a settlement with a figure PostgreSQL's columns cannot hold is refused alone: the honest one settled in the same turn lands", { skip }, async () => {
  const [a] = await twoInstances();
  try {
    const batches = countCalls(a, /silkworm_settle_batch/);
    await a.deposit('c', 1_000n, 'd');
    for (const id of ['honest', 'poisoned']) assert.equal(await a.reserve('c', id, 100n, Date.now() + 60_000), 'held');
    const poisoned = { ...credit('B', 'greedy', 50n, 45n), claimed: { promptTokens: 5, completionTokens: 2 ** 31 } };
    const calls = batches.calls;
    const [honest, bad] = await Promise.allSettled([a.settle(job('honest', [credit('A', 'w', 50n, 45n)]), receipt), a.settle(job('poisoned', [poisoned]), receipt)]);
    assert.ok(bad.status === 'rejected' && bad.reason instanceof BooksError && /claimed completion tokens of greedy out of bounds/.test(bad.reason.message), String(bad.status === 'rejected' && bad.reason));
    assert.deepEqual(honest.status === 'fulfilled' && honest.value?.map((f) => f.seq), [1]);
    assert.equal(batches.calls - calls, 1, 'the honest one went in one call, the other refused before it');
    assert.deepEqual(await a.account('A'), { account: 'A', cumulative: 45n, seq: 1 });
    assert.equal((await a.account('B')).cumulative, 0n);
    assert.equal(await a.balance('c'), 1_000n - 50n - 100n, "the honest job charged, the other's hold still taken");
  } finally {
    await a.close();
  }
});

test('a batch of settlements whose connection dies mid-call runs again on another: each settles once, nothing lost or doubled', { skip }, async () => {
  const [a] = await twoInstances();
  const raw = await rawClient();
  try {
    const batches = countCalls(a, /silkworm_settle_batch/);
    await a.deposit('c', 1_000n, 'd');
    const ids = ['k1', 'k2', 'k3'];
    for (const id of ids) assert.equal(await a.reserve('c', id, 100n, Date.now() + 60_000), 'held');
    // The second job's insert sleeps the first time (a sequence does not roll back), long enough
    // for its connection to be cut mid-call.
    await raw.query('CREATE SEQUENCE slow_once');
    await raw.query("CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.job_id = 'k2' AND nextval('slow_once') = 1 THEN PERFORM pg_sleep(5); END IF; RETURN NEW; END $$");
    await raw.query('CREATE TRIGGER slow BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION slow()');
    const settling = Promise.all(ids.map((id) => a.settle(job(id, [credit('A', 'w', 50n, 45n)]), receipt)));
    for (let tries = 0; ; tries++) {
      const cut = await raw.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT silkworm_settle_batch%' AND state = 'active' AND wait_event = 'PgSleep'");
      if (cut.rowCount === 1) break;
      assert.ok(tries < 200, 'the batch call was never seen sleeping');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const settled = await settling;
    assert.equal(batches.calls, 2, 'the call, cut, then run again whole');
    assert.deepEqual(settled.map((f) => f?.map((r) => r.seq)), [[1], [2], [3]]);
    assert.deepEqual(await a.account('A'), { account: 'A', cumulative: 3n * 45n, seq: 3 }, 'credited once each');
    assert.equal(await a.balance('c'), 1_000n - 150n, 'each charged 50 once, the rest of its hold refunded');

    // The connection lost after the commit, before its answer: the call runs again and finds the
    // jobs settled; their receipts are stored, for when the worker next asks.
    let cut = false;
    intercept(a, async (config, query) => {
      const result = await query(config);
      if (cut || !config.text.includes('silkworm_settle_batch')) return result;
      cut = true;
      throw new Error('Connection terminated unexpectedly');
    });
    const more = ['m1', 'm2'];
    for (const id of more) assert.equal(await a.reserve('c', id, 100n, Date.now() + 60_000), 'held');
    const answered = await Promise.all(more.map((id) => a.settle(job(id, [credit('A', 'w', 50n, 45n)]), receipt)));
    assert.deepEqual(answered, [undefined, undefined], 'settled by the first try: nothing credited twice');
    assert.deepEqual(await a.account('A'), { account: 'A', cumulative: 5n * 45n, seq: 5 });
    assert.equal(await a.balance('c'), 1_000n - 250n);
    assert.deepEqual((await a.unackedReceipts('w')).map((r) => r.seq), [1, 2, 3, 4, 5]);
  } finally {
    await raw.end();
    await a.close();
  }
});

test('batches from two instances crediting the same accounts, or refunding the same clients, in opposite orders wait for each other: no deadlock, no receipt number collision', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    const calls = [countCalls(a, /silkworm_settle_batch/), countCalls(b, /silkworm_settle_batch/)];
    const rounds = 30;
    for (let round = 0; round < rounds; round++) {
      const x = (id: string) => job(id, [credit('X', 'wx', 10n, 9n)], { clientId: 'unmetered' });
      const y = (id: string) => job(id, [credit('Y', 'wy', 10n, 9n)], { clientId: 'unmetered' });
      // One turn: a settles X then Y, b settles Y then X, each in one call.
      await Promise.all([a.settle(x(`a${round}x`), receipt), a.settle(y(`a${round}y`), receipt), b.settle(y(`b${round}y`), receipt), b.settle(x(`b${round}x`), receipt)]);
    }
    assert.deepEqual(
      calls.map((c) => c.calls),
      [rounds, rounds],
      'no call ran again (a deadlock or a receipt number taken meanwhile would have)',
    );
    assert.deepEqual(await a.account('X'), { account: 'X', cumulative: BigInt(2 * rounds) * 9n, seq: 2 * rounds });
    assert.deepEqual((await b.unackedReceipts('wy')).map((r) => r.seq), Array.from({ length: 2 * rounds }, (_, i) => i + 1));

    // Metered jobs refund their clients: a refunds c1 then c2, b c2 then c1, crediting other accounts.
    await a.deposit('c1', 10_000n, 'd1');
    await a.deposit('c2', 10_000n, 'd2');
    const metered = (id: string, client: string, account: string) => job(id, [credit(account, `w-${account}`, 10n, 9n)], { clientId: client });
    for (let round = 0; round < rounds; round++) {
      const plan: [PgStore, string, string, string][] = [
        [a, `m${round}a1`, 'c1', 'P'],
        [a, `m${round}a2`, 'c2', 'Q'],
        [b, `m${round}b1`, 'c2', 'R'],
        [b, `m${round}b2`, 'c1', 'S'],
      ];
      for (const [store, id, client] of plan) assert.equal(await store.reserve(client, id, 30n, Date.now() + 60_000), 'held');
      await Promise.all(plan.map(([store, id, client, account]) => store.settle(metered(id, client, account), receipt)));
    }
    assert.deepEqual(
      calls.map((c) => c.calls),
      [2 * rounds, 2 * rounds],
      'no call ran again',
    );
    assert.deepEqual([await a.balance('c1'), await b.balance('c2')], [10_000n - BigInt(2 * rounds) * 10n, 10_000n - BigInt(2 * rounds) * 10n]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('the holds asked for in one turn go in one call, in order; two instances taking holds on the same clients in opposite orders do not deadlock', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    const calls = [countCalls(a, /silkworm_reserve_batch/), countCalls(b, /silkworm_reserve_batch/)];
    await a.deposit('c1', 100n, 'd1');
    await a.deposit('c2', 1_000_000n, 'd2');
    // One turn on a: c1 covers the first two 40s, not the third; the same job id twice is a duplicate.
    const expires = Date.now() + 60_000;
    const first = await Promise.all([a.reserve('c1', 'h1', 40n, expires), a.reserve('c1', 'h2', 40n, expires), a.reserve('c1', 'h3', 40n, expires), a.reserve('c2', 'h1', 5n, expires), a.reserve('c2', 'h4', 5n, expires)]);
    assert.deepEqual(first, ['held', 'held', 'short', 'duplicate', 'held']);
    assert.deepEqual(calls.map((c) => c.calls), [1, 0], 'one call for the five');
    assert.deepEqual([await a.balance('c1'), await a.balance('c2')], [20n, 1_000_000n - 5n]);
    // A job id whose hold was given back whole is a duplicate in a batch too (schema version 5).
    await a.release('h4');
    const again = await Promise.all([a.reserve('c2', 'h4', 5n, expires), a.reserve('c2', 'h5', 5n, expires)]);
    assert.deepEqual(again, ['duplicate', 'held']);
    assert.deepEqual(calls.map((c) => c.calls), [2, 0]);
    await a.release('h5');
    await a.deposit('c1', 1_000_000n, 'd3');
    const rounds = 30;
    for (let round = 0; round < rounds; round++) {
      await Promise.all([
        a.reserve('c1', `r${round}a1`, 1n, expires),
        a.reserve('c2', `r${round}a2`, 1n, expires),
        b.reserve('c2', `r${round}b2`, 1n, expires),
        b.reserve('c1', `r${round}b1`, 1n, expires),
      ]);
    }
    assert.deepEqual(
      calls.map((c) => c.calls),
      [2 + rounds, rounds],
      'no call ran again (a deadlock would have)',
    );
    assert.deepEqual([await a.balance('c1'), await b.balance('c2')], [1_000_020n - BigInt(2 * rounds), 1_000_000n - BigInt(2 * rounds)]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('holds asked for while a hold call is in flight wait for it, then go together in one call', { skip }, async () => {
  const [a] = await twoInstances();
  try {
    await a.deposit('c', 100n, 'd');
    const expires = Date.now() + 60_000;
    const later: Promise<string>[] = [];
    const texts: string[] = [];
    let firstAnswered = false;
    intercept(a, (config, query) => {
      if (!/INSERT INTO holds|silkworm_reserve_batch/.test(config.text)) return query(config);
      texts.push(config.text.includes('silkworm_reserve_batch') ? `batch, first answered: ${firstAnswered}` : 'single');
      if (texts.length > 1) return query(config);
      // Asked while the first hold's call is on its way: these wait for its answer.
      for (let i = 1; i <= 5; i++) later.push(a.reserve('c', `h${i}`, 20n, expires));
      return query(config).finally(() => (firstAnswered = true));
    });
    const first = await a.reserve('c', 'h0', 30n, expires);
    const rest = await Promise.all(later);
    assert.deepEqual([first, ...rest], ['held', 'held', 'held', 'held', 'short', 'short'], '30 + 20 + 20 + 20 of 100, in the order asked');
    assert.deepEqual(texts, ['single', 'batch, first answered: true'], 'the five in one call, once the first was answered');
    assert.equal(await a.balance('c'), 10n);
  } finally {
    await a.close();
  }
});

test('a hold call that hangs holds the next back only until it counts as stalled', { skip }, async () => {
  const [a] = await twoInstances();
  const raw = await rawClient();
  try {
    await a.deposit('c1', 100n, 'd1');
    await a.deposit('c2', 100n, 'd2');
    await raw.query("CREATE FUNCTION stuck() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.job_id = 'stuck' THEN PERFORM pg_sleep(3 * $1::float / 1000); END IF; RETURN NEW; END $$".replace('$1', String(STALLED_MS)));
    await raw.query('CREATE TRIGGER stuck BEFORE INSERT ON holds FOR EACH ROW EXECUTE FUNCTION stuck()');
    const expires = Date.now() + 60_000;
    const order: string[] = [];
    const stuck = a.reserve('c1', 'stuck', 10n, expires).then((r) => order.push(`stuck ${r}`));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the stuck call is on its way
    const started = Date.now();
    await a.reserve('c2', 'free', 10n, expires).then((r) => order.push(`free ${r}`));
    assert.ok(Date.now() - started >= STALLED_MS * 0.9, 'the second waited for the first, as long as it was not stalled');
    await stuck;
    assert.deepEqual(order, ['free held', 'stuck held'], 'the second ran beside the stalled one');
  } finally {
    await raw.end();
    await a.close();
  }
});

test("a dead instance's holds are recovered by the other; a restart releases only its own", { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.deposit('c', 100n, 'd');
    const deadline = Date.now() + 3_600_000;
    assert.equal(await a.reserve('c', 'a-expiring', 10n, deadline), 'held');
    assert.equal(await a.reserve('c', 'a-live', 20n, Number.MAX_SAFE_INTEGER), 'held');
    await a.close(); // instance a dies with its holds taken
    assert.deepEqual(await b.releaseAllHolds(), [], "b's start refunds neither another instance's holds nor unexpired ones");
    assert.equal(await b.reserve('c', 'b-live', 30n, Number.MAX_SAFE_INTEGER), 'held');
    assert.deepEqual(await b.releaseExpiredHolds(deadline), ['a-expiring'], "the dead instance's hold comes back at its deadline");
    assert.equal(await b.balance('c'), 50n);
    const aAgain = await openPgStore({ url: lastDatabase, instanceId: 'a', poolSize: 2 });
    try {
      assert.deepEqual(await aAgain.releaseAllHolds(), ['a-live'], 'instance a restarted refunds what it held before');
      assert.equal(await b.balance('c'), 70n);
      assert.equal(await b.jobIdUsed('b-live'), true);
    } finally {
      await aAgain.close();
    }
  } finally {
    await b.close();
  }
});

test("another instance's checkpoints: listed per instance, read by owner, forgotten only as listed", { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.deposit('c', 1_000n, 'd');
    assert.equal(await a.reserve('c', 'a-1', 100n, 5_000), 'held');
    assert.equal(await a.reserve('c', 'a-2', 100n, 6_000), 'held');
    const books = job('a-1', [credit('A', 'w', 30n, 27n)]);
    await a.checkpoint([books]);
    const first = (await b.instanceWork()).find((w) => w.instance === 'a')!;
    assert.deepEqual([first.checkpoints, first.holds, first.holdsExpireAt], [1, 2, 6_000]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await a.checkpoint([books]);
    const again = (await b.instanceWork()).find((w) => w.instance === 'a')!;
    assert.ok(again.lastCheckpointAt! > first.lastCheckpointAt!, 'a running instance rewrites the time of every checkpoint it keeps');
    assert.deepEqual((await b.checkpoints('a')).jobs, [books], "b reads a's checkpoints by name");
    assert.deepEqual((await b.checkpoints()).jobs, [], 'and none of its own');
    await b.forgetCheckpoints('a', ['a-other']);
    assert.equal((await b.checkpoints('a')).jobs.length, 1, 'only the listed rows go');
    await b.forgetCheckpoints('b', ['a-1']);
    assert.equal((await b.checkpoints('a')).jobs.length, 1, "and only the named instance's");
    await b.forgetCheckpoints('a', ['a-1']);
    assert.deepEqual((await b.checkpoints('a')).jobs, []);
    assert.deepEqual((await b.instanceWork()).map((w) => [w.instance, w.checkpoints, w.holds]), [['a', 0, 2]], 'its holds stay for the expiry sweep');
  } finally {
    await a.close();
    await b.close();
  }
});

test("a worker's standing moved by both instances at once loses no event", { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await a.bindWorkerKey('w', 'key', 1);
    // Clean jobs settled by both instances at once, as when clients of each use the same worker.
    const events = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).recordWorkerEvent('w', 'clean', 10 + i)));
    assert.ok(events.every((event) => event !== undefined));
    const record = (await b.workerRecord('w'))!;
    assert.equal(record.cleanJobs, 40, 'every event counted once');
    // Each event read what the one before it wrote: the counts seen before are 0..39, once each.
    assert.deepEqual(events.map((event) => event!.before.cleanJobs).sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

/**
 * A TCP proxy to `target` that drops the connection, forwarding nothing more, when a message from
 * the store holds `dropOn`'s text: the database lost in the middle of a call, at a known step.
 */
async function droppingProxy(target: URL): Promise<{ url: string; dropOn: (text: string | undefined) => void; close: () => Promise<void> }> {
  let pattern: string | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.on('data', (data: Buffer) => {
      if (pattern !== undefined && data.includes(pattern)) {
        inbound.destroy();
        outbound.destroy();
      } else outbound.write(data);
    });
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    dropOn: (text) => (pattern = text),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('a call whose connection is lost before it sent a write or a COMMIT reads as nothing written; one lost during its write or COMMIT does not', { skip }, async () => {
  const direct = new URL(await database('lost'));
  const proxy = await droppingProxy(direct);
  const store = await openPgStore({ url: proxy.url, instanceId: 'a', poolSize: 1 });
  const failure = (call: Promise<unknown>) => call.then(() => assert.fail('the call should fail'), (error: unknown) => error);
  try {
    await store.bindWorkerKey('w', 'key', 1);
    const lostAt = async (text: string, call: () => Promise<unknown>) => {
      proxy.dropOn(text);
      const error = await failure(call());
      proxy.dropOn(undefined);
      assert.ok(storeUnreachable(error), `told the store is away (${String(error)})`);
      return neverReached(error);
    };
    // A worker event reads the record, then writes it (PgStore.recordWorkerEvent).
    assert.equal(await lostAt('FROM worker_keys WHERE worker_id = ANY', () => store.recordWorkerEvent('w', 'clean', 2)), true, 'lost during the read: nothing written');
    assert.equal(await lostAt('UPDATE worker_keys AS k', () => store.recordWorkerEvent('w', 'clean', 3)), false, 'lost during the write: it may have been written');
    // A dispute is one INSERT in a transaction.
    const dispute = { at: 4, jobId: 'j', workerId: 'w', kind: 'claim_above_count', claimed: 9, counted: 5 };
    assert.equal(await lostAt('INSERT INTO disputes', () => store.recordDispute(dispute)), true, 'lost before the COMMIT: rolled back');
    assert.equal(await lostAt('COMMIT\0', () => store.recordDispute(dispute)), false, 'lost during the COMMIT: it may have committed');
    // What read as nothing written was not (the write and the COMMIT were not forwarded here either).
    assert.equal((await store.workerRecord('w'))?.cleanJobs, 0);
    assert.deepEqual(await store.disputes('w'), []);
    // And the store goes on once the connection can be made again.
    await store.recordDispute(dispute);
    assert.equal((await store.recordWorkerEvent('w', 'clean', 5))?.after.cleanJobs, 1);
    assert.equal((await store.disputes('w')).length, 1);
  } finally {
    await store.close();
    await proxy.close();
  }
});

test('events and acknowledgements of several workers arriving together are each applied once, in order', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    await Promise.all(['w1', 'w2', 'w3'].map((id) => a.bindWorkerKey(id, `key-${id}`, 1)));
    // Sent in one turn: one batch on each instance, racing the other's.
    const sent = ['w1', 'w2', 'ghost', 'w1', 'w3', 'w1', 'w2'].map((id, i) => ((i % 2 === 0 ? a : b) as PgStore).recordWorkerEvent(id, i === 5 ? 'cut_off' : 'clean', 100 + i, { ttftMs: 50 + i }));
    const events = await Promise.all(sent);
    assert.equal(events[2], undefined, 'a worker id never bound');
    const w1 = (await a.workerRecord('w1'))!;
    assert.deepEqual([w1.cleanJobs, w1.cutoffs], [2, 1]);
    assert.equal((await a.workerRecord('w2'))!.cleanJobs, 2);
    assert.equal((await b.workerRecord('w3'))!.cleanJobs, 1);
    // Each of w1's three events started from another's result: the counts seen before are 0, 1, 2.
    const seen = [0, 3, 5].map((i) => events[i]!.before.cleanJobs + events[i]!.before.cutoffs).sort();
    assert.deepEqual(seen, [0, 1, 2]);

    await a.deposit('c', 1_000n, 'd');
    for (const [i, worker] of ['w1', 'w1', 'w2'].entries()) {
      await a.reserve('c', `j${i}`, 100n, Date.now() + 60_000);
      await a.settle(job(`j${i}`, [credit('EQacc', worker, 50n, 45n)]), receipt);
    }
    // w1 acknowledges 1 (then 2, in the same turn), w2 its only one, an unknown worker anything.
    await Promise.all([a.ackReceipts('w1', 1), a.ackReceipts('w2', 1), a.ackReceipts('w1', 2), a.ackReceipts('nobody', 9)]);
    assert.deepEqual(await b.unackedReceipts('w1'), []);
    assert.deepEqual(await b.unackedReceipts('w2'), []);
    await a.reserve('c', 'j3', 100n, Date.now() + 60_000);
    await a.settle(job('j3', [credit('EQacc', 'w1', 50n, 45n)]), receipt);
    await a.ackReceipts('w1', 2);
    assert.deepEqual((await b.unackedReceipts('w1')).map((r) => r.seq), [3], 'only up to the number acknowledged');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('one worker id bound by both instances at once: one key wins, the other is refused; the same key is known', { skip }, async () => {
  const [a, b] = await twoInstances();
  try {
    for (let i = 0; i < 20; i++) {
      const [x, y] = await Promise.all([a.bindWorkerKey(`w${i}`, 'key-a', 1), b.bindWorkerKey(`w${i}`, i % 2 === 0 ? 'key-b' : 'key-a', 2)]);
      const statuses = [x.status, y.status].sort();
      assert.deepEqual(statuses, i % 2 === 0 ? ['mismatch', 'new'] : ['known', 'new'], `w${i}`);
      const winner = x.status === 'new' ? 'key-a' : i % 2 === 0 ? 'key-b' : 'key-a';
      assert.equal((await a.workerRecord(`w${i}`))?.identityKey, winner);
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
