/**
 * A local TON chain: the real transaction emulator from @ton/sandbox, our own ordered
 * transaction log, a faucet of local test TON, and persistence in a data directory so that
 * balances, contracts and history survive a restart. Every operation runs one at a time.
 */
import { createHash } from 'node:crypto';
import { Address, Cell, SendMode, beginCell, comment, external, internal, loadMessage, toNano, type Message, type TupleItem, type Transaction } from '@ton/core';
import { Blockchain, GetMethodError, internal as sandboxInternal, snapshotFromSerializable, snapshotToSerializable, type SandboxContract, type TreasuryContract } from '@ton/sandbox';
import { ChainError, badRequest } from './chain-error.js';
import { ChainStore, type PersistedState } from './chain-store.js';
import { TransactionIndex, accountOf, transactionFromBoc, type ChainTransaction, type TransactionQuery } from './transaction-index.js';
import { feesOf, type FeeEstimate } from './fees.js';

export type { ChainTransaction, TransactionQuery, FeeEstimate };

/** Most a single faucet request may hand out: 1,000 local test TON. */
export const FAUCET_MAX_NANOTONS = toNano(1000);
const FAUCET_SEED = 'silkworm-local-faucet';
const FAUCET_RESERVE = toNano(1_000_000);
const QUIET = { print: false, blockchainLogs: false, vmLogs: 'none', debugLogs: false } as const;

/** An account's state, toncenter `getAddressInformation` style. */
export interface AccountInfo {
  address: Address;
  balance: bigint;
  state: 'active' | 'uninitialized' | 'frozen';
  code: Cell | null;
  data: Cell | null;
  frozenHash: Buffer | null;
  lastTransaction: { lt: bigint; hash: Buffer } | null;
}

/** Our pretend masterchain block: one per applied message batch. */
export interface BlockInfo {
  seqno: number;
  rootHash: Buffer;
  fileHash: Buffer;
}

/** Result of a get-method call; a non-zero exit code is a value, not a throw (as on toncenter). */
export interface GetMethodOutcome {
  exitCode: number;
  gasUsed: bigint;
  stack: TupleItem[];
}

/** The local chain. Create with `LocalChain.open`; call `close` when done. */
export class LocalChain {
  private readonly transactions = new TransactionIndex();
  private queue: Promise<unknown> = Promise.resolve();
  private blockSeqno = 1;
  private closed = false;

  private constructor(
    private readonly blockchain: Blockchain,
    private readonly store: ChainStore,
    private readonly faucetWallet: SandboxContract<TreasuryContract>,
    private readonly defaultConfig: string,
  ) {}

  /** Opens (or creates) the chain kept in `dataDir`. */
  static async open(dataDir: string): Promise<LocalChain> {
    const store = new ChainStore(dataDir);
    await store.lock();
    try {
      const blockchain = await Blockchain.create({ uiOptions: { enabled: false } });
      const defaultConfig = blockchain.configBase64;
      const saved = await store.load();
      if (saved) {
        const snapshot = { ...saved.state.snapshot, networkConfig: saved.state.snapshot.networkConfig || defaultConfig, transactions: [] };
        await blockchain.loadFrom(snapshotFromSerializable(snapshot));
      }
      blockchain.verbosity = { ...QUIET };
      const faucetWallet = await blockchain.treasury(FAUCET_SEED, { predeploy: false, resetBalanceIfZero: false });
      const chain = new LocalChain(blockchain, store, faucetWallet, defaultConfig);
      if (saved) {
        if (saved.state.faucetAddress !== faucetWallet.address.toRawString()) throw new Error('Saved faucet address does not match this sandbox version.');
        for (const entry of saved.transactions) chain.transactions.add(Address.parse(entry.account), transactionFromBoc(entry.boc));
        chain.blockSeqno = saved.state.blockSeqno;
      } else {
        await chain.exclusive(() => chain.deployFaucet());
      }
      return chain;
    } catch (error) {
      await store.unlock();
      throw error;
    }
  }

  /** The faucet treasury's address. */
  get faucetAddress(): Address {
    return this.faucetWallet.address;
  }

  /** The latest pretend masterchain block. */
  get lastBlock(): BlockInfo {
    const rootHash = createHash('sha256').update(`silkworm-local-chain/${this.blockSeqno}/${this.blockchain.lt}`).digest();
    return { seqno: this.blockSeqno, rootHash, fileHash: createHash('sha256').update(rootHash).digest() };
  }

  /** Every transaction in execution order. */
  allTransactions(): readonly ChainTransaction[] {
    return this.transactions.all();
  }

  /** An account's state (never-seen accounts are uninitialized with balance 0). */
  account(address: Address): Promise<AccountInfo> {
    return this.exclusive(async () => {
      const contract = await this.blockchain.getContract(address);
      const state = contract.accountState;
      const lastLt = contract.lastTransactionLt;
      return {
        address,
        balance: contract.balance,
        state: state?.type === 'active' ? 'active' : state?.type === 'frozen' ? 'frozen' : 'uninitialized',
        code: state?.type === 'active' ? (state.state.code ?? null) : null,
        data: state?.type === 'active' ? (state.state.data ?? null) : null,
        frozenHash: state?.type === 'frozen' ? bigintToHash(state.stateHash) : null,
        lastTransaction: lastLt > 0n ? { lt: lastLt, hash: bigintToHash(contract.lastTransactionHash) } : null,
      };
    });
  }

  /** An account's transactions, newest first (see TransactionQuery). */
  getTransactions(address: Address, query: TransactionQuery): ChainTransaction[] {
    return this.transactions.query(address, query);
  }

  /** Finds the transaction an internal message caused, or the one that sent it. */
  locate(kind: 'result' | 'source', source: Address, destination: Address, createdLt: bigint): ChainTransaction {
    const found = kind === 'result' ? this.transactions.locateResult(source, destination, createdLt) : this.transactions.locateSource(source, destination, createdLt);
    if (!found) throw new ChainError(404, `No ${kind} transaction for the message ${source.toString()} → ${destination.toString()} at lt ${createdLt}.`);
    return found;
  }

  /** Runs a get method on an account's current state. */
  runGetMethod(address: Address, method: string | number, stack: TupleItem[]): Promise<GetMethodOutcome> {
    return this.exclusive(async () => {
      const contract = await this.blockchain.getContract(address);
      if (contract.accountState?.type !== 'active') return { exitCode: -13, gasUsed: 0n, stack: [] };
      try {
        const result = await contract.get(method, stack);
        return { exitCode: result.exitCode, gasUsed: result.gasUsed, stack: result.stack };
      } catch (error) {
        if (error instanceof GetMethodError) return { exitCode: error.exitCode, gasUsed: error.gasUsed, stack: [] };
        throw new ChainError(422, `Get method failed: ${(error as Error).message}`);
      }
    });
  }

  /** Applies an external message (a BOC, as `sendBoc` receives it); returns its hash and the transactions it caused. */
  sendBoc(boc: Buffer): Promise<{ hash: Buffer; normalizedHash: Buffer; transactions: ChainTransaction[] }> {
    let cell: Cell;
    let message: Message;
    try {
      const roots = Cell.fromBoc(boc);
      if (roots.length !== 1 || !roots[0]) throw new Error('expected one root cell');
      cell = roots[0];
      message = loadMessage(cell.beginParse());
    } catch (error) {
      return Promise.reject(badRequest(`boc is not a serialized message: ${(error as Error).message}`));
    }
    if (message.info.type !== 'external-in') return Promise.reject(badRequest('Only external-in messages can be sent.'));
    const normalized = external({ to: message.info.dest, body: message.body });
    const normalizedHash = normalizedExternalHash(normalized);
    return this.exclusive(async () => ({ hash: cell.hash(), normalizedHash, transactions: await this.apply(message, 'external message') }));
  }

  /** Emulates an external message without keeping its effects, for `estimateFee`. */
  estimateFee(address: Address, body: Cell, init: { code: Cell; data: Cell } | null, ignoreSignature: boolean): Promise<FeeEstimate> {
    return this.exclusive(async () => {
      const contract = await this.blockchain.getContract(address);
      const saved = contract.snapshot();
      try {
        const tx = await contract.receiveMessage(external({ to: address, body, init }), { ignoreChksig: ignoreSignature });
        return feesOf(tx);
      } catch (error) {
        throw new ChainError(422, `The message would be rejected: ${(error as Error).message}`);
      } finally {
        contract.loadFrom(saved);
      }
    });
  }

  /** Sends local test TON from the faucet treasury (bounce off, so undeployed wallets keep it). */
  faucet(to: Address, amount: bigint): Promise<ChainTransaction[]> {
    if (amount <= 0n || amount > FAUCET_MAX_NANOTONS) {
      return Promise.reject(badRequest(`amount must be between 1 and ${FAUCET_MAX_NANOTONS} nanotons of local test TON.`));
    }
    return this.exclusive(async () => {
      const treasury = await this.blockchain.getContract(this.faucetWallet.address);
      if (treasury.balance < amount + toNano(10)) treasury.balance = FAUCET_RESERVE; // local test TON is free
      const body = this.faucetWallet.createTransfer({
        messages: [internal({ to, value: amount, bounce: false, body: comment('Silkworm local faucet: test TON, no value') })],
        sendMode: SendMode.PAY_GAS_SEPARATELY,
      });
      return this.apply(external({ to: this.faucetWallet.address, body }), 'faucet transfer');
    });
  }

  /** Waits for running work, then releases the data directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    await this.store.unlock();
  }

  private async deployFaucet(): Promise<void> {
    const { address, init } = this.faucetWallet;
    await this.apply(sandboxInternal({ from: new Address(0, Buffer.alloc(32)), to: address, value: toNano(1), stateInit: init, bounce: false }), 'faucet deployment');
    (await this.blockchain.getContract(address)).balance = FAUCET_RESERVE;
    await this.persist([]);
  }

  /** Runs a message batch through the sandbox and records and persists what happened. */
  private async apply(message: Message, what: string): Promise<ChainTransaction[]> {
    let executed: Transaction[];
    try {
      executed = (await this.blockchain.sendMessage(message)).transactions;
    } catch (error) {
      // A failure after the first transaction leaves earlier ones applied: record those too.
      const partial = drainSandboxLog(this.blockchain);
      if (partial.length > 0) await this.record(partial);
      throw new ChainError(422, `The ${what} was rejected: ${(error as Error).message.split('\n')[0]}`);
    }
    drainSandboxLog(this.blockchain);
    return this.record(executed);
  }

  private async record(executed: Transaction[]): Promise<ChainTransaction[]> {
    const records = executed.map((tx) => this.transactions.add(accountOf(tx), tx));
    this.blockSeqno += 1;
    await this.persist(records);
    return records;
  }

  private async persist(records: ChainTransaction[]): Promise<void> {
    await this.store.appendTransactions(records.map((r) => ({ account: r.account.toRawString(), boc: r.boc })));
    const snapshot = snapshotToSerializable({ ...this.blockchain.snapshot(), transactions: [] });
    if (snapshot.networkConfig === this.defaultConfig) snapshot.networkConfig = '';
    const state: PersistedState = {
      format: 'silkworm-local-chain',
      version: 1,
      snapshot,
      transactionCount: this.transactions.size,
      blockSeqno: this.blockSeqno,
      faucetAddress: this.faucetWallet.address.toRawString(),
    };
    await this.store.saveState(state);
  }

  /** Runs `work` after everything queued before it; the chain is never touched concurrently. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new ChainError(503, 'The local chain is closed.'));
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Empties the sandbox's own transaction list. It grows forever (with logs) and we keep our own
 * log, so we trim it after every batch; it also yields what ran before a mid-batch failure.
 * The field is protected in sandbox 0.41; if it ever goes away this just returns nothing.
 */
function drainSandboxLog(blockchain: Blockchain): Transaction[] {
  const list: unknown = Reflect.get(blockchain, 'transactions');
  return Array.isArray(list) ? (list.splice(0, list.length) as Transaction[]) : [];
}

function bigintToHash(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
}

/** Hash of the normalized external message (no source, no import fee, no init, body in a ref), as toncenter's `hash_norm`. */
function normalizedExternalHash(message: Message): Buffer {
  if (message.info.type !== 'external-in') throw new Error('not an external-in message');
  const builder = beginCell()
    .storeUint(0b10, 2)
    .storeUint(0, 2)
    .storeAddress(message.info.dest)
    .storeCoins(0)
    .storeBit(false)
    .storeBit(true)
    .storeRef(message.body);
  return builder.endCell().hash();
}
