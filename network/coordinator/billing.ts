/**
 * Metering and money on the coordinator: worst-case holds before work, exact charges after,
 * worker credits into cumulative accounts, and a signed voucher for every credit once a vault
 * is configured. Receipts go to the workers as `job.receipt` frames.
 */
import { EventEmitter } from 'node:events';
import { Address } from '@ton/core';
import { DEFAULT_PRICE_LIST, formatTon, jobCost, priceOf, splitCost, type PriceList } from '../protocol/pricing.js';
import { CHAIN_GLOBAL_ID, signVoucher, voucherToJson } from '../protocol/voucher.js';
import type { CoordinatorFrame, Usage } from '../protocol/worker-frames.js';
import type { ChatMessage } from '../protocol/chat.js';
import { utf8Length } from '../protocol/frame-codec.js';
import type { CoordinatorStore } from './store.js';

/** One worker's part in a job: what it generated, at its price coefficient. */
export interface Contribution {
  workerId: string;
  payoutAddress: string | undefined;
  coefficient: number;
  usage: Usage;
}

/** The receipt frame a worker gets for its part in a job. */
export type JobReceipt = Extract<CoordinatorFrame, { type: 'job.receipt' }>;

interface BillingEvents {
  receipt: [workerId: string, receipt: JobReceipt];
}

/** Options of the billing service. */
export interface BillingOptions {
  store: CoordinatorStore;
  prices?: PriceList;
  /** Ed25519 key that signs vouchers (64-byte secret key, @ton/crypto format). */
  voucherKey?: { secretKey: Uint8Array; publicKey: Uint8Array };
  /** The payout vault's address; without it receipts carry no voucher. */
  vault?: string;
  /** The chain's global id every voucher names (CHAIN_GLOBAL_ID; default testnet, as the local chain). */
  chainGlobalId?: number;
}

/**
 * The earnings account of a worker: its payout address in raw form ("0:…", so every friendly
 * spelling of one address is one account), or its worker id while it has none.
 */
export function earningsAccount(workerId: string, payoutAddress: string | undefined): string {
  return payoutAddress ? Address.parse(payoutAddress).toRawString() : `worker:${workerId}`;
}

/** Coordinator-side billing. */
export class Billing extends EventEmitter<BillingEvents> {
  readonly prices: PriceList;

  constructor(private readonly options: BillingOptions) {
    super();
    this.prices = options.prices ?? DEFAULT_PRICE_LIST;
  }

  /** The vault vouchers are issued for, if any. */
  get vault(): string | undefined {
    return this.options.vault;
  }

  /** The public key clients and workers check vouchers against (hex). */
  get voucherPublicKey(): string | undefined {
    return this.options.voucherKey ? Buffer.from(this.options.voucherKey.publicKey).toString('hex') : undefined;
  }

  /**
   * The most a job can cost: every prompt byte a token (byte-level tokenizers cannot exceed
   * that), 16 tokens of chat template per message, every allowed token generated.
   */
  worstCase(model: string, messages: readonly ChatMessage[], maxTokens: number, coefficient: number): bigint {
    return this.worstCaseForPrompt(model, messages.reduce((n, m) => n + utf8Length(m.content) + 16, 16), maxTokens, coefficient);
  }

  /** The most a job can cost when only its prompt's size in bytes is known (sealed jobs). */
  worstCaseForPrompt(model: string, promptBytes: number, maxTokens: number, coefficient: number): bigint {
    return jobCost(priceOf(this.prices, model), { promptTokens: promptBytes, completionTokens: maxTokens }, coefficient);
  }

  /** Holds the worst case for a job, or says how short the client is. */
  reserve(clientId: string, jobId: string, amount: bigint): { ok: true } | { ok: false; message: string } {
    if (this.options.store.reserve(clientId, jobId, amount)) return { ok: true };
    const balance = this.options.store.balance(clientId);
    return { ok: false, message: `Insufficient balance: this request may cost up to ${formatTon(amount)} TON (max_tokens × price) and the balance is ${formatTon(balance)} TON. Top up, or lower max_tokens.` };
  }

  /** Charges a finished (or cancelled) job and credits each worker that took part in it. */
  settle(jobId: string, clientId: string | undefined, model: string, contributions: readonly Contribution[]): bigint {
    const price = priceOf(this.prices, model);
    const credits = contributions.map((c) => {
      const cost = jobCost(price, c.usage, c.coefficient);
      return { c, cost, earned: splitCost(cost, this.prices.commissionBps).worker };
    });
    const cost = credits.reduce((sum, x) => sum + x.cost, 0n);
    const totals = this.options.store.settle({
      jobId,
      clientId: clientId ?? 'unmetered',
      model,
      cost,
      credits: credits.map(({ c, earned }) => ({ account: earningsAccount(c.workerId, c.payoutAddress), workerId: c.workerId, earned, ...c.usage })),
    });
    if (!totals) return cost; // settled before: nothing credited twice
    credits.forEach(({ c, earned }, i) => {
      const total = totals[i];
      if (!total) return;
      const voucher = this.voucherFor(total.account, total.cumulative, total.seq);
      this.emit('receipt', c.workerId, {
        type: 'job.receipt',
        jobId,
        model,
        usage: c.usage,
        earnedNanotons: earned.toString(),
        account: total.account,
        cumulativeNanotons: total.cumulative.toString(),
        ...(voucher ? { voucher } : {}),
      });
    });
    return cost;
  }

  /** Refunds the hold of a job that failed. */
  release(jobId: string): void {
    this.options.store.release(jobId);
  }

  /**
   * A signed voucher for an account's cumulative total, bound to this chain, when the account
   * and vault allow one. A masterchain payout address gets none: the vault refuses to pay there.
   */
  voucherFor(account: string, cumulative: bigint, seq: number): Record<string, unknown> | undefined {
    const { vault, voucherKey } = this.options;
    if (!vault || !voucherKey || account.startsWith('worker:') || seq === 0) return undefined;
    if (Address.parse(account).workChain !== 0) return undefined;
    const globalId = this.options.chainGlobalId ?? CHAIN_GLOBAL_ID.testnet;
    return voucherToJson(signVoucher({ globalId, vault, worker: account, cumulativeNanotons: cumulative, seq }, voucherKey.secretKey));
  }
}
