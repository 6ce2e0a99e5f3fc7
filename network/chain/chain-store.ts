/**
 * Persistence of the local chain in its data directory:
 * - `chain-state.json`: the sandbox snapshot and our counters, replaced atomically (temp file,
 *   fsync, rename) after every change;
 * - `transactions.jsonl`: every transaction in execution order, one JSON object a line,
 *   appended (and fsynced) before the state file that counts it is written. Lines past that
 *   count (a crash between the two writes) are dropped on load, so the pair stays consistent;
 * - `chain.lock`: the pid of the process that owns the directory.
 */
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { snapshotToSerializable } from '@ton/sandbox';
import { ChainError } from './chain-error.js';
import { writeFileAtomic } from '../node-kit/json-file.js';

/** File names inside the data directory. */
export const STATE_FILE = 'chain-state.json';
export const TX_LOG_FILE = 'transactions.jsonl';
export const LOCK_FILE = 'chain.lock';

/** The sandbox's JSON form of a snapshot (the type itself is not exported by @ton/sandbox 0.41). */
export type SerializableSnapshot = ReturnType<typeof snapshotToSerializable>;

/** What `chain-state.json` holds. */
export interface PersistedState {
  format: 'silkworm-local-chain';
  version: 1;
  /** Sandbox snapshot with `transactions: []` (we keep our own log) and, when the config is sandbox's default, `networkConfig: ''`. */
  snapshot: SerializableSnapshot;
  /** How many lines of the transaction log belong to this state. */
  transactionCount: number;
  /** Our pretend masterchain height: one "block" per applied message batch. */
  blockSeqno: number;
  /** Raw address (`0:hex`) of the faucet treasury. */
  faucetAddress: string;
}

/** One line of `transactions.jsonl`. */
export interface TxLogEntry {
  /** Raw address (`wc:hex`) of the account the transaction ran on. */
  account: string;
  /** The transaction cell as base64 BOC, exactly as the emulator produced it. */
  boc: string;
}

/** Directories this process holds, so a lock carrying our own pid can be told from a stale one (pid reuse after a crash). */
const heldHere = new Set<string>();

/** Reads and writes one chain data directory; never shared between processes (see `lock`). */
export class ChainStore {
  readonly dir: string;
  private locked = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directory and claims it; fails if another live process holds it. */
  async lock(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        if (heldHere.has(resolve(this.dir))) throw new ChainError(409, `Data directory ${this.dir} is already open in this process.`);
        await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
        heldHere.add(resolve(this.dir));
        this.locked = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
        const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
          throw new ChainError(409, `Data directory ${this.dir} is in use by process ${owner} (remove ${LOCK_FILE} if that is wrong).`);
        }
        await rm(path, { force: true }); // stale lock from a process that is gone
      }
    }
    throw new ChainError(409, `Could not lock data directory ${this.dir}.`);
  }

  /** Releases the directory. */
  async unlock(): Promise<void> {
    if (!this.locked) return;
    this.locked = false;
    heldHere.delete(resolve(this.dir));
    await rm(join(this.dir, LOCK_FILE), { force: true });
  }

  /** Loads the saved state and its transactions, or null for a fresh directory. */
  async load(): Promise<{ state: PersistedState; transactions: TxLogEntry[] } | null> {
    const text = await readFile(join(this.dir, STATE_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (text === null) {
      await rm(join(this.dir, TX_LOG_FILE), { force: true }); // a log without a state is an unfinished first start
      return null;
    }
    const state = parseState(text, join(this.dir, STATE_FILE));
    const logText = await readFile(join(this.dir, TX_LOG_FILE), 'utf8').catch(() => '');
    const lines = logText.split('\n').filter((line) => line.length > 0);
    if (lines.length < state.transactionCount) {
      throw new Error(`${TX_LOG_FILE} has ${lines.length} transactions but ${STATE_FILE} expects ${state.transactionCount}; the data directory is damaged.`);
    }
    const transactions = lines.slice(0, state.transactionCount).map((line, i) => parseEntry(line, i + 1));
    if (lines.length > state.transactionCount) {
      await this.writeAtomically(TX_LOG_FILE, transactions.map((e) => JSON.stringify(e) + '\n').join(''));
    }
    return { state, transactions };
  }

  /** Appends transactions to the log and fsyncs it; call before `saveState`. */
  async appendTransactions(entries: readonly TxLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const handle = await open(join(this.dir, TX_LOG_FILE), 'a');
    try {
      await handle.write(entries.map((e) => JSON.stringify(e) + '\n').join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Replaces the state file atomically. */
  async saveState(state: PersistedState): Promise<void> {
    await this.writeAtomically(STATE_FILE, JSON.stringify(state));
  }

  private writeAtomically(name: string, content: string): Promise<void> {
    return writeFileAtomic(join(this.dir, name), content);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseState(text: string, path: string): PersistedState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON; the data directory is damaged.`);
  }
  const state = value as Partial<PersistedState> | null;
  if (
    state?.format !== 'silkworm-local-chain' ||
    state.version !== 1 ||
    typeof state.snapshot !== 'object' ||
    !Number.isInteger(state.transactionCount) ||
    !Number.isInteger(state.blockSeqno) ||
    typeof state.faucetAddress !== 'string'
  ) {
    throw new Error(`${path} is not a Silkworm local chain state (format version 1).`);
  }
  return state as PersistedState;
}

function parseEntry(line: string, lineNumber: number): TxLogEntry {
  try {
    const entry = JSON.parse(line) as Partial<TxLogEntry>;
    if (typeof entry.account === 'string' && typeof entry.boc === 'string') return { account: entry.account, boc: entry.boc };
  } catch {
    // reported below
  }
  throw new Error(`${TX_LOG_FILE} line ${lineNumber} is damaged.`);
}
