/**
 * Follows the worker's payout address on chain (TonClient's toncenter v2 API: the public
 * toncenter in production, `silkworm chain` locally) and hands every incoming payout to the
 * ledger. Restart-safe: the ledger keeps a cursor (the newest handled transaction) and moves it
 * in the same SQLite transaction as the payouts before it; payouts are idempotent by tx hash,
 * so a crash, a restart or a rescan never counts one twice.
 */
import { EventEmitter } from 'node:events';
import { Address, type Transaction } from '@ton/core';
import { createLogger, type Logger } from '../../network/node-kit/log.js';
import type { ChainCursor, Ledger, RecordPayoutResult } from '../ledger/ledger.js';
import { parsePayoutTransaction } from './payout-message.js';

/** The part of @ton/ton's TonClient the watcher uses (TonClient satisfies it as is). */
export interface TransactionSource {
  getTransactions(
    address: Address,
    opts: { limit: number; lt?: string; hash?: string; to_lt?: string; inclusive?: boolean; archival?: boolean },
  ): Promise<Transaction[]>;
}

/** Options of a chain watcher. */
export interface ChainWatcherOptions {
  client: TransactionSource;
  ledger: Ledger;
  /** Address to follow; default the ledger's payout address. */
  address?: string;
  /** Transactions asked per getTransactions call (toncenter allows up to 100). */
  pageSize?: number;
  /** Transactions applied per SQLite transaction (each also moves the cursor). */
  batchSize?: number;
  /** Poll period of `start()`; errors back off up to 60 s. */
  intervalMs?: number;
  /**
   * Runs before each poll; a poll whose `beforePoll` fails handles nothing and is retried after
   * the back-off, like one whose endpoint fails (payout-account.ts: the sender to expect).
   */
  beforePoll?: () => Promise<void>;
  logger?: Logger;
}

/** What one poll did. */
export interface PollResult {
  /** New transactions handled (payouts or not). */
  handled: number;
  /** Ledger results for the payout messages among them. */
  payouts: RecordPayoutResult[];
  cursor: ChainCursor | null;
}

interface WatcherEvents {
  payout: [RecordPayoutResult];
  polled: [PollResult];
}

const MAX_BACKOFF_MS = 60_000;

/** Polls the payout address and feeds the ledger. */
export class ChainWatcher extends EventEmitter<WatcherEvents> {
  private readonly address: Address;
  private readonly logger: Logger;
  private inFlight: Promise<PollResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private failures = 0;

  constructor(private readonly options: ChainWatcherOptions) {
    super();
    this.address = Address.parse(options.address ?? options.ledger.identity.payoutAddress);
    this.logger = options.logger ?? createLogger('chain-watcher');
  }

  /**
   * Fetches every transaction newer than the cursor and applies them oldest first.
   * `maxTransactions` stops early (the rest waits for the next poll). Concurrent calls share one poll.
   */
  pollOnce(options: { maxTransactions?: number } = {}): Promise<PollResult> {
    this.inFlight ??= this.poll(options.maxTransactions ?? Infinity).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Polls every `intervalMs` until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops polling and waits for a poll in progress. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.inFlight?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.pollOnce().then(
        () => {
          this.failures = 0;
        },
        (error: unknown) => {
          this.failures += 1;
          this.logger.warn({ err: error, failures: this.failures }, 'chain poll failed; backing off');
        },
      ).finally(() => {
        if (!this.running) return;
        const base = this.options.intervalMs ?? 5000;
        this.schedule(Math.min(MAX_BACKOFF_MS, base * 2 ** this.failures));
      });
    }, delayMs); // not unref'd: a started watcher runs until stop()
  }

  private async poll(maxTransactions: number): Promise<PollResult> {
    const { ledger } = this.options;
    await this.options.beforePoll?.();
    const key = this.address.toString();
    const cursor = ledger.getCursor(key);
    const fresh = (await this.fetchSince(cursor)).slice(0, maxTransactions);
    const results: RecordPayoutResult[] = [];
    const batchSize = this.options.batchSize ?? 100;
    for (let start = 0; start < fresh.length; start += batchSize) {
      const batch = fresh.slice(start, start + batchSize);
      const payouts = [];
      for (const tx of batch) {
        const parsed = parsePayoutTransaction(tx);
        if (parsed.kind === 'payout') payouts.push(parsed.payout);
        if (parsed.kind === 'malformed') ledger.flagMalformedPayout(tx.hash().toString('hex'), parsed.reason);
      }
      const last = batch[batch.length - 1] as Transaction;
      results.push(...ledger.applyChainBatch(key, payouts, { lt: last.lt, hash: last.hash().toString('hex') }));
    }
    for (const result of results) this.emit('payout', result);
    const polled = { handled: fresh.length, payouts: results, cursor: ledger.getCursor(key) };
    if (fresh.length > 0) this.logger.debug({ handled: fresh.length, payouts: results.length }, 'chain poll');
    this.emit('polled', polled);
    return polled;
  }

  // Pages back from the newest transaction to the cursor (exclusive); returns oldest first.
  private async fetchSince(cursor: ChainCursor | null): Promise<Transaction[]> {
    const limit = this.options.pageSize ?? 50;
    const toLt = cursor ? cursor.lt.toString() : undefined;
    const found = new Map<string, Transaction>();
    let from: Transaction | undefined;
    for (;;) {
      const page: Transaction[] = await this.options.client.getTransactions(this.address, {
        limit,
        to_lt: toLt,
        archival: true,
        ...(from ? { lt: from.lt.toString(), hash: from.hash().toString('base64') } : {}),
      });
      let reachedCursor = false;
      for (const tx of page) {
        // Filter here too: whether a server's to_lt is inclusive must not matter.
        if (cursor && tx.lt <= cursor.lt) reachedCursor = true;
        else found.set(tx.hash().toString('hex'), tx);
      }
      const last = page[page.length - 1];
      if (reachedCursor || page.length < limit || !last || (from && last.lt >= from.lt)) break;
      from = last;
    }
    return [...found.values()].sort((a, b) => (a.lt < b.lt ? -1 : a.lt > b.lt ? 1 : 0));
  }
}
