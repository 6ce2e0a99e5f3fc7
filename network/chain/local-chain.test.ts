// The local chain itself: its transaction log, paging, faucet limits and persistence.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Address, toNano } from '@ton/core';
import { ChainError } from './chain-error.js';
import { LOCK_FILE, STATE_FILE, TX_LOG_FILE } from './chain-store.js';
import { FAUCET_MAX_NANOTONS, LocalChain, type ChainTransaction } from './local-chain.js';

const alice = new Address(0, Buffer.alloc(32, 1));
const bob = new Address(0, Buffer.alloc(32, 2));
const id = (r: ChainTransaction) => `${r.account.toRawString()}@${r.lt}:${r.hash.toString('hex')}`;
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'silkworm-local-chain-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof ChainError && error.status === status && message.test(error.message));
}

test('history, balances and the faucet survive closing and reopening', async () => {
  const dir = join(root, 'reopen');
  let chain = await LocalChain.open(dir);
  assert.equal(chain.allTransactions().length, 1, 'a fresh chain has only the faucet deployment');
  for (let i = 0; i < 3; i++) await chain.faucet(alice, toNano(2));
  await chain.faucet(bob, 123n);
  const aliceBalance = (await chain.account(alice)).balance; // 6 TON less storage fees of the uninitialized account
  assert.ok(aliceBalance <= toNano(6) && aliceBalance > toNano(6) - 1000n, `alice has ${aliceBalance}`);
  assert.equal((await chain.account(bob)).balance, 123n);
  assert.deepEqual((await readdir(dir)).sort(), [LOCK_FILE, STATE_FILE, TX_LOG_FILE].sort(), 'no temp files left behind');
  const history = chain.allTransactions().map(id);
  const block = chain.lastBlock.seqno;
  await chain.close();
  assert.deepEqual((await readdir(dir)).sort(), [STATE_FILE, TX_LOG_FILE].sort(), 'closing releases the lock');

  chain = await LocalChain.open(dir);
  try {
    assert.deepEqual(chain.allTransactions().map(id), history);
    assert.equal(chain.lastBlock.seqno, block);
    assert.equal((await chain.account(alice)).balance, aliceBalance);
    assert.equal((await chain.account(bob)).balance, 123n);
    const [received] = await chain.faucet(bob, 1n).then((records) => records.filter((r) => r.account.equals(bob)));
    assert.ok(received && received.lt > chain.allTransactions()[history.length - 1]!.lt, 'lt keeps growing');
    assert.equal(received.index, history.length + 1, 'faucet tx then recipient tx follow the old history');
  } finally {
    await chain.close();
  }
});

test('an account history pages newest first: inclusive cursor, exclusive to_lt, unknown cursor is 404', async () => {
  const chain = await LocalChain.open(join(root, 'paging'));
  try {
    for (let i = 1; i <= 5; i++) await chain.faucet(alice, BigInt(i));
    const all = chain.getTransactions(alice, { limit: 100 });
    assert.equal(all.length, 5);
    assert.deepEqual(all.map((r) => r.transaction.inMessage?.info.type === 'internal' && r.transaction.inMessage.info.value.coins), [5n, 4n, 3n, 2n, 1n]);
    const cursor = all[1]!;
    assert.deepEqual(chain.getTransactions(alice, { limit: 2, lt: cursor.lt, hash: cursor.hash }).map(id), all.slice(1, 3).map(id));
    assert.deepEqual(chain.getTransactions(alice, { limit: 100, lt: cursor.lt }).map(id), all.slice(1).map(id), 'lt alone starts at or before it');
    assert.deepEqual(chain.getTransactions(alice, { limit: 100, toLt: all[3]!.lt }).map(id), all.slice(0, 3).map(id));
    assert.deepEqual(chain.getTransactions(bob, { limit: 10 }), []);
    assert.throws(() => chain.getTransactions(alice, { limit: 2, lt: cursor.lt, hash: Buffer.alloc(32) }), (e: unknown) => e instanceof ChainError && e.status === 404);
  } finally {
    await chain.close();
  }
});

test('the faucet refuses zero and over-cap amounts and records nothing', async () => {
  const chain = await LocalChain.open(join(root, 'faucet'));
  try {
    const count = chain.allTransactions().length;
    await rejectsWith(chain.faucet(alice, 0n), 400, /between/);
    await rejectsWith(chain.faucet(alice, FAUCET_MAX_NANOTONS + 1n), 400, /between/);
    assert.equal(chain.allTransactions().length, count);
    await chain.faucet(alice, FAUCET_MAX_NANOTONS);
    assert.equal((await chain.account(alice)).balance, FAUCET_MAX_NANOTONS);
  } finally {
    await chain.close();
  }
});

test('a data directory is used by one chain at a time', async () => {
  const dir = join(root, 'lock');
  const first = await LocalChain.open(dir);
  await rejectsWith(LocalChain.open(dir), 409, /already open/);
  await first.close();
  await writeFile(join(dir, LOCK_FILE), '999999999\n'); // a stale lock from a process that is gone
  const second = await LocalChain.open(dir);
  await second.close();
});

test('transactions logged after the last saved state (a crash between writes) are dropped on load', async () => {
  const dir = join(root, 'crash');
  let chain = await LocalChain.open(dir);
  await chain.faucet(alice, 5n);
  const history = chain.allTransactions().map(id);
  await chain.close();
  const lines = (await readFile(join(dir, TX_LOG_FILE), 'utf8')).trimEnd().split('\n');
  await appendFile(join(dir, TX_LOG_FILE), `${lines[lines.length - 1]}\n`);
  chain = await LocalChain.open(dir);
  try {
    assert.deepEqual(chain.allTransactions().map(id), history);
    assert.equal((await readFile(join(dir, TX_LOG_FILE), 'utf8')).trimEnd().split('\n').length, history.length, 'the orphan line is gone');
  } finally {
    await chain.close();
  }
});

test('a damaged state file is reported clearly and the directory is not left locked', async () => {
  const dir = join(root, 'damaged');
  await (await LocalChain.open(dir)).close();
  await writeFile(join(dir, STATE_FILE), '{"format":"silk');
  await assert.rejects(LocalChain.open(dir), /not valid JSON/);
  assert.ok(!(await readdir(dir)).includes(LOCK_FILE));
});

test('concurrent requests run one at a time and all land in the log in order', async () => {
  const chain = await LocalChain.open(join(root, 'concurrent'));
  try {
    const targets = Array.from({ length: 6 }, (_, i) => new Address(0, Buffer.alloc(32, 10 + i)));
    const results = await Promise.all(targets.map((to, i) => chain.faucet(to, BigInt(i + 1))));
    for (const [i, to] of targets.entries()) assert.equal((await chain.account(to)).balance, BigInt(i + 1));
    const all = chain.allTransactions();
    assert.deepEqual(all.map((r) => r.index), all.map((_, i) => i));
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.lt < all[i]!.lt, 'execution order is lt order');
    assert.deepEqual(results.flat().map((r) => r.index), all.slice(1).map((r) => r.index), 'each call got its own batch, in call order');
  } finally {
    await chain.close();
  }
});
