// Message layouts of the payout vault and its payout accounts (vault.tolk, payout-account.tolk,
// messages.tolk): opcodes, exit codes, the bodies the coordinator and workers send, and parsers
// for what the contracts send back. Documented in README.md.
import { beginCell, type Address, type Cell } from '@ton/core';
import { MAX_COINS, voucherClaimParts, type Voucher } from '../protocol/voucher.js';

/** Opcodes of every message the vault and its accounts send or accept (32-bit, ASCII mnemonics). */
export const VaultOp = {
  fund: 0x46554e44, // "FUND"
  claim: 0x434c4149, // "CLAI"
  pushBatch: 0x50555348, // "PUSH"
  withdrawSurplus: 0x57445253, // "WDRS"
  close: 0x434c4f53, // "CLOS"
  settle: 0x5345544c, // "SETL", vault → account, carrying the funds
  refused: 0x52465344, // "RFSD", account → worker (claim) or vault (push entry)
  payout: 0x5041594f, // "PAYO", account → worker
  providePaid: 0x50525650, // "PRVP", new account → old account
  paidReport: 0x50445250, // "PDRP", old account → new account
  excesses: 0xd53276db, // TEP-74 excesses: unused funds and gas going back
} as const;

/** Exit codes; an account answers a refused settle with a `refused` message carrying the code. */
export const VaultExitCode = {
  notOwner: 401,
  badSignature: 402,
  replayed: 403,
  nothingDue: 404,
  wrongVault: 405,
  foreignWorker: 406,
  insufficientFunds: 407,
  batchTooLarge: 408,
  badVoucher: 409,
  wrongChain: 410,
  masterchain: 411,
  lowValue: 412,
  notTrusted: 413,
  closed: 414,
  busy: 415,
  noAmount: 416,
  unknownOp: 0xffff,
} as const;

/** One push entry: a worker, the voucher total and seq it is paid up to, and the funds to send. */
export type PushEntry = {
  worker: Address;
  cumulativeNanotons: bigint;
  seq: number;
  /**
   * Funds the vault sends along (default: all of cumulativeNanotons): the owner's view of
   * cumulative − paid. The account pays min(cumulative − paid, amount) and returns the rest.
   */
  amountNanotons?: bigint;
  /**
   * Attach the account's code and initial state (default true). Leave it on unless the account
   * is known to exist: a settle without it to an account that does not exist bounces to the
   * vault, and its value stays there. Off saves ~0.004 TON of forwarding fees per entry.
   */
  deploy?: boolean;
};

/** Most entries one push carries (the contract refuses more with 408). */
export const MAX_PUSH_BATCH = 150;

/** Body of a fund message (a plain transfer with no body funds the vault too). */
export function fundBody(queryId = 0n): Cell {
  return beginCell().storeUint(VaultOp.fund, 32).storeUint(queryId, 64).endCell();
}

/** What a claim asks besides the voucher. */
export type ClaimOptions = {
  queryId?: bigint;
  /** Attach the payout account's code: the first claim (or push) ever for this worker (default true). */
  deploy?: boolean;
  /**
   * The most to pay now (default: the whole voucher total): cumulative − the account's `paid`.
   * The vault sends that much along and the account returns what is not due.
   */
  amountNanotons?: bigint;
};

/** Body of a claim: signature inline, the signed voucher cell as a reference, deploy flag, amount. */
export function claimBody(voucher: Voucher | { cell: Cell; signature: Uint8Array }, options: ClaimOptions = {}): Cell {
  const { cell, signature } = 'cell' in voucher ? voucher : voucherClaimParts(voucher);
  if (signature.length !== 64) throw new RangeError('signature must be 64 bytes');
  // The vault sends min(amount, the voucher's total); a raw cell's total is the vault's to read.
  const amount = options.amountNanotons ?? ('cell' in voucher ? MAX_COINS : voucher.cumulativeNanotons);
  return beginCell()
    .storeUint(VaultOp.claim, 32)
    .storeUint(options.queryId ?? 0n, 64)
    .storeBuffer(Buffer.from(signature), 64)
    .storeRef(cell)
    .storeBit(options.deploy ?? true)
    .storeCoins(amount)
    .endCell();
}

/** Body of a push: count, then a chain of cells holding one entry (at most 580 bits) each. */
export function pushBatchBody(entries: readonly PushEntry[], queryId = 0n): Cell {
  if (entries.length === 0 || entries.length > MAX_PUSH_BATCH) {
    throw new RangeError(`a push carries 1..${MAX_PUSH_BATCH} entries, got ${entries.length}`);
  }
  // Built from the last cell back to the first.
  let next: Cell | undefined;
  for (const entry of [...entries].reverse()) {
    const b = beginCell()
      .storeAddress(entry.worker)
      .storeCoins(entry.cumulativeNanotons)
      .storeUint(entry.seq, 64)
      .storeBit(entry.deploy ?? true)
      .storeCoins(entry.amountNanotons ?? entry.cumulativeNanotons);
    if (next) b.storeRef(next);
    next = b.endCell();
  }
  return beginCell()
    .storeUint(VaultOp.pushBatch, 32)
    .storeUint(queryId, 64)
    .storeUint(entries.length, 8)
    .storeRef(next as Cell)
    .endCell();
}

/** Body of withdraw-surplus; amount 0 means everything above the reserve. */
export function withdrawSurplusBody(amount = 0n, queryId = 0n): Cell {
  return beginCell().storeUint(VaultOp.withdrawSurplus, 32).storeUint(queryId, 64).storeCoins(amount).endCell();
}

/** Body of close: the vault stops taking claims and pushes (settles under way still pay). */
export function closeBody(queryId = 0n): Cell {
  return beginCell().storeUint(VaultOp.close, 32).storeUint(queryId, 64).endCell();
}

/** A payout as the worker receives it. `due` = cumulative − paid before; `deposit` stayed in its account. */
export type PayoutBody = { queryId: bigint; cumulativeNanotons: bigint; seq: bigint; dueNanotons: bigint; depositNanotons: bigint };

/** Parses a payout body (op included), or returns undefined for any other message. Throws on a truncated one. */
export function parsePayoutBody(body: Cell): PayoutBody | undefined {
  const s = body.beginParse();
  if (s.remainingBits < 32 || s.preloadUint(32) !== VaultOp.payout) return undefined;
  s.skip(32);
  return { queryId: s.loadUintBig(64), cumulativeNanotons: s.loadCoins(), seq: s.loadUintBig(64), dueNanotons: s.loadCoins(), depositNanotons: s.loadCoins() };
}

/** A refusal from an account: why (an exit code) and what it had paid. */
export type RefusedBody = { queryId: bigint; code: number; paidNanotons: bigint };

/** Parses a refusal body, or returns undefined for any other message. */
export function parseRefusedBody(body: Cell): RefusedBody | undefined {
  const s = body.beginParse();
  if (s.remainingBits < 32 || s.preloadUint(32) !== VaultOp.refused) return undefined;
  s.skip(32);
  return { queryId: s.loadUintBig(64), code: s.loadUint(16), paidNanotons: s.loadCoins() };
}
